"""Scanning a received dataset: leases, progress events, admission, and how a scan ends.

An upload is received first (`datasets.receive_dataset`): its bytes validated, hashed and kept under
`FTGATE_HOME/incoming` until the scan ends, the dataset `scanning`. A scan worker (`ftgate serve`
starts them; `ftgate worker --scan` on hosts that only scan; the CLI scans its own upload while it
waits) claims it under a lease it renews from a heartbeat thread, redacts it, asks the admission
policy, and ends it as `pending_review`, `refused` (the policy's reasons) or `failed` (why the scan
could not finish). Whatever the end, the received bytes are removed: raw records live no longer than
their scan.

A worker that dies stops renewing; once the lease has expired another claims the scan and starts it
again from the received file. A scan whose worker died `max_attempts` times, or whose received file is
gone, fails with that reason: a restart never leaves a dataset `scanning` for good.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import structlog
from sqlalchemy import and_, func, or_, update
from sqlmodel import Session, col, select

from audit import log as audit_log
from ftgate_core.files import removed_on_failure
from gateway.errors import DatasetRejected, FtgateError, NotFound, TooBusy
from gateway.formats import jsonl_line, read_training_records
from gateway.leases import Heartbeat, LeaseLost
from gateway.models import Dataset, DatasetEvent, DatasetStatus, PolicyDecisionRecord, User
from gateway.policy.engine import Decision
from gateway.runtime import Runtime
from gateway.services.decisions import reasons_text, record_decision, refuse
from gateway.store.blobs import SWEEP_MIN_AGE_S, TEMP_PREFIX, BlobWriter

log = structlog.get_logger()

DEFAULT_LEASE_SECONDS = 60.0
DEFAULT_MAX_ATTEMPTS = 3
# Progress is written as an event at most this often per pass (and whenever a pass starts or ends).
EVENT_INTERVAL_S = 1.0


class ReceivedFileLost(FtgateError):
    code = "received_file_lost"
    http_status = 409


def _now() -> datetime:
    return datetime.now(UTC)


def add_event(session: Session, dataset_id: str, kind: str, **data: Any) -> None:
    session.add(DatasetEvent(dataset_id=dataset_id, kind=kind, data=data))


def scans_running(session: Session, uploader: str) -> int:
    query = select(func.count()).where(
        col(Dataset.uploader) == uploader, col(Dataset.status) == DatasetStatus.scanning
    )
    return int(session.exec(query).one())


def refuse_if_busy(*, rt: Runtime, session: Session, uploader: str) -> None:
    """`TooBusy` when `uploader` already has `max_scans_per_user` datasets being scanned, across every
    server and worker that shares the database."""
    running = scans_running(session, uploader)
    limit = rt.settings.max_scans_per_user
    if running >= limit:
        raise TooBusy(
            f"{uploader} already has {running} uploads being scanned, the most allowed one user at once; "
            "try again when one has finished",
            retry_after=10,
            details={"limit": limit},
        )


def waiting(rt: Runtime) -> int:
    """How many datasets are `scanning` (waiting for a worker, or held by one)."""
    with rt.session() as session:
        query = select(func.count()).where(col(Dataset.status) == DatasetStatus.scanning)
        return int(session.exec(query).one())


def sweep_received(rt: Runtime) -> int:
    """Remove received files no scan needs (a crash between storing one and registering its dataset) and
    the temporaries of receivers that died; returns how many. Called when serve and workers start."""
    removed = rt.incoming.sweep()
    root = rt.incoming.root / "sha256"
    if not root.is_dir():
        return removed
    with rt.session() as session:
        query = select(Dataset.raw_sha256).where(col(Dataset.status) == DatasetStatus.scanning)
        needed = set(session.exec(query))
    cutoff = time.time() - SWEEP_MIN_AGE_S
    for path in root.glob("*/*"):
        if path.name.startswith(TEMP_PREFIX) or path.name in needed:
            continue
        try:
            if path.stat().st_mtime < cutoff:  # a younger one may be about to be registered
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def hold(dataset: Dataset, owner: str, lease_seconds: float) -> None:
    """Give the scan of `dataset` to `owner` (the caller commits)."""
    dataset.lease_owner = owner
    dataset.lease_expires = _now() + timedelta(seconds=lease_seconds)
    dataset.scan_attempts = (dataset.scan_attempts or 0) + 1


def claim(
    *,
    rt: Runtime,
    owner: str,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> str | None:
    """Lease the oldest dataset waiting for a scan, or whose scan's lease expired; its id, or None.

    A scan that has used up its attempts is failed here, with its log entry, and the search goes on.
    """
    while True:
        with rt.session() as session:
            now = _now()
            query = (
                select(Dataset)
                .where(
                    col(Dataset.status) == DatasetStatus.scanning,
                    or_(col(Dataset.lease_owner).is_(None), col(Dataset.lease_expires) < now),
                )
                .order_by(col(Dataset.created_at))
                .limit(1)
            )
            if rt.engine.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            dataset = session.exec(query).first() or _held_by_the_dead(rt, session)
            if dataset is None:
                return None
            previous = dataset.lease_owner
            if previous is not None and (dataset.scan_attempts or 0) >= max_attempts:
                _fail(
                    rt=rt,
                    session=session,
                    dataset=dataset,
                    code="scan_abandoned",
                    message=f"its scan worker stopped on each of {dataset.scan_attempts} attempts "
                    f"(last {previous}); not tried again",
                )
                discard_received(rt, dataset.raw_sha256)  # no scan of it runs again
                continue
            hold(dataset, owner, lease_seconds)
            session.add(dataset)
            add_event(
                session,
                dataset.id,
                "started",
                worker=owner,
                attempt=dataset.scan_attempts,
                **({"previous_worker": previous} if previous else {}),
            )
            session.commit()
            return dataset.id


def _held_by_the_dead(rt: Runtime, session: Session) -> Dataset | None:
    """A scan whose lease has not expired but whose worker, on this host, is no longer running (killed
    with the server): claimed at once rather than after its lease. A pid reused by another process
    only makes the scan wait for its lease, as on another host."""
    host = socket.gethostname()
    query = (
        select(Dataset)
        .where(col(Dataset.status) == DatasetStatus.scanning, col(Dataset.lease_owner).like(f"%@{host}:%"))
        .order_by(col(Dataset.created_at))
        .limit(100)
    )
    if rt.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    for dataset in session.exec(query):
        pid = (dataset.lease_owner or "").rsplit(":", 1)[-1]
        if pid.isdigit() and not _running(int(pid)):
            return dataset
    return None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def renew(*, rt: Runtime, job_id: str, owner: str, lease_seconds: float) -> tuple[bool, str | None]:
    """Extend the scan's lease if `owner` still holds it (the `Heartbeat` interface: no cancel)."""
    with rt.session() as session:
        result = session.execute(
            update(Dataset)
            .where(
                and_(
                    col(Dataset.id) == job_id,
                    col(Dataset.lease_owner) == owner,
                    col(Dataset.status) == DatasetStatus.scanning,
                )
            )
            .values(lease_expires=_now() + timedelta(seconds=lease_seconds))
        )
    return result.rowcount == 1, None  # type: ignore[attr-defined]


