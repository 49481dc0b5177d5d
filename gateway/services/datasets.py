"""Receive (validate, keep until scanned), list, show, download and review datasets.

The scan itself, and how it ends, is `dataset_scans`.
"""

from __future__ import annotations

import os
import socket
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import structlog
from sqlalchemy import or_
from sqlmodel import Session, col, select

from audit import log as audit_log
from ftgate_core.files import removed_on_failure
from gateway.contract import PAGE_DEFAULT, PAGE_MAX, Cursor, Label, Name, ResourceId, require
from gateway.errors import Conflict, DatasetRejected, NotFound
from gateway.formats import InputLimits, validate_training_jsonl
from gateway.models import (
    DEFAULT_LICENCE,
    Adapter,
    Approval,
    ApprovalPublic,
    Dataset,
    DatasetDetail,
    DatasetEvent,
    DatasetPublic,
    DatasetRevocation,
    DatasetStatus,
    EarlierRejection,
    PolicyDecisionRecord,
    Role,
    User,
    Verdict,
)
from gateway.policy.engine import Decision
from gateway.runtime import Runtime
from gateway.services import dataset_scans
from gateway.services.authz import authorize
from gateway.services.authz import permits as authz_permits
from gateway.services.decisions import reasons_text, record_decision, refuse
from gateway.services.free_text import checked_note, checked_texts
from gateway.store.pages import Listed, page

if TYPE_CHECKING:  # the scanner pulls in Presidio and spaCy: only the upload itself needs them
    from gateway.redaction.scanner import Progress

log = structlog.get_logger()


def receive_dataset(
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
    scanner: str | None = None,
) -> Dataset:
    """Receive a training file: validate and hash it as a stream, keep its bytes until it is scanned,
    and register the dataset as `scanning`, with its log entry. Returns it committed.

    A malformed file, or one over a limit, is refused while it is read and leaves nothing behind. With
    `scanner` (a worker name) the scan is held for that worker, which then calls `scan_dataset`;
    otherwise the first scan worker free claims it (`dataset_scans.claim`).
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
    dataset_scans.refuse_if_busy(rt=rt, session=session, uploader=actor.name)
    with ExitStack() as cleanup:
        cleanup.enter_context(rt.scan_slots.hold(actor.name))  # uploads streaming in at once
        if isinstance(source, Path):
            source = cleanup.enter_context(source.open("rb"))
        raw = cleanup.enter_context(rt.incoming.writer())  # discarded unless committed below
        limits = InputLimits.from_settings(rt.settings)  # refused here, before anything is stored
        checked = validate_training_jsonl(source, copy_to=raw, progress=progress, limits=limits)
        dataset_scans.refuse_if_busy(rt=rt, session=session, uploader=actor.name)  # others meanwhile
        dataset = Dataset(
            name=name,
            purpose=purpose,
            classification=classification,
            licence=licence,
            team=actor.team,
            uploader=actor.name,
            format=checked.format,
            records=checked.records,
            raw_sha256=checked.raw_sha256,
        )
        dataset_scans.precheck(rt=rt, session=session, dataset=dataset, role=actor.role.value)
        if scanner is not None:
            dataset_scans.hold(dataset, scanner, dataset_scans.DEFAULT_LEASE_SECONDS)
        session.add(dataset)
        session.flush()
        dataset_scans.add_event(
            session, dataset.id, "received", records=checked.records, bytes=checked.raw_bytes
        )
        if scanner is not None:
            dataset_scans.add_event(session, dataset.id, "started", worker=scanner, attempt=1)
        audit_log.append(
            session,
            actor=actor.name,
            action="dataset.received",
            subject=dataset.id,
            payload={
                "dataset_id": dataset.id,
                "name": name,
                "team": actor.team,
                "uploader": actor.name,
                "purpose": purpose,
                "classification": classification,
                "licence": licence,
                "format": checked.format,
                "records": checked.records,
                "raw_sha256": checked.raw_sha256,
            },
        )
        _, created = raw.commit()  # on disk (fsync) before the dataset is
        with removed_on_failure(rt.incoming.path(checked.raw_sha256) if created else None):
            session.commit()
    log.info("dataset.received", dataset_id=dataset.id, records=dataset.records)
    return dataset


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
    """Receive a training file and scan it here, waiting: the dataset as it ended, `pending_review`.

    Raises `DatasetRejected` with the policy's reasons (and the residual findings by record) when it
    was refused, and the scan's error when it failed; either way the dataset stays, saying so.
    """
    owner = f"{actor.name}@{socket.gethostname()}:{os.getpid()}"
    received = receive_dataset(
        rt=rt,
        session=session,
        actor=actor,
        source=source,
        name=name,
        purpose=purpose,
        classification=classification,
        licence=licence,
        progress=progress,
        scanner=owner,
    )
    try:
        dataset = dataset_scans.scan_dataset(rt=rt, dataset_id=received.id, owner=owner, progress=progress)
    except BaseException:
        # Interrupted (Ctrl-C): hand the scan to the scan workers rather than leave it held.
        dataset_scans.release(rt=rt, dataset_id=received.id, owner=owner)
        raise
    if dataset.status == DatasetStatus.refused:
        raise dataset_scans.rejection(dataset)
    session.refresh(received)
    return received


def _visible(actor: User) -> str | None:
    """The team a user's listings are limited to; None means every team."""
    return actor.team if actor.role == Role.submitter else None


