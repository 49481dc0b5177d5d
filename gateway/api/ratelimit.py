"""Per-token request rate limits (issue 12, item 4): 429 with `Retry-After`, before any work is done.

A token bucket per caller: `FTGATE_RATE_LIMIT_BURST` requests at once, refilled at
`FTGATE_RATE_LIMIT_PER_MINUTE`. The caller is the bearer token (its SHA-256: the token itself is never
kept), the console's session cookie (its SHA-256), or the client address for requests with neither.
`/healthz`, the API's own documents and the packaged static files are not limited. The buckets live
in this process, at most `MAX_CALLERS` of them (the longest idle are dropped: a dropped bucket was full
or nearly so). A limit of 0 turns limiting off.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.api.problems import problem

MAX_CALLERS = 10_000
UNLIMITED_PATHS = frozenset({"/healthz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
UNLIMITED_PREFIXES = ("/static/", "/ui/static/")  # files from the package, served as they are
SESSION_COOKIE = b"ftgate_session="  # the console's (gateway/ui/sessions.py)


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimit:
    def __init__(self, app: ASGIApp, *, per_minute: int, burst: int) -> None:
        self.app = app
        self.rate = per_minute / 60.0  # tokens per second
        self.burst = max(1, burst)
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or self.rate <= 0
            or path in UNLIMITED_PATHS
            or path.startswith(UNLIMITED_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        wait = self._take(_caller(scope), time.monotonic())
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            refusal = problem(
                429,
                "rate_limited",
                f"too many requests with this token: try again in {seconds} s",
                details={"retry_after_seconds": seconds},
                headers={"Retry-After": str(seconds)},
            )
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _take(self, caller: str, now: float) -> float:
        """Take one token from the caller's bucket; returns 0, or the seconds until one is there."""
        bucket = self._buckets.pop(caller, None)
        if bucket is None:
            bucket = _Bucket(tokens=float(self.burst), updated=now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        self._buckets[caller] = bucket  # most recently used last
        while len(self._buckets) > MAX_CALLERS:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate


def _caller(scope: Scope) -> str:
    session = None
    for name, value in scope.get("headers") or []:
        if name == b"authorization":
            return "token:" + hashlib.sha256(value).hexdigest()
        if name == b"cookie" and SESSION_COOKIE in value:
            session = value
    if session is not None:  # a console user: their own bucket, not their office's address
        return "session:" + hashlib.sha256(session).hexdigest()
    client = scope.get("client")
    return f"address:{client[0] if client else 'unknown'}"


__all__ = ["MAX_CALLERS", "RateLimit"]
