"""Job leases: who is training a job, until when, and how a dead worker's job is taken over.

A worker claims a job with a lease (owner + expiry) and keeps renewing it from a heartbeat thread
while it trains. A worker that dies (kill -9, lost host) stops renewing; once the lease has expired
any worker may claim the job again and resume it from its last checkpoint. Each claim counts as an
attempt; a job whose lease expired `max_attempts` times fails with that reason instead of being run
again, so a job that kills its worker cannot take the fleet down one worker at a time.

On PostgreSQL the claim query locks the row with `FOR UPDATE SKIP LOCKED`: concurrent workers each
see a different candidate and never block on one another. SQLite serialises writers, which is right
for its one-worker deployments.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, select

from audit import log as audit_log
from gateway.models import Job, JobEvent, JobStatus
from gateway.runtime import Runtime

log = structlog.get_logger()

DEFAULT_LEASE_SECONDS = 60.0
DEFAULT_MAX_ATTEMPTS = 3


def _now() -> datetime:
    return datetime.now(UTC)


def claim(*, rt: Runtime, owner: str, lease_seconds: float, max_attempts: int) -> Job | None:
    """Lease the oldest job that is queued or whose lease has expired; None when there is none.

    An expired job that has used up its attempts, or whose cancellation was asked for, is closed here
    (failed or cancelled, with its log entry) and the search goes on.
    """
    while True:
        with rt.session() as session:
            now = _now()
            query = (
                select(Job)
                .where(
                    or_(
                        col(Job.status) == JobStatus.queued,
                        and_(col(Job.status) == JobStatus.running, col(Job.lease_expires) < now),
                    )
                )
                .order_by(col(Job.created_at))
                .limit(1)
            )
            if rt.engine.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            job = session.exec(query).first()
            if job is None:
                return None
            previous = job.lease_owner if job.status == JobStatus.running else None
            if previous is not None and _close_abandoned(
                session=session, job=job, owner=owner, now=now, previous=previous, max_attempts=max_attempts
            ):
                continue  # closed in this transaction's commit; look for the next one
            job.status, job.lease_owner, job.lease_expires = (
                JobStatus.running,
                owner,
                now + timedelta(seconds=lease_seconds),
            )
            job.heartbeat_at = now
            job.attempts = (job.attempts or 0) + 1
            job.started_at = job.started_at or now
            session.add(job)
            payload = {"job_id": job.id, "worker": owner, "attempt": job.attempts}
            if previous is not None:
                payload["previous_worker"] = previous
                session.add(JobEvent(job_id=job.id, kind="reclaimed", data=payload))
            audit_log.append(
                session,
                actor=owner,
                action="job.reclaimed" if previous is not None else "job.started",
                subject=job.id,
                payload=payload,
            )
            return job


def _close_abandoned(
    *, session: Session, job: Job, owner: str, now: datetime, previous: str, max_attempts: int
) -> bool:
    """Close an expired job that must not run again; True if it was closed."""
    if job.cancel_requested_by is not None:
        status, action = JobStatus.cancelled, "job.cancelled"
        message = f"cancelled by {job.cancel_requested_by}; its worker {previous} stopped renewing its lease"
        data = {"by": job.cancel_requested_by, "error": message}
    elif (job.attempts or 0) >= max_attempts:
        status, action = JobStatus.failed, "job.failed"
        message = (
            f"worker lease expired on attempt {job.attempts} of {max_attempts} "
            f"(last worker {previous}); not retried"
        )
        data = {"error": message}
    else:
        return False
    job.status, job.error, job.finished_at, job.lease_owner = status, message, now, None
    session.add(job)
    session.add(JobEvent(job_id=job.id, kind=status.value, data=data))
    audit_log.append(
        session,
        actor=owner,
        action=action,
        subject=job.id,
        payload={"job_id": job.id, "code": "lease_expired", **data},
    )
    log.warning(action.replace("job.", "job.abandoned_"), job_id=job.id, attempts=job.attempts)
    return True


def renew(*, rt: Runtime, job_id: str, owner: str, lease_seconds: float) -> tuple[bool, str | None]:
    """Extend the lease if this worker still holds it; return (still held, who asked to cancel)."""
    with rt.session() as session:
        now = _now()
        result = session.execute(
            update(Job)
            .where(
                col(Job.id) == job_id,
                col(Job.lease_owner) == owner,
                col(Job.status) == JobStatus.running,
            )
            .values(lease_expires=now + timedelta(seconds=lease_seconds), heartbeat_at=now)
        )
        held = result.rowcount == 1  # type: ignore[attr-defined]
        cancel_by = session.exec(select(Job.cancel_requested_by).where(col(Job.id) == job_id)).first()
    return held, cancel_by


class LeaseLost(Exception):
    """Another worker holds the job now (this one stalled past its lease); stop without touching it."""


class JobCancelled(Exception):
    """Someone asked to stop the job; raised from the trainer's event callback to end the run."""

    def __init__(self, by: str) -> None:
        super().__init__(f"cancelled by {by}")
        self.by = by


class Heartbeat:
    """Renews a job's lease from a background thread while the job trains.

    A thread rather than renewing on each training step: one step on a large model can outlast a
    lease, and a worker that is alive must not lose its job for being slow. `check()` is called from
    the trainer's event callback and raises when the job was cancelled or the lease was lost.
    """

    def __init__(
        self,
        *,
        rt: Runtime,
        job_id: str,
        owner: str,
        lease_seconds: float,
        renewer: Callable[..., tuple[bool, str | None]] | None = None,
    ) -> None:
        """`renewer`: how the lease is renewed, `renew` (a job's) by default; a dataset scan passes its
        own (`dataset_scans.renew`), with the same arguments and result."""
        self.rt, self.job_id, self.owner, self.lease_seconds = rt, job_id, owner, lease_seconds
        self._renew = renewer or renew
        self.lost = False
        self.cancel_by: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def __enter__(self) -> Heartbeat:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def beat(self) -> None:
        """Renew once now."""
        held, cancel_by = self._renew(
            rt=self.rt, job_id=self.job_id, owner=self.owner, lease_seconds=self.lease_seconds
        )
        self.lost = self.lost or not held
        self.cancel_by = cancel_by

    def _run(self) -> None:
        # Three renewals per lease: one slow database round trip cannot make the lease lapse.
        while not self._stop.wait(self.lease_seconds / 3):
            try:
                self.beat()
            except Exception as error:  # a database blip: try again next beat; the lease has slack
                log.warning("job.heartbeat_failed", job_id=self.job_id, error=type(error).__name__)
            if self.lost:
                return

    def check(self) -> None:
        """Raise if training must stop: the lease went to another worker, or a cancel was asked for."""
        if self.lost:
            raise LeaseLost(f"job {self.job_id}: lease lost to another worker")
        if self.cancel_by is not None:
            raise JobCancelled(self.cancel_by)
