"""Questions about the past, answered from the (already verified) log entries alone.

`state_at` replays the log up to a moment; `adapters_trained_on` follows a dataset to every adapter
made from it. Neither reads a gateway table, so a rewritten `datasets` or `adapters` row cannot change
the answer; only the log can, and the log is verified first by the callers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from audit.models import AuditEntry

# Terminal: nothing after a revocation makes a dataset usable again.
_DATASET_TERMINAL = {"revoked"}
_ADAPTER_TERMINAL = {"quarantined"}


def entry_time(entry: AuditEntry) -> datetime:
    return datetime.fromisoformat(entry.time.replace("Z", "+00:00"))


def _adapter_row(entry: AuditEntry) -> dict[str, Any]:
    p = json.loads(entry.payload)
    return {
        "id": entry.subject,
        "dataset_id": p["dataset_id"],
        "job_id": p["job_id"],
        "base_model": p["base_model"],
        "status": "registered",
        "since": entry.time,
        "signed": False,
    }


def _apply_adapter_event(adapters: dict[str, dict[str, Any]], entry: AuditEntry) -> None:
    row = adapters.get(entry.subject)
    if row is None:
        return
    if entry.action == "adapter.signed":
        row["signed"] = True
    elif row["status"] not in _ADAPTER_TERMINAL:
        # adapter.quarantined -> quarantined, adapter.released -> released (issued by the release flow).
        row["status"], row["since"] = entry.action.split(".", 1)[1], entry.time


_ADAPTER_EVENTS = {"adapter.signed", "adapter.quarantined", "adapter.released"}


def adapters_trained_on(entries: Iterable[AuditEntry], dataset_id: str) -> list[dict[str, Any]]:
    """Every adapter whose registration names the dataset, with its status now, in log order."""
    adapters: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry.action == "adapter.registered":
            row = _adapter_row(entry)
            if row["dataset_id"] == dataset_id:
                adapters[entry.subject] = row
        elif entry.action in _ADAPTER_EVENTS:
            _apply_adapter_event(adapters, entry)
    return list(adapters.values())


def state_at(entries: Iterable[AuditEntry], moment: datetime) -> dict[str, Any]:
    """Datasets and adapters with the status the log gave them at `moment` (inclusive)."""
    moment = moment.astimezone(UTC)
    datasets: dict[str, dict[str, Any]] = {}
    adapters: dict[str, dict[str, Any]] = {}
    considered = 0
    for entry in entries:
        # Not `break`: concurrent writers may append slightly out of time order.
        if entry_time(entry) > moment:
            continue
        considered += 1
        action = entry.action
        if action == "dataset.uploaded":
            p = json.loads(entry.payload)
            datasets[entry.subject] = {
                "id": entry.subject,
                "name": p["name"],
                "team": p["team"],
                "status": "pending_review",
                "since": entry.time,
            }
        elif action in ("dataset.approved", "dataset.rejected", "dataset.revoked"):
            row = datasets.get(entry.subject)
            if row is not None and row["status"] not in _DATASET_TERMINAL:
                status = action.split(".", 1)[1]
                if action == "dataset.approved":
                    # An approval short of the classification's count leaves it pending (entries from
                    # before approvals were counted say nothing: each approval approved then).
                    status = json.loads(entry.payload).get("dataset_status") or status
                if status != row["status"]:
                    row["status"], row["since"] = status, entry.time
        elif action == "adapter.registered":
            adapters[entry.subject] = _adapter_row(entry)
        elif action in _ADAPTER_EVENTS:
            _apply_adapter_event(adapters, entry)
    return {
        "at": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "log_entries_considered": considered,
        "datasets": list(datasets.values()),
        "adapters": list(adapters.values()),
    }
