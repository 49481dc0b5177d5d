"""An adapter's lineage, read from the audit log alone (after verifying it).

Nothing here reads the gateway's tables: an auditor who trusts the log's signed head can trust the
lineage without trusting the rest of the database.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from audit.errors import AuditError
from audit.models import AuditEntry
from audit.verify import verify_entries

LINEAGE_FORMAT = "ftgate.lineage/v1"


class LineageNotFound(AuditError):
    code = "not_found"
    http_status = 404


class _Index:
    def __init__(self, entries: Iterable[AuditEntry]) -> None:
        self.entries = list(entries)
        self.by_key: dict[tuple[str, str], list[AuditEntry]] = {}
        for entry in self.entries:
            self.by_key.setdefault((entry.action, entry.subject), []).append(entry)

    def all(self, action: str, subject: str) -> list[AuditEntry]:
        return self.by_key.get((action, subject), [])

    def one(self, action: str, subject: str) -> AuditEntry:
        found = self.all(action, subject)
        if not found:
            raise LineageNotFound(f"the audit log has no {action} entry for {subject}")
        return found[-1]

    def first_action(self, action: str) -> AuditEntry | None:
        return next((e for e in self.entries if e.action == action), None)


def _payload(entry: AuditEntry) -> dict[str, Any]:
    return json.loads(entry.payload)


def _ref(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "time": entry.time,
        "actor": entry.actor,
        "action": entry.action,
        "entry_hash": entry.entry_hash,
    }


def _decision(entry: AuditEntry) -> dict[str, Any]:
    p = _payload(entry)
    return {
        "decision_id": p["decision_id"],
        "entrypoint": p["entrypoint"],
        "allow": p["allow"],
        "reasons": p["reasons"],
        "bundle_sha256": p["bundle_sha256"],
        "engine": p["engine"],
        "decided_at": entry.time,
    }


def _model_signature(entry: AuditEntry | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    p = _payload(entry)
    return {k: p[k] for k in ("library", "bundle_sha256", "public_key_sha256")} | {"signed_at": entry.time}


def _quarantine(entry: AuditEntry | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    p = _payload(entry)
    return {"dataset_id": p["dataset_id"], "note": p["note"], "by": entry.actor, "at": entry.time}


def _release(entry: AuditEntry | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    p = _payload(entry)
    return {
        "by": entry.actor,
        "at": entry.time,
        "note": p["note"],
        "decision_id": p["decision_id"],
        "bundle_sha256": p["bundle_sha256"],
    }


def build_lineage(session: Session, adapter_id: str, *, origin: str) -> dict[str, Any]:
    """Verify the whole log, then assemble the adapter's chain; `origin` names the log (its checkpoints'
    origin line), and with it the deployment.

    data -> scan -> approvals -> policy -> job -> pre-training check -> weights.
    """
    entries = list(session.exec(select(AuditEntry).order_by(col(AuditEntry.seq))))
    head = verify_entries(entries)
    index = _Index(entries)

    adapter_e = index.one("adapter.registered", adapter_id)
    adapter = _payload(adapter_e)
    job_id, dataset_id = adapter["job_id"], adapter["dataset_id"]
    submitted_e = index.one("job.submitted", job_id)
    submitted = _payload(submitted_e)
    dataset_e = index.one("dataset.uploaded", dataset_id)
    dataset = _payload(dataset_e)
    training_decision_e = index.one("policy.decided", submitted["decision_id"])
    admission_e = index.one("policy.decided", dataset["decision_id"])
    verified_e = index.one("job.verified", job_id)
    verified = _payload(verified_e)
    recheck_e = index.one("policy.decided", verified["decision_id"])
    model_e = index.one("model.registered", adapter["base_model"])
    model = _payload(model_e)
    reviews = index.all("dataset.approved", dataset_id) + index.all("dataset.rejected", dataset_id)
    reviews.sort(key=lambda e: e.seq)
    started_e = index.one("job.started", job_id)
    init_e = index.first_action("log.initialised")
    # Later facts about the adapter: its model-signing signature and, if its data was revoked, the
    # quarantine. Both are optional: adapters registered before signing existed have no signature.
    signed_e = next(iter(index.all("adapter.signed", adapter_id)[-1:]), None)
    quarantined_e = next(iter(index.all("adapter.quarantined", adapter_id)[-1:]), None)
    # The release sign-off and the ftgate.release decision behind it, if the adapter was released.
    released_e = next(iter(index.all("adapter.released", adapter_id)[-1:]), None)
    release_decision_e = (
        index.one("policy.decided", _payload(released_e)["decision_id"]) if released_e else None
    )

    used = [
        init_e,
        model_e,
        admission_e,
        dataset_e,
        *reviews,
        training_decision_e,
        submitted_e,
        started_e,
        recheck_e,
        verified_e,
        adapter_e,
        signed_e,
        release_decision_e,
        released_e,
        quarantined_e,
    ]
    return {
        "format": LINEAGE_FORMAT,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "adapter": {
            "id": adapter_id,
            "files": adapter["files"],
            "manifest_sha256": adapter["manifest_sha256"],
            "signature": adapter["signature"],
            "signature_algorithm": "ed25519",
            "public_key": _payload(init_e)["public_key"] if init_e else None,
            "metrics": adapter["metrics"],
            "registered_at": adapter_e.time,
        },
        "dataset": {
            key: dataset[key]
            for key in (
                "dataset_id",
                "name",
                "team",
                "uploader",
                "purpose",
                "classification",
                "format",
                "records",
                "raw_sha256",
                "redacted_sha256",
            )
        }
        | {"licence": dataset.get("licence")},  # None in logs from before licences were recorded
        "scan": dataset["scan"],
        "approvals": [
            {**{k: _payload(e)[k] for k in ("approver", "verdict", "note", "redacted_sha256")}, "at": e.time}
            for e in reviews
        ],
        "policy": {
            "admission": _decision(admission_e),
            "training": _decision(training_decision_e),
            "pre_training_check": _decision(recheck_e),
        },
        "training": {
            "job_id": job_id,
            "submitter": submitted_e.actor,
            "submitted_at": submitted_e.time,
            "worker": started_e.actor,
            "started_at": started_e.time,
            "config": submitted["config"],
            "seed": submitted["config"].get("seed"),
            "trained_on_sha256": verified["redacted_sha256"],
            "library_versions": adapter["versions"],
        },
        "base_model": {
            "name": model["name"],
            "weights_sha256": model["weights_sha256"],
            "gguf_file": model.get("gguf_file"),
            "verified_weights_sha256": verified["base_weights_sha256"],
        },
        "model_signature": _model_signature(signed_e),
        "quarantine": _quarantine(quarantined_e),
        "release": _release(released_e),
        "log": {
            "origin": origin,
            "verified": True,
            "size": head.size,
            "head_hash": head.head_hash,
            "entries": [_ref(e) for e in used if e is not None],
        },
    }