def release(*, rt: Runtime, dataset_id: str, owner: str) -> None:
    """Give up a scan this worker holds (it is stopping): the next worker claims it at once."""
    with rt.session() as session:
        session.execute(
            update(Dataset)
            .where(
                and_(
                    col(Dataset.id) == dataset_id,
                    col(Dataset.lease_owner) == owner,
                    col(Dataset.status) == DatasetStatus.scanning,
                )
            )
            .values(lease_expires=_now(), scan_attempts=Dataset.scan_attempts - 1)
        )


class _Events:
    """The scan's progress as events: each pass's start and end, and at most one a second between.

    Each is written only while `owner` still holds the scan: a worker whose lease another took over
    (stalled past it) writes no progress into a scan that goes on, or has ended, elsewhere, and stops
    there: `LeaseLost` ends its scan, touching nothing, instead of analysing on for nothing.
    """

    def __init__(self, rt: Runtime, dataset_id: str, owner: str, echo: Progress | None) -> None:
        self.rt, self.dataset_id, self.owner, self.echo = rt, dataset_id, owner, echo
        self.phase: str | None = None
        self.last = 0.0

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        if self.echo is not None:
            self.echo(phase, done, total)
        now = time.monotonic()
        finished = total is not None and done >= total
        if phase == self.phase and not finished and now - self.last < EVENT_INTERVAL_S:
            return
        self.phase, self.last = phase, now
        with self.rt.session() as session:
            if not _holds(session, self.dataset_id, self.owner):
                raise LeaseLost(f"dataset {self.dataset_id}: scan lease lost to another worker")
            add_event(session, self.dataset_id, "progress", phase=phase, done=done, total=total)
            session.commit()


