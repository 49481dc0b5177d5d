"""Request bodies are bounded, and refused while they stream in (issue 12, item 1).

`BodyLimit` is pure ASGI: a body whose Content-Length is over the limit is answered 413 before a byte
of it is read; one without (chunked) or that lies about its length is counted as it arrives and refused
with 413 the moment it passes the limit, from inside the request's own handling, so nothing of it is
stored (the upload has not reached the service yet). Uploads (`POST /v1/datasets`, and the console's
`POST /ui/datasets`) have their own,
larger limit, `FTGATE_MAX_UPLOAD_BYTES`; every other body `FTGATE_MAX_REQUEST_BYTES`.
"""

from __future__ import annotations

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api.problems import problem

UPLOAD_PATHS = frozenset({"/v1/datasets", "/ui/datasets"})  # the API's and the console's upload
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


class BodyTooLarge(HTTPException):
    """Raised from `receive` once a body passes its limit; answered as a 413 problem."""

    def __init__(self, limit: int, setting: str) -> None:
        super().__init__(413, detail=_message(limit, setting))


def _message(limit: int, setting: str) -> str:
    return f"the request body is larger than the limit of {limit:,} bytes ({setting})"


class BodyLimit:
    def __init__(self, app: ASGIApp, *, upload_bytes: int, request_bytes: int) -> None:
        self.app = app
        self.upload_bytes = upload_bytes
        self.request_bytes = request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        if scope["path"].rstrip("/") in UPLOAD_PATHS:
            limit, setting = self.upload_bytes, "FTGATE_MAX_UPLOAD_BYTES"
        else:
            limit, setting = self.request_bytes, "FTGATE_MAX_REQUEST_BYTES"
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            refusal = problem(413, "too_large", _message(limit, setting), details={"limit": setting})
            await refusal(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit, setting)
            return message

        await self.app(scope, counted, send)


__all__ = ["UPLOAD_PATHS", "BodyLimit", "BodyTooLarge"]
