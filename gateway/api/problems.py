"""Every error the API answers is one RFC 9457 problem document (`application/problem+json`).

Members: `type` (a URN naming ftgate's stable `code`), `title` (the HTTP status phrase), `status`,
`detail` (what went wrong, in words), `code`; for invalid input, `errors` (one `{field, type, message}`
per rule broken, never the submitted value); and `details` where ftgate knows more (the decision id and
reasons of a policy refusal, the records left with personal data, the limit and line of a file).
FastAPI's and Starlette's own errors (404 for an unknown path, 405, request validation) and anything
unexpected (500, its traceback in the server log, never in the answer) take the same shape.

`document_problems` states in the OpenAPI document which of these each operation can answer.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from gateway.contract import field_errors
from gateway.db import is_duplicate
from gateway.errors import FtgateError, TooBusy

log = structlog.get_logger(__name__)

MEDIA_TYPE = "application/problem+json"
STORE_RETRY_AFTER_S = 5  # seconds a caller is asked to wait when the database is busy
TYPE_PREFIX = "urn:ftgate:problem:"

# Codes for the errors that do not come from ftgate's own error classes.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class FieldError(BaseModel):
    field: str = Field(description="Where: body.name, query.after, path.job_id, config.lora_r ...")
    type: str = Field(description="Which rule: string_too_long, string_pattern_mismatch, missing ...")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(description="urn:ftgate:problem:<code>")
    title: str = Field(description="The HTTP status phrase.")
    status: int
    detail: str = Field(description="What went wrong, for a person to read.")
    code: str = Field(description="ftgate's stable error code, for a program to branch on.")
    errors: list[FieldError] | None = Field(default=None, description="Invalid input: each rule broken.")
    details: dict[str, Any] | None = Field(
        default=None, description="What else ftgate knows: decision id and reasons, records, limits."
    )


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The problem response; a `details["errors"]` list of field errors becomes the `errors` member."""
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + code,
        "title": _title(status),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if isinstance(details, dict):
        errors = details.get("errors")
        if isinstance(errors, list) and errors and all(isinstance(e, dict) and "field" in e for e in errors):
            body["errors"] = errors
            details = {k: v for k, v in details.items() if k != "errors"}
        if details:
            body["details"] = details
    elif details is not None:
        body["details"] = {"value": details}
    sent = dict(headers or {})
    if status == 401:
        sent["WWW-Authenticate"] = "Bearer"
    return JSONResponse(status_code=status, content=body, headers=sent or None, media_type=MEDIA_TYPE)


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error raised while handling a request with a problem document."""

    # The one root: the gateway's errors, the audit package's and the trainer's, each with its own
    # status and stable code.
    @app.exception_handler(FtgateError)
    async def _ftgate_error(_: Request, exc: FtgateError) -> JSONResponse:
        # A refusal is on record by now: committed in a transaction of its own before it was raised.
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooBusy) else None
        return problem(exc.http_status, exc.code, exc.message, details=exc.details, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = field_errors(exc.errors())
        first = f"{errors[0]['field']}: {errors[0]['message']}" if errors else "malformed"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return problem(422, "invalid_input", f"invalid request: {first}{more}", details={"errors": errors})

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        detail = exc.detail if isinstance(exc.detail, str) else _title(exc.status_code)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names the methods of the first route that matched the path; a path served by
            # several routes (GET and POST /v1/users) supports all of theirs.
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return problem(exc.status_code, code, detail, headers=headers)

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    async def _store_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # SQLite's writer lock held past its timeout, PostgreSQL unreachable, no connection free in time:
        # the request's transaction was rolled back, so the caller may simply try again.
        log.warning(
            "http.store_unavailable", method=request.method, path=request.url.path, error=type(exc).__name__
        )
        return problem(
            503,
            "store_unavailable",
            "the database is busy or unreachable; nothing was changed, try again shortly",
            headers={"Retry-After": str(STORE_RETRY_AFTER_S)},
        )

    @app.exception_handler(IntegrityError)
    async def _duplicate(request: Request, exc: IntegrityError) -> JSONResponse:
        # Two requests at once wrote the same key (both checked that it was free, then both inserted):
        # the later one's transaction was rolled back. Anything else that breaks a constraint is a bug.
        if not is_duplicate(exc):
            return await _unexpected(request, exc)
        log.warning("http.concurrent_duplicate", method=request.method, path=request.url.path)
        return problem(
            409,
            "conflict",
            "another request made the same change at the same moment; nothing of this one was kept: "
            "look at the current state, then try again if it is still needed",
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The message can hold what the request carried (a value pydantic refused, a path): the log gets
        # the type and where it was raised, the caller a problem document.
        log.error(
            "http.unexpected_error",
            method=request.method,
            path=request.url.path,
            error_type=type(exc).__name__,
            where="".join(traceback.format_tb(exc.__traceback__)[-4:]),
        )
        return problem(500, "internal_error", "an unexpected error; it is in the server log")


def _allowed_methods(request: Request) -> list[str]:
    allowed = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


# What every operation can answer, and what operations of a kind add.
_EVERY = (422, 500)
# 429: over the token's rate (gateway/api/ratelimit.py); 503: the policy engine or the scanner could not
# decide (fail closed), the database is busy, or too many requests wait for a slot (api/request_slots.py)
_AUTHENTICATED = (401, 403, 429, 503)
_WITH_BODY = (400, 413)  # a body that cannot be parsed at all (not JSON, broken multipart), or too large
_NAMING_A_RESOURCE = (404,)  # an id in the path or the body that names nothing
_CHANGING = (409,)


def document_problems(app: FastAPI) -> None:
    """List in each operation of the OpenAPI document the problem statuses it can answer, in place of
    FastAPI's own 422 body (which no operation answers)."""
    content = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        for path, operations in document.get("paths", {}).items():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                for status in sorted(_statuses(path, method, operation)):
                    responses[str(status)] = {"description": _title(status), "content": content}
        schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(schema.pop("$defs", {}))
        schemas["Problem"] = schema
        for unused in ("HTTPValidationError", "ValidationError"):
            if f'"#/components/schemas/{unused}"' not in json.dumps(document):
                schemas.pop(unused, None)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    statuses = set(_EVERY)
    if path.startswith("/v1/"):
        statuses.update(_AUTHENTICATED)
    if "requestBody" in operation:
        statuses.update(_WITH_BODY)
    if "{" in path or "requestBody" in operation:
        statuses.update(_NAMING_A_RESOURCE)
    if method.upper() in ("POST", "PUT", "PATCH", "DELETE"):
        statuses.update(_CHANGING)
    return statuses


__all__ = ["MEDIA_TYPE", "Problem", "document_problems", "install_problem_handlers", "problem"]