Progress = Callable[[str, int, int | None], None]


def scan_dataset(
    *,
    rt: Runtime,
    dataset_id: str,
    owner: str,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    progress: Progress | None = None,
) -> Dataset:
    """Scan a dataset `owner` holds the lease of, and end it: `pending_review`, `refused` or `failed`.

    Returns the dataset as it ended. Raises `LeaseLost` (touching nothing) if another worker took the
    scan over meanwhile.
    """
    with rt.session() as session:
        dataset = session.get(Dataset, dataset_id)
        if dataset is None:
            raise NotFound(f"no dataset {dataset_id!r}")
        received = dataset.raw_sha256
        total = dataset.records
    heartbeat = Heartbeat(rt=rt, job_id=dataset_id, owner=owner, lease_seconds=lease_seconds, renewer=renew)
    try:
        with heartbeat, _received(rt, received) as raw, rt.blobs.writer() as redacted:
            kept = 0

            def write(record: dict[str, Any]) -> None:
                nonlocal kept
                redacted.write(jsonl_line(record))
                kept += 1  # records whose drop_record entity left them out are not stored

            report = rt.scanner.scan_stream(  # raises RedactionError: fail closed
                lambda: read_training_records(raw),
                write,
                progress=_Events(rt, dataset_id, owner, progress),
                total=total,
            )
            heartbeat.stop()
            if heartbeat.lost:
                raise LeaseLost(f"dataset {dataset_id}: scan lease lost to another worker")
            with rt.session() as session:
                dataset = _held(session, dataset_id, owner)
                _admit(
                    rt=rt,
                    session=session,
                    dataset=dataset,
                    report=report.model_dump(),
                    kept=kept,
                    redacted=redacted,
                )
                session.refresh(dataset)
                return dataset
    except (LeaseLost, DatasetRejected):
        raise
    except FtgateError as error:
        _end_in_failure(
            rt=rt,
            dataset_id=dataset_id,
            owner=owner,
            code=error.code,
            message=error.message,
            details=error.details,
        )
        raise
    except Exception as error:
        log.exception("dataset.scan_crashed", dataset_id=dataset_id)
        _end_in_failure(
            rt=rt,
            dataset_id=dataset_id,
            owner=owner,
            code="scan_failed",
            message=f"the scan failed ({type(error).__name__}); nothing of the upload was kept",
        )
        raise
    finally:
        discard_received(rt, received)


@contextmanager
def _received(rt: Runtime, raw_sha256: str) -> Iterator[IO[bytes]]:
    """The received bytes, re-hashed: a file changed or lost since it was received fails the scan."""
    try:
        path = rt.incoming.open_verified(raw_sha256)
    except NotFound:
        raise ReceivedFileLost(
            "the received file is gone (removed, or lost with its disk); upload it again"
        ) from None
    with path.open("rb") as raw:
        yield raw


def discard_received(rt: Runtime, raw_sha256: str) -> None:
    """Remove received bytes once no scan needs them (the same file may be uploaded twice at once)."""
    with rt.session() as session:
        query = select(func.count()).where(
            col(Dataset.raw_sha256) == raw_sha256, col(Dataset.status) == DatasetStatus.scanning
        )
        if int(session.exec(query).one()) == 0:
            rt.incoming.remove(raw_sha256)


def _holds(session: Session, dataset_id: str, owner: str) -> Dataset | None:
    """The dataset if `owner` still holds its scan, else None."""
    dataset = session.get(Dataset, dataset_id)
    if dataset is None or dataset.status != DatasetStatus.scanning or dataset.lease_owner != owner:
        return None
    return dataset


def _held(session: Session, dataset_id: str, owner: str) -> Dataset:
    dataset = _holds(session, dataset_id, owner)
    if dataset is None:
        raise LeaseLost(f"dataset {dataset_id}: scan lease lost to another worker")
    return dataset


def _end_in_failure(
    *, rt: Runtime, dataset_id: str, owner: str, code: str, message: str, details: Any = None
) -> None:
    with rt.session() as session:
        try:
            dataset = _held(session, dataset_id, owner)
        except LeaseLost:
            return  # another worker has it now: it decides how the scan ends
        _fail(rt=rt, session=session, dataset=dataset, code=code, message=message, details=details)


