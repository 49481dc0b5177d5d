"""Upload (validate, redact, admit), list, show, download and review datasets."""

from __future__ import annotations

import hashlib
from pathlib import Path

import structlog
from sqlmodel import Session, col, select

from audit import log as audit_log
from gateway.errors import Conflict, DatasetRejected, InvalidInput, NotFound
from gateway.formats import parse_training_jsonl, to_jsonl
from gateway.models import (
    Adapter,
    Approval,
    Dataset,
    DatasetRevocation,
    DatasetStatus,
    Role,
    User,
    Verdict,
)
from gateway.runtime import Runtime
from gateway.services.authz import authorize
from gateway.services.decisions import record_decision

log = structlog.get_logger()


def upload_dataset(
    *,
    rt: Runtime,
    session: Session,
    actor: User,
    data: bytes,
    name: str,
    purpose: str,
    classification: str,
) -> Dataset:
    """Validate, redact and admit a training file. Only the redacted JSONL is kept.

    A malformed file or a scanner failure leaves nothing behind. A policy refusal leaves only the
    decision and its log entry, so an auditor sees what was refused and why.
    """
    authorize(rt=rt, actor=actor, action="datasets.upload", resource_type="dataset", team=actor.team)
    name = name.strip()
    if not name:
        raise InvalidInput("--name must not be empty")
    records, fmt = parse_training_jsonl(data)
    raw_sha256 = hashlib.sha256(data).hexdigest()
    del data  # the raw bytes are hashed, never kept

    result = rt.scanner.scan(records)  # raises RedactionError: fail closed
    del records
    report = result.report.model_dump()
    kept = len(result.redacted)  # records whose drop_record entity left them out are not stored
    redacted = to_jsonl(result.redacted)
    redacted_sha256 = hashlib.sha256(redacted).hexdigest()

    policy_input = {
        "subject": {"name": actor.name, "role": actor.role.value, "team": actor.team},
        "dataset": {
            "name": name,
            "team": actor.team,
            "purpose": purpose,
            "classification": classification,
            "records": kept,
        },
        "scan": {
            "entities": report["entities"],
            "records_changed": report["records_changed"],
            "records_dropped": report["records_dropped"],
            "residual_findings": report["residual_findings"],
        },
    }
    decision = rt.policy.decide("ftgate.dataset", policy_input)
    decision_row = record_decision(session=session, actor=actor.name, decision=decision, input=policy_input)
    if not decision.allow:
        audit_log.append(
            session,
            actor=actor.name,
            action="dataset.refused",
            subject=decision_row.id,
            payload={
                "decision_id": decision_row.id,
                "raw_sha256": raw_sha256,
                "redacted_sha256": redacted_sha256,
            },
        )
        session.commit()
        reasons = decision_row.reasons
        raise DatasetRejected(
            "dataset refused by policy: " + "; ".join(r["message"] for r in reasons),
            details={"decision_id": decision_row.id, "reasons": reasons},
        )

    dataset = Dataset(
        name=name,
        purpose=purpose,
        classification=classification,
        team=actor.team,
        uploader=actor.name,
        format=fmt,
        records=kept,
        raw_sha256=raw_sha256,
        redacted_sha256=redacted_sha256,
        redacted_bytes=len(redacted),
        scan_report=report,
        decision_id=decision_row.id,
    )
    session.add(dataset)
    session.flush()
    audit_log.append(
        session,
        actor=actor.name,
        action="dataset.uploaded",
        subject=dataset.id,
        payload={
            "dataset_id": dataset.id,
            "name": name,
            "team": actor.team,
            "uploader": actor.name,
            "purpose": purpose,
            "classification": classification,
            "format": fmt,
            "records": dataset.records,
            "raw_sha256": raw_sha256,
            "redacted_sha256": redacted_sha256,
            "scan": {k: v for k, v in report.items() if k != "sample"},
            "decision_id": decision_row.id,
            "bundle_sha256": decision.bundle_sha256,
        },
    )
    _, created = rt.blobs.put(redacted)
    try:
        session.commit()
    except BaseException:
        if created:
            rt.blobs.remove(redacted_sha256)
        raise
    log.info(
        "dataset.uploaded", dataset_id=dataset.id, records=dataset.records, redacted_sha256=redacted_sha256
    )
    return dataset


def _visible(actor: User) -> str | None:
    """The team a user's listings are limited to; None means every team."""
    return actor.team if actor.role == Role.submitter else None


def list_datasets(*, rt: Runtime, session: Session, actor: User) -> list[Dataset]:
    authorize(rt=rt, actor=actor, action="datasets.list", resource_type="dataset")
    query = select(Dataset).order_by(col(Dataset.created_at))
    if (team := _visible(actor)) is not None:
        query = query.where(col(Dataset.team) == team)
    return list(session.exec(query))


