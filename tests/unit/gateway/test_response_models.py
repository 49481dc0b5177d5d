"""The response models of routes that returned plain dicts keep exactly what the services produce:
the same keys and values, nothing dropped, nothing added (issue 15, item 6)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel
from sqlmodel import Session, SQLModel, create_engine

from audit import log
from audit.bundle import build_bundle, signed_checkpoint
from audit.checkpoint import verifier_for
from audit.history import adapters_trained_on, state_at
from audit.models import AuditEntry, AuditTreeNode
from audit.signing import head_message, public_key_b64, sign
from audit.verify import check_extends, verify_stored
from gateway.models import (
    Adapter,
    AdapterHistoriesPublic,
    CheckpointPublic,
    Dataset,
    DatasetCheckPublic,
    DecisionPublic,
    DecisionReplayPublic,
    DryRunPublic,
    HealthPublic,
    Job,
    JobPublic,
    JobSubmittedPublic,
    LogStatePublic,
    LogVerificationPublic,
    PolicyBundlePublic,
    ProofBundlePublic,
    ReasonPublic,
    ReleasePublic,
    WitnessedCheckpointPublic,
    WitnessSubmissionsPublic,
)
from gateway.policy.bundle import PolicyBundle
from gateway.policy.engine import Decision, Reason
from gateway.services.adapters import ReleaseOutcome
from gateway.services.costs import estimate_job
from gateway.services.witnessing import Submission
from gateway.settings import REPO_ROOT
from trainer.config import TrainConfig


def _entry(seq: int, action: str, subject: str, payload: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        seq=seq,
        time=f"2026-12-0{seq}T10:00:00.000000Z",
        actor="alice",
        action=action,
        subject=subject,
        payload=json.dumps(payload),
        prev_hash="0" * 64,
        entry_hash=f"{seq:064x}",
    )


ENTRIES = [
    _entry(1, "dataset.uploaded", "ds_1", {"name": "support", "team": "red"}),
    _entry(2, "dataset.approved", "ds_1", {"dataset_status": "approved"}),
    _entry(3, "adapter.registered", "ad_1", {"dataset_id": "ds_1", "job_id": "job_1", "base_model": "tiny"}),
    _entry(4, "adapter.signed", "ad_1", {}),
    _entry(5, "adapter.quarantined", "ad_1", {}),
]


def _same(model: type[BaseModel], produced: dict[str, Any], *, exclude_unset: bool = False) -> None:
    """The model's JSON is what FastAPI wrote for the plain dict: same keys in the same order, same
    values, an int still an int (`json.dumps` tells 1 from 1.0)."""
    dumped = model.model_validate(produced).model_dump(mode="json", exclude_unset=exclude_unset)
    assert json.dumps(dumped) == json.dumps(jsonable_encoder(produced))


def test_the_log_state_model_keeps_every_key() -> None:
    _same(LogStatePublic, state_at(ENTRIES, datetime(2026, 12, 31, tzinfo=UTC)))


def test_the_impact_model_keeps_every_key() -> None:
    found = adapters_trained_on(ENTRIES, "ds_1")
    assert found
    _same(AdapterHistoriesPublic, {"data": found, "count": len(found)})


def test_the_release_model_keeps_every_key() -> None:
    adapter = Adapter(
        id="ad_1",
        job_id="job_1",
        dataset_id="ds_1",
        team="red",
        base_model="tiny",
        path="/adapters/ad_1",
        files={"adapter_model.safetensors": "a" * 64},
        manifest_sha256="b" * 64,
        signature="sig",
        metrics={},
        status="released",
    )
    decision = Decision(
        entrypoint="ftgate.release", allow=True, bundle_sha256="c" * 64, engine="regorus", ms=1.0
    )
    outcome = ReleaseOutcome(adapter=adapter, decision=decision, decision_id="dec_1", files=adapter.files)
    _same(ReleasePublic, outcome.summary("released"))


# --- policy decisions --------------------------------------------------------------------------------

DENIED = Decision(
    entrypoint="ftgate.training",
    allow=False,
    reasons=[Reason(code="MODEL_NOT_ALLOWED", message="Ask compliance to add the model.")],
    warnings=[Reason(code="LARGE_JOB", message="Above the usual size.")],
    review=[Reason(code="RESTRICTED", message="Restricted data needs a second approver.")],
    bundle_sha256="c" * 64,
    engine="regorus",
    ms=0.25,
)
ALLOWED = Decision(entrypoint="ftgate.dataset", allow=True, bundle_sha256="d" * 64, engine="opa", ms=3.0)


def test_the_decision_model_has_the_engine_decisions_fields() -> None:
    assert list(DecisionPublic.model_fields) == list(Decision.model_fields)
    assert list(ReasonPublic.model_fields) == list(Reason.model_fields)


@pytest.mark.parametrize("decision", [DENIED, ALLOWED])
def test_the_dataset_check_model_keeps_every_key(decision: Decision) -> None:
    # gateway/services/policy.py check_dataset
    produced = {
        "id": "ds_1",
        "status": "admissible" if decision.allow else "not_admissible",
        "decision": decision.model_dump(mode="json"),
        "admitted_with_bundle": "e" * 64,
    }
    _same(DatasetCheckPublic, produced)


def test_the_replay_model_keeps_every_key() -> None:
    # gateway/services/policy.py replay: the stored row, then each engine's answer with `same`
    recorded = {
        "allow": False,
        "reasons": [r.model_dump() for r in DENIED.reasons],
        "bundle_sha256": DENIED.bundle_sha256,
        "engine": DENIED.engine,
    }
    produced = {
        "id": "dec_1",
        "status": "not_reproduced",
        "entrypoint": "ftgate.training",
        "decided_at": datetime(2026, 12, 1, 10, 0, 0, 123456),  # as the database hands it back
        "recorded": recorded,
        "replayed": DENIED.model_dump(mode="json") | {"same": True},
        "today": ALLOWED.model_dump(mode="json") | {"same": False},
    }
    _same(DecisionReplayPublic, produced)


def test_the_policy_bundle_model_keeps_every_key() -> None:
    # gateway/services/policy.py bundle_manifest, over the repository's policies
    policy_dir = REPO_ROOT / "policies"
    bundle = PolicyBundle.load(policy_dir)
    produced = {
        "id": bundle.sha256,
        "status": "loaded",
        "policy_dir": str(policy_dir),
        "opa_manifest": bundle.opa_manifest_state(),
        **bundle.manifest(),
    }
    assert produced["files"]
    _same(PolicyBundlePublic, produced)


# --- jobs --------------------------------------------------------------------------------------------


def _estimate(*, parameters: int | None, budget: dict[str, Any] | None) -> dict[str, Any]:
    # gateway/services/jobs.py submit_job: the cost estimate with the team's usage and budget
    dataset = Dataset(
        id="ds_1",
        name="support",
        purpose="style",
        classification="internal",
        team="red",
        uploader="alice",
        format="chat",
        records=120,
        raw_sha256="a" * 64,
        redacted_bytes=48_000,
    )
    found = estimate_job(
        dataset=dataset, parameters=parameters, config=TrainConfig(), gpu_effective_tflops=50.0
    )
    return {**found, "team_usage": {"month": "2026-12", "gpu_hours": 0.0}, "team_budget": budget}


ESTIMATES = [
    _estimate(
        parameters=134_515_008, budget={"gpu_hours_per_month": 100, "remaining": 99.5, "month": "2026-12"}
    ),
    _estimate(parameters=None, budget=None),
]


@pytest.mark.parametrize("estimate", ESTIMATES)
@pytest.mark.parametrize("decision", [DENIED, ALLOWED])
def test_the_dry_run_model_keeps_every_key(decision: Decision, estimate: dict[str, Any]) -> None:
    # gateway/api/routes/jobs.py submit_job, dry run
    produced = {
        "id": None,
        "status": "allowed" if decision.allow else "denied",
        "dry_run": True,
        "decision": {**decision.model_dump(mode="json"), "id": None},
        "estimate": estimate,
    }
    _same(DryRunPublic, produced)


@pytest.mark.parametrize("estimate", ESTIMATES)
def test_the_submitted_job_model_keeps_every_key(estimate: dict[str, Any]) -> None:
    # gateway/api/routes/jobs.py submit_job: the job, the decision that admitted it, the estimate
    job = Job(
        id="job_1",
        dataset_id="ds_1",
        submitter="alice",
        team="red",
        base_model="tiny",
        config=TrainConfig().model_dump(mode="json"),
        decision_id="dec_1",
        approved_sha256="a" * 64,
        created_at=datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
    )
    produced = {
        **JobPublic.model_validate(job).model_dump(mode="json"),
        "decision": {**ALLOWED.model_dump(mode="json"), "id": "dec_1"},
        "estimate": estimate,
    }
    _same(JobSubmittedPublic, produced)


# --- the audit log -----------------------------------------------------------------------------------


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    engine = create_engine(f"sqlite:///{tmp_path / 'log.db'}")
    SQLModel.metadata.create_all(engine, tables=[AuditEntry.__table__, AuditTreeNode.__table__])  # type: ignore[attr-defined]
    with Session(engine) as s:
        for i in range(5):
            log.append(
                s, actor="alice", action="thing.done", subject=f"t{i}", payload={"n": i, "x": 1.5, "e": None}
            )
        s.commit()
        yield s


KEY = Ed25519PrivateKey.generate()


def test_the_proof_bundle_model_keeps_every_key(session: Session) -> None:
    bundle = build_bundle(session, key=KEY, seqs=[2, 4], subject="adapter:ad_1")
    assert len(bundle["entries"]) == 2
    _same(ProofBundlePublic, bundle)


def test_the_checkpoint_model_keeps_every_key(session: Session) -> None:
    # gateway/services/audit.py make_checkpoint
    note, checkpoint = signed_checkpoint(session, KEY)
    produced = {
        "id": "log",
        "status": "checkpointed",
        "origin": checkpoint.origin,
        "tree_size": checkpoint.size,
        "root_hash": checkpoint.root_hash.hex(),
        "verifier_key": verifier_for(checkpoint.origin, KEY).encode(),
        "checkpoint": note,
    }
    _same(CheckpointPublic, produced)


WITNESSED = [
    {"witness": "w1.test/witness", "status": "none"},
    {
        "witness": "w2.test/witness",
        "tree_size": 3,
        "root_hash": "f" * 64,
        "cosigned_at": 1_790_000_000,
        "status": "extended",
    },
    # A failure raises before the response; its finding's keys, for the shape (`seq` may be null).
    {
        "witness": "w3.test/witness",
        "tree_size": 3,
        "root_hash": "f" * 64,
        "status": "failed",
        "detail": "bad",
    },
    {
        "witness": "w4",
        "tree_size": 3,
        "root_hash": "f" * 64,
        "cosigned_at": 1,
        "status": "failed",
        "seq": None,
        "detail": "x",
    },
]


@pytest.mark.parametrize("with_checkpoint", [False, True])
@pytest.mark.parametrize("witnessed", [None, WITNESSED])
def test_the_verification_model_keeps_keys_present_and_absent(
    session: Session, with_checkpoint: bool, witnessed: list[dict[str, Any]] | None
) -> None:
    # gateway/services/audit.py verify: the keys after public_key are there only as they apply
    _, checkpoint = signed_checkpoint(session, KEY)
    log.append(session, actor="bob", action="thing.done", subject="t5", payload={})
    head, tree = verify_stored(session)
    produced: dict[str, Any] = {
        "id": "log",
        "status": "verified",
        "entries": head.size,
        "head_hash": head.head_hash,
        "root_hash": head.root_hash,
        "signed_head": sign(KEY, head_message(head.size, head.head_hash)),
        "public_key": public_key_b64(KEY),
    }
    if with_checkpoint:
        produced["extends_checkpoint"] = checkpoint.size
        produced["consistency_proof"] = [p.hex() for p in check_extends(head, tree, checkpoint)]
        assert produced["consistency_proof"]
    if witnessed is not None:
        produced["witnessed"] = {"quorum": 1, "cosigned": 1, "witnesses": witnessed}
    _same(LogVerificationPublic, produced, exclude_unset=True)


def test_the_witness_models_keep_every_key() -> None:
    # gateway/services/audit.py witness_checkpoint and witnessed_checkpoint
    results = [
        asdict(Submission("w1.test/witness", "cosigned", 6)),
        asdict(Submission("w2.test/witness", "unreachable", 6, "connection refused")),
    ]
    _same(WitnessSubmissionsPublic, {"data": results, "count": len(results), "quorum": 1})
    witnessed = {
        "id": "log",
        "origin": "ftgate.example/log",
        "tree_size": 6,
        "root_hash": "f" * 64,
        "witnesses": ["w1.test/witness"],
        "checkpoint": "ftgate.example/log\n6\nroot\n\n— sig\n— cosig\n",
    }
    _same(WitnessedCheckpointPublic, witnessed)


def test_the_health_model_keeps_every_key() -> None:
    _same(HealthPublic, {"status": "ok"})