def _fail(
    *, rt: Runtime, session: Session, dataset: Dataset, code: str, message: str, details: Any = None
) -> None:
    """End a scan as `failed` with why, its event and its log entry, and commit."""
    error = {"code": code, "message": message, **({"details": details} if details is not None else {})}
    dataset.status, dataset.error, dataset.lease_owner = DatasetStatus.failed, error, None
    dataset.scanned_at = _now()
    session.add(dataset)
    add_event(session, dataset.id, "failed", **error)
    audit_log.append(
        session,
        actor=dataset.uploader,
        action="dataset.failed",
        subject=dataset.id,
        payload={"dataset_id": dataset.id, "raw_sha256": dataset.raw_sha256, **error},
    )
    session.commit()
    log.warning("dataset.failed", dataset_id=dataset.id, code=code)


# The scan's facts before there is a scan: nothing found, nothing left.
NOT_SCANNED = {
    "entities": {},
    "records_changed": 0,
    "records_dropped": 0,
    "residual_findings": 0,
    "residual_records": 0,
}


def admission_input(
    *, dataset: Dataset, role: str, records: int, report: dict[str, Any] | None
) -> dict[str, Any]:
    """What `ftgate.dataset` decides on: who uploads, what they declared, and what the scan found
    (`report`; None before the scan, for the pre-check)."""
    scan = NOT_SCANNED if report is None else {key: report[key] for key in NOT_SCANNED}
    return {
        "subject": {"name": dataset.uploader, "role": role, "team": dataset.team},
        "dataset": {
            "name": dataset.name,
            "team": dataset.team,
            "purpose": dataset.purpose,
            "classification": dataset.classification,
            "licence": dataset.licence,
            "records": records,
        },
        "scan": scan,
    }


def precheck(*, rt: Runtime, session: Session, dataset: Dataset, role: str) -> None:
    """Ask `ftgate.dataset` about what is known before the scan (purpose, classification, licence, team,
    records received), so that a declaration the policy refuses is refused at once, not after minutes
    of scanning. A refusal is recorded (the decision and `dataset.refused`, no dataset) and raised
    (`decisions.refuse`); an allow is not recorded: the admission after the scan decides, on every fact."""
    policy_input = admission_input(dataset=dataset, role=role, records=dataset.records, report=None)
    decision = rt.policy.decide("ftgate.dataset", policy_input)
    if decision.allow:
        return
    uploader, raw_sha256 = dataset.uploader, dataset.raw_sha256

    def refused(row: PolicyDecisionRecord) -> None:
        audit_log.append(
            session,
            actor=uploader,
            action="dataset.refused",
            subject=row.id,
            payload={"decision_id": row.id, "raw_sha256": raw_sha256, "before_scan": True},
        )

    refuse(
        session=session,
        actor=uploader,
        decision=decision,
        input=policy_input,
        also=refused,
        error=lambda row: DatasetRejected(
            "dataset refused by policy before its scan: " + reasons_text(row.reasons),
            details={"decision_id": row.id, "reasons": row.reasons},
        ),
    )


def _admit(
    *,
    rt: Runtime,
    session: Session,
    dataset: Dataset,
    report: dict[str, Any],
    kept: int,
    redacted: BlobWriter,
) -> None:
    """Ask the admission policy; end the scan as `pending_review` with its blob, or as `refused`.

    Either way the decision, the dataset's new state, its event and its log entry commit together.
    """
    decision, decision_row = _decide_admission(
        rt=rt, session=session, dataset=dataset, report=report, kept=kept
    )
    dataset.decision_id, dataset.scanned_at, dataset.lease_owner = decision_row.id, _now(), None
    if decision.allow:
        _end_admitted(
            rt=rt,
            session=session,
            dataset=dataset,
            report=report,
            kept=kept,
            redacted=redacted,
            decision_row=decision_row,
        )
    else:
        _end_refused(
            session=session, dataset=dataset, report=report, redacted=redacted, decision_row=decision_row
        )


