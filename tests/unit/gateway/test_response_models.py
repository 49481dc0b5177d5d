"""The response models of routes that returned plain dicts keep exactly what the services produce:
the same keys and values, nothing dropped, nothing added (issue 15, item 6)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from audit.history import adapters_trained_on, state_at
from audit.models import AuditEntry
from gateway.models import Adapter, AdapterHistoriesPublic, LogStatePublic, ReleasePublic
from gateway.policy.engine import Decision
from gateway.services.adapters import ReleaseOutcome


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


def _same(model: type[BaseModel], produced: dict[str, Any]) -> None:
    assert model.model_validate(produced).model_dump(mode="json") == json.loads(json.dumps(produced))


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
