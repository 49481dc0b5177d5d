"""Initialising a home, users (added, listed, disabled, enabled) and who a request comes from."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import Any

import sqlalchemy.exc
import structlog
from sqlmodel import Session, col, select

from audit import log as audit_log
from audit.signing import generate_key, public_key_b64
from ftgate_core.files import create_private, private_dir
from gateway.contract import PAGE_DEFAULT, Handle, invalid, require
from gateway.errors import AuthenticationError, Conflict, InvalidInput, NotFound
from gateway.models import ApiToken, Role, User, UserCreated, UserPublic, utcnow
from gateway.oidc import SsoIdentity
from gateway.runtime import Runtime
from gateway.services import tokens
from gateway.services.authz import authorize
from gateway.services.catalog import register_bundled_model
from gateway.settings import Settings, shipped_policies
from gateway.store.pages import Listed, page

log = structlog.get_logger()


def init_home(*, rt: Runtime, admin_name: str = "admin", policies: Path | None = None) -> dict[str, Any]:
    """Create the home: database schema, log signing key (unless a signer process holds it), pseudonym key,
    first admin (token shown once), and the home's own copy of the policies (the shipped bundle, or
    `policies`), which compliance then owns and edits; with FTGATE_POLICY_DIR set, that directory is used
    as it is."""
    settings = rt.settings
    if settings.signing_key_path.exists():
        raise Conflict(f"{settings.home} is already initialised (found {settings.signing_key_path.name})")
    own_policies = settings.home / "policies"
    source = _policy_source(settings, policies, own_policies)
    private_dir(settings.home)
    if settings.database_url is None and not settings.db_path.exists():
        # Before anything connects: SQLite would create it 0644, and gives its -wal and -shm its mode.
        create_private(settings.db_path, b"")
    from gateway import migrations  # Alembic: only where the schema is made or checked

    if migrations.current(rt.migration_engine) is not None:
        # A database another ftgate made (PostgreSQL, shared): it must be this version's, upgraded first.
        migrations.require_current(rt.migration_engine)
    rt.upgrade_schema()  # as the schema's owner, granting the gateway's role its share
    with rt.session() as session:
        if session.exec(select(User).limit(1)).first() is not None:
            raise Conflict("the database already has users; refusing to create a second admin")
        admin = User(name=admin_name, role=Role.admin, team="admin")
        session.add(admin)
        session.flush()  # the user's row before its token's, which refers to it
        row, token = tokens.issue(session=session, user=admin, days=tokens.token_days(rt, None))
        # The log's key: made here, or the signer process's (asked before anything is committed).
        key = rt.signing_key if settings.signer_url else generate_key(settings.signing_key_path)
        audit_log.append(
            session,
            actor=admin_name,
            action="log.initialised",
            subject="log",
            payload={
                "public_key": public_key_b64(key),
                "algorithm": "ed25519",
                "signer": "process" if settings.signer_url else "file",
            },
        )
        audit_log.append(
            session,
            actor="system",
            action="user.added",
            subject=admin.id,
            payload=_added(admin, row),
        )
        bundled = register_bundled_model(session=session, actor=admin_name)
    if not settings.pseudonym_key and not settings.pseudonym_key_path.exists():
        create_private(settings.pseudonym_key_path, secrets.token_hex(32).encode("ascii"))
    if source is not None:
        shutil.copytree(source, own_policies, ignore=shutil.ignore_patterns("__pycache__", "*.py", "*.pyc"))
    log.info("home.initialised", home=str(settings.home))
    return {
        "id": admin.id,
        "status": "initialised",
        "home": str(settings.home.resolve()),
        "database": settings.db_url if settings.database_url is None else "(configured)",
        "admin": admin.name,
        "token": token,
        "token_id": row.id,
        "expires_at": row.expires_at.isoformat() if row.expires_at else None,
        "public_key": public_key_b64(key),
        "base_models": [bundled.name] if bundled else [],
        "policies": str((own_policies if source is not None else settings.policy_dir).resolve()),
    }


def authenticate(*, rt: Runtime, session: Session, token: str | None) -> User:
    """The user a request's bearer credential stands for: an ftgate token, or (when single sign-on is
    configured) an OpenID Connect ID token; AuthenticationError saying why when neither works."""
    return identify(rt=rt, session=session, token=token)[0]


def identify(*, rt: Runtime, session: Session, token: str | None) -> tuple[User, ApiToken | None]:
    """As `authenticate`, with the ftgate token's row (None for a single sign-on user), which a console
    session is bound to."""
    if not token:
        raise AuthenticationError("no token given")
    if tokens.looks_like_token(token):
        return tokens.check(session=session, token=token)
    if rt.oidc is not None:
        return sso_user(session, rt.oidc.identity(token)), None
    raise AuthenticationError("token not recognised")


def sso_user(session: Session, who: SsoIdentity) -> User:
    """The user an ID token proves, made on their first sign-in and kept in step with the provider's
    role and team; a disabled one is refused. A name that belongs to another account (a local user, or
    someone at another provider) is refused rather than taken over.

    Two first requests of one person at once (a browser opening several tabs, a script's parallel calls)
    both find no user and both add one: the second's insert breaks a unique constraint. Sign-in comes
    first in a request, so its session holds nothing else yet: it is rolled back and the user read
    again, now the one the other request made.
    """
    try:
        return _sso_user(session, who)
    except sqlalchemy.exc.IntegrityError:
        session.rollback()
        return _sso_user(session, who)


def _sso_user(session: Session, who: SsoIdentity) -> User:
    user = session.exec(
        select(User).where(col(User.issuer) == who.issuer, col(User.subject) == who.subject)
    ).first()
    if user is None:
        if session.exec(select(User).where(col(User.name) == who.name)).first() is not None:
            raise AuthenticationError(f"the user name {who.name!r} belongs to another account; ask an admin")
        user = User(name=who.name, role=Role(who.role), team=who.team, issuer=who.issuer, subject=who.subject)
        session.add(user)
        session.flush()
        _log_sso(session, "user.added", user)
        return user
    tokens.require_usable(user, None)
    if (user.name, user.role.value, user.team) != (who.name, who.role, who.team):
        if user.name != who.name and session.exec(select(User).where(col(User.name) == who.name)).first():
            raise AuthenticationError(f"the user name {who.name!r} belongs to another account; ask an admin")
        user.name, user.role, user.team = who.name, Role(who.role), who.team
        session.add(user)
        _log_sso(session, "user.updated", user)
    return user


def add_user(
    *,
    rt: Runtime,
    session: Session,
    actor: User,
    name: str,
    role: str,
    team: str,
    expires_days: float | None = None,
) -> UserCreated:
    authorize(rt=rt, session=session, actor=actor, action="users.add", resource_type="user")
    try:
        role_ = Role(role)
    except ValueError:
        raise invalid(
            "role", "enum", f"unknown role; choose one of {', '.join(r.value for r in Role)}"
        ) from None
    name, team = require(Handle, name, "name"), require(Handle, team, "team")
    if session.exec(select(User).where(col(User.name) == name)).first() is not None:
        raise Conflict(f"user {name!r} already exists")
    lifetime = tokens.token_days(rt, expires_days)
    user = User(name=name, role=role_, team=team)
    session.add(user)
    session.flush()  # the user's row before its token's, which refers to it
    row, token = tokens.issue(session=session, user=user, days=lifetime)
    session.flush()
    audit_log.append(
        session, actor=actor.name, action="user.added", subject=user.id, payload=_added(user, row)
    )
    return UserCreated(
        **UserPublic.model_validate(user).model_dump(),
        token=token,
        token_id=row.id,
        expires_at=row.expires_at,
    )


def _added(user: User, token: ApiToken) -> dict[str, Any]:
    return {
        "user_id": user.id,
        "name": user.name,
        "role": user.role.value,
        "team": user.team,
        "token_id": token.id,
        "token_expires_at": token.expires_at.isoformat() if token.expires_at else None,
    }


def list_users(
    *, rt: Runtime, session: Session, actor: User, limit: int = PAGE_DEFAULT, after: str | None = None
) -> Listed[User]:
    authorize(rt=rt, session=session, actor=actor, action="users.list", resource_type="user")
    return page(session, select(User), User, limit=limit, after=after)


def _log_sso(session: Session, action: str, user: User) -> None:
    """A single sign-on's change to a user, by `sso`, as the provider said it."""
    payload = {"user_id": user.id, "name": user.name, "role": user.role.value, "team": user.team}
    audit_log.append(
        session, actor="sso", action=action, subject=user.id, payload={**payload, "issuer": user.issuer}
    )


def set_disabled(*, rt: Runtime, session: Session, actor: User, name: str, disabled: bool) -> UserPublic:
    """Disable a user (every token, console session and single sign-on of theirs is refused from the next
    request on) or enable them again. An admin cannot disable themselves or the last enabled admin."""
    action = "users.disable" if disabled else "users.enable"
    authorize(rt=rt, session=session, actor=actor, action=action, resource_type="user")
    user = session.exec(select(User).where(col(User.name) == require(Handle, name, "name"))).first()
    if user is None:
        raise NotFound(f"no user named {name!r}")
    if (user.disabled_at is not None) == disabled:
        return UserPublic.model_validate(user)  # already so: nothing to log
    if disabled:
        if user.id == actor.id:
            raise Conflict("you cannot disable yourself; ask another admin")
        if user.role == Role.admin and _enabled_admins(session) <= 1:
            raise Conflict(f"{user.name} is the last enabled admin; add another admin first")
    user.disabled_at = utcnow() if disabled else None
    session.add(user)
    audit_log.append(
        session,
        actor=actor.name,
        action="user.disabled" if disabled else "user.enabled",
        subject=user.id,
        payload={"user_id": user.id, "name": user.name},
    )
    return UserPublic.model_validate(user)


def _enabled_admins(session: Session) -> int:
    query = select(User).where(col(User.role) == Role.admin, col(User.disabled_at).is_(None))
    return len(session.exec(query).all())


def _policy_source(settings: Settings, given: Path | None, own: Path) -> Path | None:
    """The bundle `init` copies into the home (checked loadable before anything is made), or None when
    the home uses FTGATE_POLICY_DIR as it is, or already has its own."""
    from gateway.policy.bundle import PolicyBundle

    if settings.policy_dir_given:
        if given is not None:
            raise InvalidInput("FTGATE_POLICY_DIR is set, so ftgate uses that directory: give no other")
        return None
    if own.exists():
        if given is not None:
            raise Conflict(f"{own} exists already: edit it, or remove it to start from {given}")
        return None
    source = given if given is not None else shipped_policies()
    PolicyBundle.load(source)  # ConfigError naming what is wrong with it
    return source