def _decide_admission(
    *, rt: Runtime, session: Session, dataset: Dataset, report: dict[str, Any], kept: int
) -> tuple[Decision, PolicyDecisionRecord]:
    """`ftgate.dataset` on every fact, the scan's included; the decision is stored and logged."""
    uploader = session.exec(select(User).where(col(User.name) == dataset.uploader)).first()
    policy_input = admission_input(
        dataset=dataset,
        role=uploader.role.value if uploader is not None else "unknown",
        records=kept,
        report=report,
    )
    decision = rt.policy.decide("ftgate.dataset", policy_input)
    return decision, record_decision(
        session=session, actor=dataset.uploader, decision=decision, input=policy_input
    )


def _without_sample(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "sample"}


def _end_refused(
    *,
    session: Session,
    dataset: Dataset,
    report: dict[str, Any],
    redacted: BlobWriter,
    decision_row: PolicyDecisionRecord,
) -> None:
    """End the scan as `refused`: the redacted copy discarded, the policy's reasons (and where redaction
    left personal data) kept on the dataset for its uploader; committed."""
    redacted_sha256 = redacted.sha256
    redacted.discard()
    reasons = decision_row.reasons
    details: dict[str, Any] = {"decision_id": decision_row.id, "reasons": reasons}
    if report["residual"]:
        # Where redaction left personal data, by record, field and type (never the value), so the
        # uploader can fix exactly those records, or compliance can choose to drop them.
        details["residual"] = report["residual"]
        details["residual_check"] = report["residual_check"]
    message = "dataset refused by policy: " + reasons_text(reasons)
    dataset.status = DatasetStatus.refused
    dataset.error = {"code": DatasetRejected.code, "message": message, "details": details}
    dataset.scan_report = _without_sample(report)
    session.add(dataset)
    add_event(session, dataset.id, "refused", message=message, decision_id=decision_row.id)
    audit_log.append(
        session,
        actor=dataset.uploader,
        action="dataset.refused",
        subject=dataset.id,
        payload={
            "dataset_id": dataset.id,
            "decision_id": decision_row.id,
            "raw_sha256": dataset.raw_sha256,
            "redacted_sha256": redacted_sha256,
        },
    )
    session.commit()
    log.info("dataset.refused", dataset_id=dataset.id, decision_id=decision_row.id)


def _end_admitted(
    *,
    rt: Runtime,
    session: Session,
    dataset: Dataset,
    report: dict[str, Any],
    kept: int,
    redacted: BlobWriter,
    decision_row: PolicyDecisionRecord,
) -> None:
    """End the scan as `pending_review`: the redacted blob stored (removed again if the dataset's row
    does not commit), the scan report and `dataset.uploaded` with every fact a reviewer needs."""
    redacted_sha256 = redacted.sha256
    dataset.status = DatasetStatus.pending_review
    dataset.records = kept
    dataset.redacted_sha256, dataset.redacted_bytes = redacted_sha256, redacted.size
    dataset.scan_report = report
    session.add(dataset)
    add_event(session, dataset.id, "pending_review", records=kept, redacted_sha256=redacted_sha256)
    audit_log.append(
        session,
        actor=dataset.uploader,
        action="dataset.uploaded",
        subject=dataset.id,
        payload={
            "dataset_id": dataset.id,
            "name": dataset.name,
            "team": dataset.team,
            "uploader": dataset.uploader,
            "purpose": dataset.purpose,
            "classification": dataset.classification,
            "licence": dataset.licence,
            "format": dataset.format,
            "records": kept,
            "raw_sha256": dataset.raw_sha256,
            "redacted_sha256": redacted_sha256,
            "scan": _without_sample(report),
            "decision_id": decision_row.id,
            "bundle_sha256": decision_row.bundle_sha256,
        },
    )
    _, created = redacted.commit()
    with removed_on_failure(rt.blobs.path(redacted_sha256) if created else None):
        session.commit()
    log.info("dataset.uploaded", dataset_id=dataset.id, records=kept, redacted_sha256=redacted_sha256)


def rejection(dataset: Dataset) -> DatasetRejected:
    """The error a refused dataset's uploader sees, as the scan recorded it."""
    error = dataset.error or {}
    return DatasetRejected(error.get("message", "dataset refused by policy"), details=error.get("details"))


def dataset_events(*, session: Session, dataset_id: str, after: int = 0) -> list[DatasetEvent]:
    query = (
        select(DatasetEvent)
        .where(col(DatasetEvent.dataset_id) == dataset_id, col(DatasetEvent.id) > after)
        .order_by(col(DatasetEvent.id))
    )
    return list(session.exec(query))