def get_dataset(
    *, rt: Runtime, session: Session, actor: User, dataset_id: str, action: str = "datasets.read"
) -> Dataset:
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise NotFound(f"no dataset {dataset_id!r}")
    authorize(
        rt=rt, actor=actor, action=action, resource_type="dataset", team=dataset.team, owner=dataset.uploader
    )
    return dataset


def dataset_file(*, rt: Runtime, session: Session, actor: User, dataset_id: str) -> Path:
    """The redacted JSONL, re-hashed before it is handed out."""
    dataset = get_dataset(
        rt=rt, session=session, actor=actor, dataset_id=dataset_id, action="datasets.download"
    )
    return rt.blobs.open_verified(dataset.redacted_sha256)


def list_approvals(*, session: Session, dataset_id: str) -> list[Approval]:
    query = select(Approval).where(col(Approval.dataset_id) == dataset_id).order_by(col(Approval.created_at))
    return list(session.exec(query))


def review_dataset(
    *, rt: Runtime, session: Session, actor: User, dataset_id: str, verdict: Verdict, note: str
) -> Approval:
    """Approve or reject; the verdict is bound to the redacted content hash the reviewer saw."""
    action = "datasets.approve" if verdict == Verdict.approved else "datasets.reject"
    dataset = get_dataset(rt=rt, session=session, actor=actor, dataset_id=dataset_id, action=action)
    note = note.strip()
    if not note:
        raise InvalidInput("--note must say why (it is kept in the audit log)")
    if dataset.status in (DatasetStatus.rejected, DatasetStatus.revoked):
        raise Conflict(
            f"dataset {dataset_id} was {dataset.status.value}; upload a corrected file as a new dataset"
        )
    if any(a.approver == actor.name for a in list_approvals(session=session, dataset_id=dataset_id)):
        raise Conflict(f"{actor.name} has already reviewed dataset {dataset_id}")
    # What is approved is what is stored: re-hash the blob now.
    rt.blobs.open_verified(dataset.redacted_sha256)
    approval = Approval(
        dataset_id=dataset.id,
        approver=actor.name,
        verdict=verdict,
        note=note,
        redacted_sha256=dataset.redacted_sha256,
    )
    session.add(approval)
    dataset.status = DatasetStatus.approved if verdict == Verdict.approved else DatasetStatus.rejected
    session.add(dataset)
    session.flush()
    audit_log.append(
        session,
        actor=actor.name,
        action=f"dataset.{verdict.value}",
        subject=dataset.id,
        payload={
            "dataset_id": dataset.id,
            "approval_id": approval.id,
            "approver": actor.name,
            "verdict": verdict.value,
            "note": note,
            "redacted_sha256": dataset.redacted_sha256,
        },
    )
    return approval


def revoke_dataset(
    *, rt: Runtime, session: Session, actor: User, dataset_id: str, note: str
) -> tuple[DatasetRevocation, list[Adapter]]:
    """Withdraw a dataset: no more training on it, and every adapter trained on it is quarantined.

    The revocation, each quarantine and their log entries commit together in the caller's transaction.
    """
    dataset = get_dataset(
        rt=rt, session=session, actor=actor, dataset_id=dataset_id, action="datasets.revoke"
    )
    note = note.strip()
    if not note:
        raise InvalidInput("--note must say why (it is kept in the audit log)")
    if dataset.status == DatasetStatus.revoked:
        raise Conflict(f"dataset {dataset_id} is already revoked")
    query = select(Adapter).where(col(Adapter.dataset_id) == dataset_id).order_by(col(Adapter.created_at))
    adapters = list(session.exec(query))
    revocation = DatasetRevocation(
        dataset_id=dataset_id, revoked_by=actor.name, note=note, adapters=[a.id for a in adapters]
    )
    session.add(revocation)
    dataset.status = DatasetStatus.revoked
    session.add(dataset)
    session.flush()
    audit_log.append(
        session,
        actor=actor.name,
        action="dataset.revoked",
        subject=dataset_id,
        payload={
            "dataset_id": dataset_id,
            "revocation_id": revocation.id,
            "revoked_by": actor.name,
            "note": note,
            "redacted_sha256": dataset.redacted_sha256,
            "adapters": revocation.adapters,
        },
    )
    for adapter in adapters:
        adapter.status = "quarantined"
        session.add(adapter)
        audit_log.append(
            session,
            actor=actor.name,
            action="adapter.quarantined",
            subject=adapter.id,
            payload={
                "adapter_id": adapter.id,
                "dataset_id": dataset_id,
                "revocation_id": revocation.id,
                "note": note,
            },
        )
    log.info("dataset.revoked", dataset_id=dataset_id, adapters=len(adapters))
    return revocation, adapters
