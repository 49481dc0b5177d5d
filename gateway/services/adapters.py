"""Reading adapters back."""

from __future__ import annotations

from sqlmodel import Session, col, select

from gateway.errors import NotFound
from gateway.models import Adapter, Role, User
from gateway.runtime import Runtime
from gateway.services.authz import authorize


def list_adapters(*, rt: Runtime, session: Session, actor: User) -> list[Adapter]:
    authorize(rt=rt, actor=actor, action="adapters.list", resource_type="adapter")
    query = select(Adapter).order_by(col(Adapter.created_at))
    if actor.role == Role.submitter:
        query = query.where(col(Adapter.team) == actor.team)
    return list(session.exec(query))


def get_adapter(*, rt: Runtime, session: Session, actor: User, adapter_id: str) -> Adapter:
    adapter = session.get(Adapter, adapter_id)
    if adapter is None:
        raise NotFound(f"no adapter {adapter_id!r}")
    authorize(rt=rt, actor=actor, action="adapters.read", resource_type="adapter", team=adapter.team)
    return adapter
