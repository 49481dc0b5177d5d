"""The review queue: jobs the training policy held for sign-off (restricted data, large jobs)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from audit import log as audit_log
from gateway.contract import PAGE_DEFAULT, ResourceId, require
from gateway.errors import Conflict, NotFound
from gateway.models import Job, JobEvent, JobStatus, User, Verdict
from gateway.runtime import Runtime
from gateway.services.authz import authorize
from gateway.services.free_text import checked_note
from gateway.store.pages import Listed, page


def review_queue(
    *, rt: Runtime, session: Session, actor: User, limit: int = PAGE_DEFAULT, after: str | None = None
) -> Listed[Job]:
    """Jobs held for sign-off, oldest first (a submitter sees their team's)."""
    authorize(rt=rt, session=session, actor=actor, action="jobs.list", resource_type="job")
    query = select(Job).where(col(Job.status) == JobStatus.pending_review)
    if actor.role == "submitter":
        query = query.where(col(Job.team) == actor.team)
    return page(session, query, Job, limit=limit, after=after)


def review_job(
    *, rt: Runtime, session: Session, actor: User, job_id: str, verdict: Verdict, note: str
) -> Job:
    """Sign off (queue it) or turn down a held job; never the submitter's own (four eyes)."""
    job = session.get(Job, require(ResourceId, job_id, "job_id"))
    if job is None:
        raise NotFound(f"no job {job_id!r}")
    action = "jobs.approve" if verdict == Verdict.approved else "jobs.reject"
    authorize(
        rt=rt,
        session=session,
        actor=actor,
        action=action,
        resource_type="job",
        team=job.team,
        owner=job.submitter,
    )
    note = checked_note(rt=rt, note=note)
    if job.status != JobStatus.pending_review:
        raise Conflict(f"job {job_id} is {job.status.value}, not waiting for review")
    kind = "review_approved" if verdict == Verdict.approved else "review_rejected"
    job.status = JobStatus.queued if verdict == Verdict.approved else JobStatus.rejected
    job.reviewed_by = actor.name
    if verdict == Verdict.rejected:
        # The submitter reads why on the job itself (`jobs show`, `jobs logs`), not only in the log.
        job.error = f"rejected by {actor.name}: {note}"
    session.add(job)
    session.add(JobEvent(job_id=job.id, kind=kind, data={"reviewer": actor.name, "note": note}))
    audit_log.append(
        session,
        actor=actor.name,
        action=f"job.{kind}",
        subject=job.id,
        payload={"job_id": job.id, "reviewer": actor.name, "verdict": verdict.value, "note": note},
    )
    return job
