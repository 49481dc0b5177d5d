"""Policy decisions: replay a stored one; check a dataset against today's policies."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gateway.api.deps import CurrentUser, RuntimeDep, SessionDep
from gateway.contract import ResourceId
from gateway.services import policy

router = APIRouter(prefix="/v1", tags=["policy"])


@router.get("/policy/bundle")
def policy_bundle(rt: RuntimeDep, user: CurrentUser) -> Any:
    return policy.bundle_manifest(rt=rt)


@router.post("/policy/decisions/{decision_id}/replay")
def replay_decision(decision_id: ResourceId, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    return policy.replay(rt=rt, session=session, actor=user, decision_id=decision_id)


@router.get("/datasets/{dataset_id}/check")
def check_dataset(dataset_id: ResourceId, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    return policy.check_dataset(rt=rt, session=session, actor=user, dataset_id=dataset_id)