def list_datasets(
    *,
    rt: Runtime,
    session: Session,
    actor: User,
    status: DatasetStatus | None = None,
    limit: int = PAGE_DEFAULT,
    after: str | None = None,
) -> Listed[Dataset]:
    """The datasets `actor` may see (a submitter: their team's), oldest first, those in `status` only."""
    authorize(rt=rt, session=session, actor=actor, action="datasets.list", resource_type="dataset")
    return page(session, _visible_datasets(actor, status), Dataset, limit=limit, after=after)


def _visible_datasets(actor: User, status: DatasetStatus | None) -> Any:
    query = select(Dataset)
    if (team := _visible(actor)) is not None:
        query = query.where(col(Dataset.team) == team)
    if status is not None:
        query = query.where(col(Dataset.status) == status)
    return query


def review_queue(
    *, rt: Runtime, session: Session, actor: User, limit: int = PAGE_DEFAULT, after: str | None = None
) -> Listed[Dataset]:
    """The datasets waiting for `actor`'s review, oldest first: pending review, not uploaded by them,
    not reviewed by them yet (four eyes: the same person never counts twice)."""
    authorize(rt=rt, session=session, actor=actor, action="datasets.list", resource_type="dataset")
    reviewed = select(Approval.dataset_id).where(col(Approval.approver) == actor.name)
    query = _visible_datasets(actor, DatasetStatus.pending_review).where(
        col(Dataset.uploader) != actor.name, col(Dataset.id).not_in(reviewed)
    )
    return page(session, query, Dataset, limit=limit, after=after)


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


def permits(*, rt: Runtime, actor: User, dataset: Dataset, action: str) -> Decision:
    """What `ftgate.authz` would say of `actor` doing `action` on the dataset (its team, its uploader as
    owner), asked ahead and stored nowhere: a page's button says why it is not there; the action asks
    again."""
    return authz_permits(
        rt=rt, actor=actor, action=action, resource_type="dataset", team=dataset.team, owner=dataset.uploader
    )


def dataset_events(
    *, rt: Runtime, session: Session, actor: User, dataset_id: str, after: int = 0
) -> list[DatasetEvent]:
    dataset = get_dataset(rt=rt, session=session, actor=actor, dataset_id=dataset_id)
    return events_of(session=session, dataset=dataset, after=require(Cursor, after, "after"))


def events_of(*, session: Session, dataset: Dataset, after: int = 0) -> list[DatasetEvent]:
    """The scan events of a dataset the caller was already authorized to read, after `after`."""
    return dataset_scans.dataset_events(session=session, dataset_id=dataset.id, after=after)


def require_scanned(dataset: Dataset) -> str:
    """The redacted content hash of a dataset whose scan admitted it; `Conflict` while it is scanning, or
    when it was refused or failed (nothing of it is stored)."""
    if dataset.redacted_sha256 is None or dataset.status in (
        DatasetStatus.scanning,
        DatasetStatus.refused,
        DatasetStatus.failed,
    ):
        waiting = (
            "is still being scanned"
            if dataset.status == DatasetStatus.scanning
            else f"was {dataset.status.value}"
        )
        raise Conflict(
            f"dataset {dataset.id} {waiting}; nothing of it can be reviewed, downloaded or trained on"
        )
    return dataset.redacted_sha256


