"""Initialising a home, users and their tokens."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import structlog
from sqlmodel import Session, col, select

from audit import log as audit_log
from audit.private_files import create_private, private_dir
from audit.signing import generate_key, public_key_b64
from gateway.contract import PAGE_DEFAULT, Handle, invalid, require
from gateway.errors import AuthenticationError, Conflict
from gateway.models import Role, User, UserCreated, UserPublic
from gateway.runtime import Runtime
from gateway.services.authz import authorize
from gateway.services.catalog import register_bundled_model
from gateway.store.pages import Listed, page

log = structlog.get_logger()

TOKEN_PREFIX = "ftg_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def init_home(*, rt: Runtime, admin_name: str = "admin") -> dict[str, Any]:
    """Create the home: database schema, log signing key, pseudonym key, first admin (token shown once)."""
    settings = rt.settings
    if settings.signing_key_path.exists():
        raise Conflict(f"{settings.home} is already initialised (found {settings.signing_key_path.name})")
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
        token = _new_token()
        admin = User(name=admin_name, role=Role.admin, team="admin", token_sha256=hash_token(token))
        session.add(admin)
        key = generate_key(settings.signing_key_path)
        audit_log.append(
            session,
            actor=admin_name,
            action="log.initialised",
            subject="log",
            payload={"public_key": public_key_b64(key), "algorithm": "ed25519"},
        )
        audit_log.append(
            session,
            actor="system",
            action="user.added",
            subject=admin.id,
            payload={"user_id": admin.id, "name": admin.name, "role": admin.role.value, "team": admin.team},
        )
        bundled = register_bundled_model(session=session, actor=admin_name)
    if not settings.pseudonym_key and not settings.pseudonym_key_path.exists():
        create_private(settings.pseudonym_key_path, secrets.token_hex(32).encode("ascii"))
    log.info("home.initialised", home=str(settings.home))
    return {
        "id": admin.id,
        "status": "initialised",
        "home": str(settings.home.resolve()),
        "database": settings.db_url if settings.database_url is None else "(configured)",
        "admin": admin.name,
        "token": token,
        "public_key": public_key_b64(key),
        "base_models": [bundled.name] if bundled else [],
    }


def authenticate(*, session: Session, token: str | None) -> User:
    if not token:
        raise AuthenticationError("no token given")
    user = session.exec(select(User).where(col(User.token_sha256) == hash_token(token))).first()
    if user is None:
        raise AuthenticationError("token not recognised")
    return user


def add_user(*, rt: Runtime, session: Session, actor: User, name: str, role: str, team: str) -> UserCreated:
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
    token = _new_token()
    user = User(name=name, role=role_, team=team, token_sha256=hash_token(token))
    session.add(user)
    session.flush()
    audit_log.append(
        session,
        actor=actor.name,
        action="user.added",
        subject=user.id,
        payload={"user_id": user.id, "name": name, "role": role_.value, "team": team},
    )
    return UserCreated(**UserPublic.model_validate(user).model_dump(), token=token)


def list_users(
    *, rt: Runtime, session: Session, actor: User, limit: int = PAGE_DEFAULT, after: str | None = None
) -> Listed[User]:
    authorize(rt=rt, session=session, actor=actor, action="users.list", resource_type="user")
    return page(session, select(User), User, limit=limit, after=after)
