"""Revocation, revocation impact, adapter signatures and point-in-time state over HTTP.

The same service functions as `ftgate datasets revoke`, `lineage impact`, `adapters verify` and
`audit state`, so the CLI and the API cannot drift apart.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from gateway.api.deps import CurrentUser, RuntimeDep, SessionDep, TransactionalRoute
from gateway.contract import Note, ResourceId
from gateway.models import AdapterHistoriesPublic, AdapterVerificationPublic, LogStatePublic, RevocationPublic
from gateway.services import adapters, datasets, lineage

router = APIRouter(prefix="/v1", route_class=TransactionalRoute)


class RevokeIn(BaseModel):
    note: Note = Field(description="Why; kept in the audit log.")


@router.post("/datasets/{dataset_id}/revoke", tags=["datasets"], response_model=RevocationPublic)
def revoke_dataset(
    dataset_id: ResourceId, body: RevokeIn, rt: RuntimeDep, session: SessionDep, user: CurrentUser
) -> Any:
    revocation, adapters = datasets.revoke_dataset(
        rt=rt, session=session, actor=user, dataset_id=dataset_id, note=body.note
    )
    return {
        "id": dataset_id,
        "status": "revoked",
        "revocation_id": revocation.id,
        "revoked_by": revocation.revoked_by,
        "note": revocation.note,
        "quarantined": [a.id for a in adapters],
    }


@router.get("/datasets/{dataset_id}/impact", tags=["audit"], response_model=AdapterHistoriesPublic)
def dataset_impact(dataset_id: ResourceId, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    found = lineage.dataset_impact(rt=rt, session=session, actor=user, dataset_id=dataset_id)
    return {"data": found, "count": len(found)}


@router.get("/adapters/{adapter_id}/verify", tags=["adapters"], response_model=AdapterVerificationPublic)
def verify_adapter(adapter_id: ResourceId, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    return adapters.verify_adapter(rt=rt, session=session, actor=user, adapter_id=adapter_id)


@router.get("/audit/state", tags=["audit"], response_model=LogStatePublic)
def log_state(
    at: Annotated[str, Query(max_length=64, description="An ISO 8601 time.")],
    rt: RuntimeDep,
    session: SessionDep,
    user: CurrentUser,
) -> Any:
    return lineage.log_state(rt=rt, session=session, actor=user, at=at)
