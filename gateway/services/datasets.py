"""Upload (validate, redact, admit), list, show, download and review datasets."""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

import structlog
from sqlmodel import Session, col, select

from audit import log as audit_log
from gateway.contract import Label, Name, ResourceId, require
from gateway.errors import Conflict, DatasetRejected, NotFound
from gateway.formats import (
    InputLimits,
    TrainingFile,
    jsonl_line,
    read_training_records,
    validate_training_jsonl,
)
from gateway.models import (
    DEFAULT_LICENCE,
    Adapter,
    Approval,
    Dataset,
    DatasetRevocation,
    DatasetStatus,
    PolicyDecisionRecord,
    Role,
    User,
    Verdict,
)
from gateway.runtime import Runtime
from gateway.services.authz import authorize
from gateway.services.decisions import record_decision
from gateway.services.free_text import checked_note, checked_texts
from gateway.store.blobs import BlobWriter

if TYPE_CHECKING:  # the scanner pulls in Presidio and spaCy: only the upload itself needs them
    from gateway.redaction.scanner import Progress

log = structlog.get_logger()


def upload_dataset(
    *,
    rt: Runtime,
    session: Session,
    actor: User,
    source: BinaryIO | Path,
    name: str,
    purpose: str,
    classification: str,
    licence: str = DEFAULT_LICENCE,
    progress: Progress | None = None,
) -> Dataset:
    """Validate, redact and admit a training file, read as a stream. Only the redacted JSONL is kept.

    The raw bytes are copied to an anonymous temporary file while they are validated and hashed, and
    read from it again for each pass of the scan, so memory holds a chunk of records, never the file.
    A malformed file, a scanner failure or an interrupt leaves nothing behind. A policy refusal leaves
    only the decision and its log entry, so an auditor sees what was refused and why.
    `progress(phase, done, total)` is called as the passes advance.
    """
    authorize(
        rt=rt,
        session=session,
        actor=actor,
        action="datasets.upload",
        resource_type="dataset",
        team=actor.team,
    )
    texts = checked_texts(
        rt=rt,
        fields={
            "name": (Name, name),
            "purpose": (Label, purpose),
            "classification": (Label, classification),
            "licence": (Label, licence),
        },
    )
    name, purpose, classification, licence = texts.values()
    with ExitStack() as cleanup:
        cleanup.enter_context(rt.scan_slots.hold(actor.name))  # refused at once when all are taken
        if isinstance(source, Path):
            source = cleanup.enter_context(source.open("rb"))
        raw = cleanup.enter_context(_scratch(rt))
        limits = InputLimits.from_settings(rt.settings)  # refused here, before any analysis
        checked = validate_training_jsonl(source, copy_to=raw, progress=progress, limits=limits)
        raw.flush()
        redacted = cleanup.enter_context(rt.blobs.writer())  # discarded unless committed below
        kept = 0

        def write(record: dict[str, Any]) -> None:
            nonlocal kept
            redacted.write(jsonl_line(record))
            kept += 1  # records whose drop_record entity left them out are not stored

        scan = rt.scanner.scan_stream(  # raises RedactionError: fail closed
            lambda: read_training_records(raw), write, progress=progress, total=checked.records
        )
        raw.close()  # the raw bytes are hashed, never kept
        return _admit(
            rt=rt,
            session=session,
            actor=actor,
            name=name,
            purpose=purpose,
            classification=classification,
            licence=licence,
            checked=checked,
            report=scan.model_dump(),
            kept=kept,
            redacted=redacted,
        )


def _scratch(rt: Runtime) -> IO[bytes]:
    """An anonymous temporary file for the raw bytes, gone when closed or when the process dies.

    Under ftgate's home rather than in /tmp, which may be RAM-backed while an upload can be larger than
    memory. Linux unlinks it at once, so a crash leaves no raw record on disk.
    """
    home = rt.settings.home
    return tempfile.TemporaryFile(dir=home if home.is_dir() else None)


