"""Console sign-in: a signed session cookie and the CSRF token every form carries.

The cookie holds no secret of the user's: the user's id, the id of the token they signed in with (so
revoking or rotating it, `ftgate tokens`, ends every session of it; empty after a single sign-on), a
random session id and the expiry, signed with HMAC-SHA256 under the server's session key
(`Runtime.session_key`). The user and the token are checked again on every request. It is HttpOnly,
SameSite=Strict, Secure unless the console is reached on a loopback address, and scoped to `/ui`.

CSRF: each form carries a token derived from the session id (HMAC under the same key, under its own
label), checked on every POST beside the `Origin` header; htmx sends it as the `X-CSRF-Token` header
(`hx-headers` on the page's body). A request without a valid one is refused before anything runs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from ipaddress import ip_address

from sqlmodel import Session

from gateway.errors import AuthenticationError, PermissionDenied
from gateway.models import ApiToken, User
from gateway.runtime import Runtime
from gateway.services import tokens

COOKIE = "ftgate_session"
COOKIE_PATH = "/ui"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
MAX_COOKIE = 512  # longer than any cookie this module writes


@dataclass(frozen=True)
class ConsoleSession:
    user: User
    sid: str
    csrf: str


def _sign(key: bytes, label: str, data: bytes) -> str:
    mac = hmac.new(key, label.encode() + b"\0" + data, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def issue(rt: Runtime, user: User, token: ApiToken | None) -> str:
    """A new session for `user`, signed in with `token` (None: by single sign-on): the cookie's value."""
    payload = {
        "u": user.id,
        "t": token.id if token is not None else "",
        "s": secrets.token_urlsafe(16),
        "e": int(time.time() + rt.settings.session_hours * 3600),
    }
    data = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).rstrip(b"=")
    return f"{data.decode()}.{_sign(rt.session_key, 'session', data)}"


def read(rt: Runtime, session: Session, value: str | None) -> ConsoleSession:
    """The session a cookie holds; `AuthenticationError` when there is none, or it is forged, expired or
    of a token that has since been revoked or has expired, or of a user since disabled."""
    if not value or len(value) > MAX_COOKIE or value.count(".") != 1:
        raise AuthenticationError("not signed in")
    data, signature = value.split(".")
    if not hmac.compare_digest(signature, _sign(rt.session_key, "session", data.encode())):
        raise AuthenticationError("not signed in")
    try:
        payload = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
        user_id, token, sid, expires = payload["u"], payload["t"], payload["s"], int(payload["e"])
    except (ValueError, KeyError, TypeError) as exc:
        raise AuthenticationError("not signed in") from exc
    if expires < time.time():
        raise AuthenticationError("the session has expired; sign in again")
    user = session.get(User, user_id)
    row = session.get(ApiToken, str(token)) if token else None
    if user is None or (token and (row is None or row.user_id != user.id)):
        raise AuthenticationError("the token behind this session is no longer valid; sign in again")
    tokens.require_usable(user, row)
    return ConsoleSession(user=user, sid=str(sid), csrf=_sign(rt.session_key, "csrf", str(sid).encode()))


def check_csrf(console: ConsoleSession, supplied: str | None) -> None:
    """Refuse a form or htmx request whose CSRF token is not this session's."""
    if not supplied or not hmac.compare_digest(supplied, console.csrf):
        raise PermissionDenied("the form's CSRF token is missing or not this session's; reload the page")


def check_origin(origin: str | None, host: str | None, scheme: str) -> None:
    """Refuse a POST sent from another site's page (the browser names it in `Origin`)."""
    if origin is not None and origin != "null" and host is not None and origin != f"{scheme}://{host}":
        raise PermissionDenied(f"a request from {origin} may not act on this console")


def secure_cookie(hostname: str | None, scheme: str) -> bool:
    """Secure on every address but loopback, where browsers treat plain http as secure anyway."""
    if scheme == "https":
        return True
    if hostname in (None, "localhost"):
        return hostname is None
    try:
        return not ip_address(hostname.strip("[]")).is_loopback
    except ValueError:
        return True


SSO_COOKIE = "ftgate_sso"
SSO_COOKIE_PATH = "/ui/sso"
SSO_SECONDS = 600  # a sign-in at the provider must come back within ten minutes
MAX_SSO_COOKIE = 2048  # longer than any sign-in cookie this module writes (`next` is at most 512)


@dataclass(frozen=True)
class PendingSignIn:
    """A sign-in sent to the OpenID provider: what its answer must match, and where to go after."""

    state: str
    nonce: str
    verifier: str
    next: str


def start_sign_in(rt: Runtime, next_page: str) -> tuple[PendingSignIn, str]:
    """A new sign-in at the provider (fresh state, nonce and PKCE verifier) and the cookie that keeps it
    in this browser until the provider sends it back: signed, so it cannot be made up."""
    pending = PendingSignIn(
        state=secrets.token_urlsafe(24),
        nonce=secrets.token_urlsafe(24),
        verifier=secrets.token_urlsafe(48),
        next=next_page,
    )
    payload = {**pending.__dict__, "e": int(time.time() + SSO_SECONDS)}
    data = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).rstrip(b"=")
    return pending, f"{data.decode()}.{_sign(rt.session_key, 'sso', data)}"


def pending_sign_in(rt: Runtime, value: str | None) -> PendingSignIn:
    """The sign-in this browser started; AuthenticationError when there is none, or it is forged or old."""
    if not value or len(value) > MAX_SSO_COOKIE or value.count(".") != 1:
        raise AuthenticationError("no sign-in was started in this browser (or it took too long); start again")
    data, signature = value.split(".")
    if not hmac.compare_digest(signature, _sign(rt.session_key, "sso", data.encode())):
        raise AuthenticationError("no sign-in was started in this browser; start again")
    try:
        payload = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
        expires = int(payload.pop("e"))
        pending = PendingSignIn(**{k: str(payload[k]) for k in ("state", "nonce", "verifier", "next")})
    except (ValueError, KeyError, TypeError) as exc:
        raise AuthenticationError("no sign-in was started in this browser; start again") from exc
    if expires < time.time():
        raise AuthenticationError("the sign-in took too long; start again")
    return pending