def dataset_file(*, rt: Runtime, session: Session, actor: User, dataset_id: str) -> Path:
    """The redacted JSONL, re-hashed before it is handed out."""
    dataset = get_dataset(
        rt=rt, session=session, actor=actor, dataset_id=dataset_id, action="datasets.download"
    )
    return rt.blobs.open_verified(require_scanned(dataset))


def dataset_detail(*, rt: Runtime, session: Session, actor: User, dataset_id: str) -> DatasetDetail:
    """A dataset, its reviews, and the rejections of the same content in other datasets: a file turned
    down once and uploaded again, byte for byte, does not come back to a reviewer unannounced."""
    return describe(
        session=session,
        actor=actor,
        dataset=get_dataset(rt=rt, session=session, actor=actor, dataset_id=dataset_id),
    )


def describe(*, session: Session, actor: User, dataset: Dataset) -> DatasetDetail:
    """`dataset_detail` of a dataset `actor` was already authorized to read."""
    reviews = [
        ApprovalPublic.model_validate(a) for a in list_approvals(session=session, dataset_id=dataset.id)
    ]
    return DatasetDetail(
        **DatasetPublic.model_validate(dataset).model_dump(),
        reviews=reviews,
        rejected_before=earlier_rejections(session=session, actor=actor, dataset=dataset),
    )


def earlier_rejections(*, session: Session, actor: User, dataset: Dataset) -> list[EarlierRejection]:
    """Rejections, in other datasets `actor` may see, of the same uploaded bytes or the same redacted
    content, oldest first."""
    same = col(Dataset.raw_sha256) == dataset.raw_sha256
    if dataset.redacted_sha256 is not None:
        same = or_(same, col(Approval.redacted_sha256) == dataset.redacted_sha256)
    query = (
        select(Approval)
        .join(Dataset, col(Dataset.id) == col(Approval.dataset_id))
        .where(col(Approval.verdict) == Verdict.rejected, col(Approval.dataset_id) != dataset.id, same)
        .order_by(col(Approval.created_at))
        .limit(PAGE_MAX)
    )
    if (team := _visible(actor)) is not None:
        query = query.where(col(Dataset.team) == team)
    return [EarlierRejection.model_validate(a) for a in session.exec(query)]


def list_approvals(*, session: Session, dataset_id: str) -> list[Approval]:
    query = select(Approval).where(col(Approval.dataset_id) == dataset_id).order_by(col(Approval.created_at))
    return list(session.exec(query))


def review_dataset(
    *, rt: Runtime, session: Session, actor: User, dataset_id: str, verdict: Verdict, note: str
) -> ApprovalPublic:
    """Approve or reject; the verdict is bound to the redacted content hash the reviewer saw.

    A rejection rejects the dataset. An approval approves it once its classification's approvals are
    all there (`ftgate.approvals`); until then it stays `pending_review`, and `waiting_for` says how
    many it has of how many."""
    action = "datasets.approve" if verdict == Verdict.approved else "datasets.reject"
    dataset = get_dataset(rt=rt, session=session, actor=actor, dataset_id=dataset_id, action=action)
    note = checked_note(rt=rt, note=note)
    redacted_sha256 = require_scanned(dataset)
    if dataset.status in (DatasetStatus.rejected, DatasetStatus.revoked):
        raise Conflict(
            f"dataset {dataset_id} was {dataset.status.value}; upload a corrected file as a new dataset"
        )
    if any(a.approver == actor.name for a in list_approvals(session=session, dataset_id=dataset_id)):
        raise Conflict(f"{actor.name} has already reviewed dataset {dataset_id}")
    # What is approved is what is stored: re-hash the blob now.
    rt.blobs.open_verified(redacted_sha256)
    admission_id = None
    if verdict == Verdict.approved:
        admission_id = _readmit(rt=rt, session=session, actor=actor, dataset=dataset)
    approval = Approval(
        dataset_id=dataset.id,
        approver=actor.name,
        verdict=verdict,
        note=note,
        redacted_sha256=redacted_sha256,
    )
    session.add(approval)
    session.flush()
    counted = None
    if verdict == Verdict.approved:
        counted = _count_approvals(rt=rt, session=session, actor=actor, dataset=dataset)
        # Approved once the classification's approvals are all there; until then it waits for more.
        dataset.status = DatasetStatus.approved if counted.allow else DatasetStatus.pending_review
    else:
        dataset.status = DatasetStatus.rejected
    session.add(dataset)
    session.flush()
    earlier = (
        earlier_rejections(session=session, actor=actor, dataset=dataset)
        if verdict == Verdict.approved
        else []
    )
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
            "approvals_decision_id": counted.id if counted is not None else None,
            "dataset_status": dataset.status.value,
            # Approved knowing that the same content was turned down before (the datasets that say so).
            "rejected_before": sorted({e.dataset_id for e in earlier}),
        },
    )
    public = ApprovalPublic.model_validate(approval)
    public.status, public.dataset_status = verdict.value, dataset.status.value
    if counted is not None and not counted.allow:
        public.waiting_for = "; ".join(r["message"] for r in counted.reasons)
    public.rejected_before = earlier
    return public