def _admit(
    *,
    rt: Runtime,
    session: Session,
    actor: User,
    name: str,
    purpose: str,
    classification: str,
    licence: str,
    checked: TrainingFile,
    report: dict[str, Any],
    kept: int,
    redacted: BlobWriter,
) -> Dataset:
    """Ask the admission policy; record the dataset, its log entry and its blob together, or nothing."""
    fmt, raw_sha256, redacted_sha256 = checked.format, checked.raw_sha256, redacted.sha256
    policy_input = {
        "subject": {"name": actor.name, "role": actor.role.value, "team": actor.team},
        "dataset": {
            "name": name,
            "team": actor.team,
            "purpose": purpose,
            "classification": classification,
            "licence": licence,
            "records": kept,
        },
        "scan": {
            "entities": report["entities"],
            "records_changed": report["records_changed"],
            "records_dropped": report["records_dropped"],
            "residual_findings": report["residual_findings"],
            "residual_records": report["residual_records"],
        },
    }
    decision = rt.policy.decide("ftgate.dataset", policy_input)
    decision_row = record_decision(session=session, actor=actor.name, decision=decision, input=policy_input)
    if not decision.allow:
        redacted.discard()
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
        details: dict[str, Any] = {"decision_id": decision_row.id, "reasons": reasons}
        if report["residual"]:
            # Where redaction left personal data, by record, field and type (never the value), so the
            # uploader can fix exactly those records, or compliance can choose to drop them.
            details["residual"] = report["residual"]
            details["residual_check"] = report["residual_check"]
        raise DatasetRejected(
            "dataset refused by policy: " + "; ".join(r["message"] for r in reasons), details=details
        )

    dataset = Dataset(
        name=name,
        purpose=purpose,
        classification=classification,
        licence=licence,
        team=actor.team,
        uploader=actor.name,
        format=fmt,
        records=kept,
        raw_sha256=raw_sha256,
        redacted_sha256=redacted_sha256,
        redacted_bytes=redacted.size,
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
            "licence": licence,
            "format": fmt,
            "records": dataset.records,
            "raw_sha256": raw_sha256,
            "redacted_sha256": redacted_sha256,
            "scan": {k: v for k, v in report.items() if k != "sample"},
            "decision_id": decision_row.id,
            "bundle_sha256": decision.bundle_sha256,
        },
    )
    _, created = redacted.commit()
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
    authorize(rt=rt, session=session, actor=actor, action="datasets.list", resource_type="dataset")
    query = select(Dataset).order_by(col(Dataset.created_at))
    if (team := _visible(actor)) is not None:
        query = query.where(col(Dataset.team) == team)
    return list(session.exec(query))


def get_dataset(
    *, rt: Runtime, session: Session, actor: User, dataset_id: str, action: str = "datasets.read"
) -> Dataset:
    dataset = session.get(Dataset, require(ResourceId, dataset_id, "dataset_id"))
    if dataset is None:
        raise NotFound(f"no dataset {dataset_id!r}")
    authorize(
        rt=rt,
        session=session,
        actor=actor,
        action=action,
        resource_type="dataset",
        team=dataset.team,
        owner=dataset.uploader,
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
    note = checked_note(rt=rt, note=note)
    if dataset.status in (DatasetStatus.rejected, DatasetStatus.revoked):
        raise Conflict(
            f"dataset {dataset_id} was {dataset.status.value}; upload a corrected file as a new dataset"
        )
    if any(a.approver == actor.name for a in list_approvals(session=session, dataset_id=dataset_id)):
        raise Conflict(f"{actor.name} has already reviewed dataset {dataset_id}")
    # What is approved is what is stored: re-hash the blob now.
    rt.blobs.open_verified(dataset.redacted_sha256)
    admission_id = None
    if verdict == Verdict.approved:
        admission_id = _readmit(rt=rt, session=session, actor=actor, dataset=dataset)
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
            "admission_decision_id": admission_id,
        },
    )
    return approval


def admission_record(*, session: Session, dataset: Dataset) -> PolicyDecisionRecord:
    """The `ftgate.dataset` decision that admitted the upload: its input is the facts to re-decide on."""
    admission = session.get(PolicyDecisionRecord, dataset.decision_id)
    if admission is None:
        raise NotFound(f"dataset {dataset.id} has no admission decision on record")
    return admission


def _readmit(*, rt: Runtime, session: Session, actor: User, dataset: Dataset) -> str:
    """Ask today's `ftgate.dataset` about the facts it admitted the upload on; refuse the approval if no.

    The rules may have changed since the upload (a licence taken off the allow-list, a purpose no longer
    allowed): an approval must not stand on an admission today's policy would refuse. The decision is
    stored either way; a refusal keeps it (and its log entry) and raises with every reason.
    """
    admission = admission_record(session=session, dataset=dataset)
    decision = rt.policy.decide("ftgate.dataset", admission.input)
    row = record_decision(session=session, actor=actor.name, decision=decision, input=admission.input)
    if not decision.allow:
        session.commit()  # the refusal is on the record; no approval is
        raise DatasetRejected(
            "today's admission policy no longer admits this dataset, so it cannot be approved: "
            + "; ".join(r["message"] for r in row.reasons),
            details={"decision_id": row.id, "reasons": row.reasons},
        )
    return row.id


def revoke_dataset(
    *, rt: Runtime, session: Session, actor: User, dataset_id: str, note: str
) -> tuple[DatasetRevocation, list[Adapter]]:
    """Withdraw a dataset: no more training on it, and every adapter trained on it is quarantined.

    The revocation, each quarantine and their log entries commit together in the caller's transaction.
    """
    dataset = get_dataset(
        rt=rt, session=session, actor=actor, dataset_id=dataset_id, action="datasets.revoke"
    )
    note = checked_note(rt=rt, note=note)
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
        # Released adapters too: once their data is withdrawn they can no longer be downloaded.
        previous_status, adapter.status = adapter.status, "quarantined"
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
                "previous_status": previous_status,
            },
        )
    log.info("dataset.revoked", dataset_id=dataset_id, adapters=len(adapters))
    return revocation, adapters
