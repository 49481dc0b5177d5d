"""Adapters, their lineage, and the audit log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from gateway.api.deps import CurrentUser, RuntimeDep, SessionDep
from gateway.models import AdapterPublic, Page
from gateway.services import adapters, audit

router = APIRouter(prefix="/v1")


@router.get("/adapters", tags=["adapters"], response_model=Page[AdapterPublic])
def list_adapters(rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    found = adapters.list_adapters(rt=rt, session=session, actor=user)
    return {"data": found, "count": len(found)}


@router.get("/adapters/{adapter_id}", tags=["adapters"], response_model=AdapterPublic)
def show_adapter(adapter_id: str, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    return adapters.get_adapter(rt=rt, session=session, actor=user, adapter_id=adapter_id)


@router.get("/adapters/{adapter_id}/lineage", tags=["audit"])
def adapter_lineage(
    adapter_id: str, rt: RuntimeDep, session: SessionDep, user: CurrentUser, format: str = "json"
) -> Any:
    document = audit.export_document(rt=rt, session=session, actor=user, adapter_id=adapter_id, fmt=format)
    return Response(content=document.content, media_type=document.media_type)


@router.get("/audit/verify", tags=["audit"])
def verify_log(rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    return audit.verify(rt=rt, session=session, actor=user)
