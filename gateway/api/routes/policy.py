"""Policy decisions: replay a stored one; check a dataset against today's policies."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gateway.api.deps import CurrentUser, RuntimeDep, SessionDep, TransactionalRoute
from gateway.contract import ResourceId
from gateway.models import DatasetCheckPublic, DecisionReplayPublic, PolicyBundlePublic
from gateway.services import policy

router = APIRouter(prefix="/v1", tags=["policy"], route_class=TransactionalRoute)


@router.get("/policy/bundle", response_model=PolicyBundlePublic)
def policy_bundle(rt: RuntimeDep, user: CurrentUser) -> Any:
    """The policy bundle now in the policy directory: its hash and every file with its digest."""
    return policy.bundle_manifest(rt=rt)


@router.post("/policy/decisions/{decision_id}/replay", response_model=DecisionReplayPublic)
def replay_decision(decision_id: ResourceId, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    """Re-evaluate a stored decision with the bundle that made it and with today's bundle."""
    return policy.replay(rt=rt, session=session, actor=user, decision_id=decision_id)


@router.get("/datasets/{dataset_id}/check", response_model=DatasetCheckPublic)
def check_dataset(dataset_id: ResourceId, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    """Would today's admission policy still admit this dataset? Every reason; nothing is stored."""
    return policy.check_dataset(rt=rt, session=session, actor=user, dataset_id=dataset_id)
