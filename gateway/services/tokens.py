"""Bearer tokens with an end: issued with an expiry, rotated, revoked, and checked on every request.

Only a token's SHA-256 is kept. A token works while it is neither expired nor revoked and its user is
not disabled; `check` says which of these failed, naming the token's id (never the token). Issuing,
rotating and revoking are appended to the audit log with the token's id and expiry.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from audit import log as audit_log
from gateway.contract import PAGE_DEFAULT, Handle, ResourceId, invalid, require
from gateway.errors import AuthenticationError, NotFound
from gateway.models import ApiToken, TokenIssued, TokenPublic, User, utcnow
from gateway.runtime import Runtime
from gateway.services.authz import authorize
from gateway.store.pages import Listed, page

TOKEN_PREFIX = "ftg_"
MAX_TOKEN_DAYS = 3650.0  # ten years: a token always ends


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(value: str) -> bool:
    """An ftgate token (rather than, say, an OpenID Connect JWT)."""
    return value.startswith(TOKEN_PREFIX)


def token_days(rt: Runtime, days: float | None) -> float:
    """The lifetime of a new token: `days`, or the deployment's default (FTGATE_TOKEN_DAYS)."""
    chosen = rt.settings.token_days if days is None else days
    if not (0 < chosen <= MAX_TOKEN_DAYS):
        raise invalid(
            "expires_days", "range", f"a token works for more than 0 and at most {MAX_TOKEN_DAYS:g} days"
        )
    return chosen


def issue(*, session: Session, user: User, days: float) -> tuple[ApiToken, str]:
    """A new token for `user`, working for `days`: its row (added to the session) and the secret, which
    is shown once. The caller logs it (`user.added`, `token.rotated`)."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id, token_sha256=hash_token(secret), expires_at=utcnow() + timedelta(days=days)
    )
    session.add(row)
    return row, secret


def status(row: ApiToken, now: datetime | None = None) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= (now or utcnow()):
        return "expired"
    return "active"


def check(*, session: Session, token: str) -> tuple[User, ApiToken]:
    """The user a token stands for, and its row; AuthenticationError saying why it does not work."""
    row = session.exec(select(ApiToken).where(col(ApiToken.token_sha256) == hash_token(token))).first()
    if row is None:
        raise AuthenticationError("token not recognised")
    user = session.get(User, row.user_id)
    if user is None:  # a foreign key makes this impossible; fail closed anyway
        raise AuthenticationError("token not recognised")
    return require_usable(user, row), row


def recheck(*, session: Session, user_id: str, token_id: str | None) -> User:
    """The user again, for a long-running process that signed in once (a worker): AuthenticationError if
    they have since been disabled, or their token revoked or expired."""
    user = session.get(User, user_id)
    row = session.get(ApiToken, token_id) if token_id is not None else None
    if user is None or (token_id is not None and (row is None or row.user_id != user_id)):
        raise AuthenticationError("the credential this process signed in with no longer exists")
    return require_usable(user, row)


def require_usable(user: User, row: ApiToken | None) -> User:
    """`user`, if they and their token (when they signed in with one) may still act."""
    if user.disabled_at is not None:
        raise AuthenticationError(f"user {user.name!r} is disabled; ask an admin")
    if row is None:
        return user
    state = status(row)
    if state == "revoked":
        when = row.revoked_at.isoformat(timespec="seconds") if row.revoked_at else "?"
        raise AuthenticationError(f"token {row.id} was revoked at {when}; ask an admin for a new one")
    if state == "expired":
        when = row.expires_at.isoformat(timespec="seconds") if row.expires_at else "?"
        raise AuthenticationError(f"token {row.id} expired at {when}; ask an admin for a new one")
    return user


def _user_named(session: Session, name: str) -> User:
    user = session.exec(select(User).where(col(User.name) == require(Handle, name, "user"))).first()
    if user is None:
        raise NotFound(f"no user named {name!r}")
    return user


def rotate(
    *, rt: Runtime, session: Session, actor: User, user: str | None = None, days: float | None = None
) -> TokenIssued:
    """Replace every working token of `user` (default: the actor) by one new token; the old ones are
    revoked in the same transaction, so nothing is left half-rotated."""
    target = actor if user is None else _user_named(session, user)
    authorize(
        rt=rt, session=session, actor=actor, action="tokens.rotate", resource_type="token", owner=target.name
    )
    lifetime = token_days(rt, days)
    now = utcnow()
    query = select(ApiToken).where(col(ApiToken.user_id) == target.id, col(ApiToken.revoked_at).is_(None))
    revoked = []
    for old in session.exec(query.order_by(col(ApiToken.created_at))).all():
        if status(old, now) == "active":
            old.revoked_at, old.revoked_by = now, actor.name
            session.add(old)
            revoked.append(old.id)
    row, secret = issue(session=session, user=target, days=lifetime)
    session.flush()
    audit_log.append(
        session,
        actor=actor.name,
        action="token.rotated",
        subject=target.id,
        payload={
            "user_id": target.id,
            "token_id": row.id,
            "expires_at": _iso(row.expires_at),
            "revoked": revoked,
        },
    )
    return TokenIssued(id=row.id, user=target.name, token=secret, expires_at=row.expires_at, revoked=revoked)


def revoke(*, rt: Runtime, session: Session, actor: User, token_id: str) -> TokenPublic:
    """Revoke one token; revoking one that is already revoked changes nothing."""
    row = session.get(ApiToken, require(ResourceId, token_id, "token_id"))
    owner = session.get(User, row.user_id) if row is not None else None
    if row is None or owner is None:
        raise NotFound(f"no token {token_id}")
    authorize(
        rt=rt, session=session, actor=actor, action="tokens.revoke", resource_type="token", owner=owner.name
    )
    if row.revoked_at is None:
        row.revoked_at, row.revoked_by = utcnow(), actor.name
        session.add(row)
        audit_log.append(
            session,
            actor=actor.name,
            action="token.revoked",
            subject=owner.id,
            payload={"user_id": owner.id, "token_id": row.id},
        )
    return public(row, owner.name)


def list_tokens(
    *,
    rt: Runtime,
    session: Session,
    actor: User,
    user: str | None = None,
    limit: int = PAGE_DEFAULT,
    after: str | None = None,
) -> Listed[TokenPublic]:
    """The tokens of `user` (default: the actor), working or not, oldest first."""
    target = actor if user is None else _user_named(session, user)
    authorize(
        rt=rt, session=session, actor=actor, action="tokens.list", resource_type="token", owner=target.name
    )
    found = page(
        session,
        select(ApiToken).where(col(ApiToken.user_id) == target.id),
        ApiToken,
        limit=limit,
        after=after,
    )
    return Listed([public(row, target.name) for row in found.items], found.next)


def public(row: ApiToken, user: str) -> TokenPublic:
    return TokenPublic(
        id=row.id,
        user=user,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
        status=status(row),
    )


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None
