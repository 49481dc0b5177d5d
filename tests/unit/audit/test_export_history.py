"""Point-in-time state and revocation impact, replayed from log entries alone (audit.history)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from audit.history import adapters_trained_on, state_at
from audit.models import AuditEntry


def entry(seq: int, minute: int, action: str, subject: str, **payload: Any) -> AuditEntry:
    return AuditEntry(
        seq=seq,
        time=f"2026-11-29T10:{minute:02d}:00.000000Z",
        actor="x",
        action=action,
        subject=subject,
        payload=json.dumps(payload),
        prev_hash="",
        entry_hash=f"{seq:064x}",
    )


def adapter(seq: int, minute: int, adapter_id: str, dataset_id: str) -> AuditEntry:
    return entry(
        seq, minute, "adapter.registered", adapter_id, dataset_id=dataset_id, job_id="job", base_model="m"
    )


LOG = [
    entry(1, 0, "dataset.uploaded", "ds1", name="a", team="t"),
    entry(2, 1, "dataset.uploaded", "ds2", name="b", team="t"),
    entry(3, 2, "dataset.approved", "ds1"),
    entry(4, 3, "dataset.rejected", "ds2"),
    adapter(5, 4, "ad1", "ds1"),
    entry(6, 4, "adapter.signed", "ad1"),
    adapter(7, 5, "ad2", "ds1"),
    entry(8, 6, "dataset.revoked", "ds1"),
    entry(9, 6, "adapter.quarantined", "ad1"),
    entry(10, 6, "adapter.quarantined", "ad2"),
    # A later approval or release cannot undo a revocation or a quarantine.
    entry(11, 7, "dataset.approved", "ds1"),
    entry(12, 7, "adapter.released", "ad1"),
]


@pytest.mark.parametrize(
    "minute, datasets, adapters",
    [
        (-1, {}, {}),
        (0, {"ds1": "pending_review"}, {}),
        (2, {"ds1": "approved", "ds2": "pending_review"}, {}),
        (4, {"ds1": "approved", "ds2": "rejected"}, {"ad1": "registered"}),
        (5, {"ds1": "approved", "ds2": "rejected"}, {"ad1": "registered", "ad2": "registered"}),
        (6, {"ds1": "revoked", "ds2": "rejected"}, {"ad1": "quarantined", "ad2": "quarantined"}),
        (9, {"ds1": "revoked", "ds2": "rejected"}, {"ad1": "quarantined", "ad2": "quarantined"}),
    ],
)
def test_state_at(minute: int, datasets: dict[str, str], adapters: dict[str, str]) -> None:
    moment = datetime(2026, 11, 29, 10, 0, tzinfo=UTC).replace(minute=max(minute, 0))
    if minute < 0:
        moment = datetime(2026, 11, 29, 9, 59, tzinfo=UTC)
    state = state_at(LOG, moment)
    assert {d["id"]: d["status"] for d in state["datasets"]} == datasets
    assert {a["id"]: a["status"] for a in state["adapters"]} == adapters


def test_state_counts_entries_by_time_not_position() -> None:
    # Concurrent writers can commit slightly out of time order; a later seq with an earlier time counts.
    log = [entry(1, 5, "dataset.uploaded", "ds1", name="a", team="t"), entry(2, 1, "dataset.approved", "ds1")]
    state = state_at(log, datetime(2026, 11, 29, 10, 2, tzinfo=UTC))
    assert state["log_entries_considered"] == 1 and state["datasets"] == []


@pytest.mark.parametrize(
    "dataset_id, expected",
    [("ds1", [("ad1", "quarantined", True), ("ad2", "quarantined", False)]), ("ds2", []), ("nope", [])],
)
def test_adapters_trained_on(dataset_id: str, expected: list[tuple[str, str, bool]]) -> None:
    found = adapters_trained_on(LOG, dataset_id)
    assert [(a["id"], a["status"], a["signed"]) for a in found] == expected