def _count_approvals(*, rt: Runtime, session: Session, actor: User, dataset: Dataset) -> PolicyDecisionRecord:
    """Ask `ftgate.approvals` whether the current content has the approvals its classification needs;
    the decision is stored (its reason says "1 of 2 approvals" while it has not)."""
    policy_input = _approvals_input(session=session, dataset=dataset)
    decision = rt.policy.decide("ftgate.approvals", policy_input)
    return record_decision(session=session, actor=actor.name, decision=decision, input=policy_input)


def approval_progress(*, rt: Runtime, session: Session, dataset: Dataset) -> Decision:
    """What `ftgate.approvals` says of the dataset now ("1 of 2 approvals"), stored nowhere: for a page
    that shows how far the review has come. The next review asks again, and keeps that decision."""
    return rt.policy.decide("ftgate.approvals", _approvals_input(session=session, dataset=dataset))


def _approvals_input(*, session: Session, dataset: Dataset) -> dict[str, Any]:
    return {
        "dataset": {
            "classification": dataset.classification,
            "uploader": dataset.uploader,
            "redacted_sha256": dataset.redacted_sha256,
        },
        "approvals": [
            {"approver": a.approver, "verdict": a.verdict.value, "redacted_sha256": a.redacted_sha256}
            for a in list_approvals(session=session, dataset_id=dataset.id)
        ],
    }


def revocation_preview(*, rt: Runtime, session: Session, actor: User, dataset_id: str) -> list[Adapter]:
    """The adapters trained on a dataset, which revoking it would quarantine (what `revoke_dataset`
    quarantines, read without changing anything)."""
    return trained_on(
        session=session, dataset=get_dataset(rt=rt, session=session, actor=actor, dataset_id=dataset_id)
    )


def trained_on(*, session: Session, dataset: Dataset) -> list[Adapter]:
    """`revocation_preview` of a dataset the caller was already authorized to read."""
    query = select(Adapter).where(col(Adapter.dataset_id) == dataset.id).order_by(col(Adapter.created_at))
    return list(session.exec(query.limit(PAGE_MAX)))


def admission_record(*, session: Session, dataset: Dataset) -> PolicyDecisionRecord:
    """The `ftgate.dataset` decision that admitted the upload: its input is the facts to re-decide on."""
    admission = session.get(PolicyDecisionRecord, dataset.decision_id) if dataset.decision_id else None
    if admission is None:
        raise NotFound(f"dataset {dataset.id} has no admission decision on record")
    return admission


def _readmit(*, rt: Runtime, session: Session, actor: User, dataset: Dataset) -> str:
    """Ask today's `ftgate.dataset` about the facts it admitted the upload on; refuse the approval if no.

    The rules may have changed since the upload (a licence taken off the allow-list, a purpose no longer
    allowed): an approval must not stand on an admission today's policy would refuse. The decision is
    stored either way; a refusal keeps it (and its log entry), no approval, and raises with every reason
    (`decisions.refuse`).
    """
    admission = admission_record(session=session, dataset=dataset)
    decision = rt.policy.decide("ftgate.dataset", admission.input)
    if not decision.allow:
        refuse(
            session=session,
            actor=actor.name,
            decision=decision,
            input=admission.input,
            error=lambda row: DatasetRejected(
                "today's admission policy no longer admits this dataset, so it cannot be approved: "
                + reasons_text(row.reasons),
                details={"decision_id": row.id, "reasons": row.reasons},
            ),
        )
    row = record_decision(session=session, actor=actor.name, decision=decision, input=admission.input)
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
    require_scanned(dataset)
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
