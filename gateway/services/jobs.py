"""Submitting training jobs through the `ftgate.training` policy, and reading them back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from audit import log as audit_log
from gateway.contract import PAGE_DEFAULT, Cursor, Handle, ResourceId, field_errors, require
from gateway.errors import Conflict, InvalidInput, NotFound, PolicyDenied
from gateway.models import BaseModelEntry, Dataset, Job, JobEvent, JobStatus, Role, User, utcnow
from gateway.policy.engine import Decision
from gateway.runtime import Runtime
from gateway.services.authz import authorize
from gateway.services.authz import permits as authz_permits
from gateway.services.costs import estimate_job, team_usage
from gateway.services.datasets import list_approvals, require_scanned
from gateway.services.decisions import reasons_text, record_decision, refuse
from gateway.services.free_text import ensure_no_pii
from gateway.store.pages import Listed, page
from trainer.config import TrainConfig


@dataclass
class SubmitResult:
    decision: Decision
    decision_id: str | None
    job: Job | None
    estimate: dict[str, Any]
    """The cost estimate the decision saw, with the team's usage this month (`team_usage`) and, where
    the policy says, its monthly budget and what is left of it before this job (`team_budget`)."""


def parse_config(values: dict[str, Any]) -> TrainConfig:
    """Validate training settings; the message names each bad field."""
    try:
        return TrainConfig(**{k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        errors = field_errors(exc.errors(include_input=False, include_url=False), prefix=("config",))
        problems = [f"{e['field'].removeprefix('config.')}: {e['message']}" for e in errors]
        summary = "invalid training settings: " + "; ".join(problems)
        raise InvalidInput(summary, details={"errors": errors}) from None


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back naive; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def training_input(
    *,
    rt: Runtime,
    session: Session,
    actor: User,
    dataset: Dataset,
    base_model: str,
    config: TrainConfig,
    job_id: str | None = None,
) -> dict[str, Any]:
    """The facts `ftgate.training` decides on; built the same way at submit and right before training.

    `job_id` names the job being re-checked by the worker, so that its own estimate is not counted
    in the team's usage it is judged against.
    """
    entry = session.get(BaseModelEntry, base_model)
    now = datetime.now(UTC)
    parameters = entry.parameters if entry else None
    estimate = estimate_job(
        dataset=dataset,
        parameters=parameters,
        config=config,
        gpu_effective_tflops=rt.settings.gpu_effective_tflops,
    )
    return {
        "subject": {"name": actor.name, "role": actor.role.value, "team": actor.team},
        "dataset": {
            "id": dataset.id,
            "name": dataset.name,
            "team": dataset.team,
            "uploader": dataset.uploader,
            "status": dataset.status.value,
            "purpose": dataset.purpose,
            "classification": dataset.classification,
            "records": dataset.records,
            "redacted_sha256": dataset.redacted_sha256,
        },
        "approvals": [
            {
                "approver": a.approver,
                "verdict": a.verdict.value,
                "redacted_sha256": a.redacted_sha256,
                # The age, not a timestamp: the stored input then replays to the same decision.
                "age_days": round((now - _aware(a.created_at)).total_seconds() / 86400, 3),
            }
            for a in list_approvals(session=session, dataset_id=dataset.id)
        ],
        "base_model": {
            "name": base_model,
            "registered": entry is not None,
            "weights_sha256": entry.weights_sha256 if entry else None,
            "parameters": parameters,
        },
        "config": config.model_dump(mode="json"),
        "estimate": estimate,
        "team_usage": team_usage(session=session, team=dataset.team, now=now, exclude_job=job_id),
    }


def _team_budget(fact: Any) -> dict[str, Any] | None:
    """The policy's `budget` fact, if it has the shape the forms show ({gpu_hours_per_month,
    remaining, month}); None otherwise (a policy without one, an engine that failed)."""
    if not isinstance(fact, dict):
        return None
    numbers = [fact.get("gpu_hours_per_month"), fact.get("remaining")]
    if not all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers):
        return None
    return {"gpu_hours_per_month": numbers[0], "remaining": numbers[1], "month": str(fact.get("month", ""))}


def submit_job(
    *,
    rt: Runtime,
    session: Session,
    actor: User,
    dataset_id: str,
    base_model: str,
    config: TrainConfig,
    dry_run: bool = False,
) -> SubmitResult:
    """Decide a training request. A dry run stores nothing; a denied request creates no job."""
    base_model = require(Handle, base_model, "base_model")
    dataset = session.get(Dataset, require(ResourceId, dataset_id, "dataset_id"))
    if dataset is None:
        raise NotFound(f"no dataset {dataset_id!r}")
    authorize(
        rt=rt,
        session=session,
        actor=actor,
        action="jobs.submit",
        resource_type="job",
        team=dataset.team,
        owner=actor.name,
    )
    approved_sha256 = require_scanned(dataset)
    if session.get(BaseModelEntry, base_model) is None:
        # A catalog name is in the log already; any other is new text the decision would keep for good
        # (it is denied as unregistered anyway, so a false finding costs only the other reasons).
        ensure_no_pii(rt=rt, fields={"base_model": base_model})
    policy_input = training_input(
        rt=rt, session=session, actor=actor, dataset=dataset, base_model=base_model, config=config
    )
    decision = rt.policy.decide("ftgate.training", policy_input)
    estimate = {
        **policy_input["estimate"],
        "team_usage": policy_input["team_usage"],
        "team_budget": _team_budget(rt.policy.value("ftgate.training", "budget", policy_input)),
    }
    if dry_run:
        # Stored nowhere, but in the decision log, marked as a dry run.
        rt.decision_log.dry_run(actor=actor.name, decision=decision, input=policy_input)
        return SubmitResult(decision=decision, decision_id=None, job=None, estimate=estimate)

    if not decision.allow:  # the refusal is on the record; no job is created
        refuse(
            session=session,
            actor=actor.name,
            decision=decision,
            input=policy_input,
            error=lambda row: PolicyDenied(
                "training request denied: " + reasons_text(row.reasons),
                details={
                    "decision_id": row.id,
                    "reasons": row.reasons,
                    "bundle_sha256": decision.bundle_sha256,
                    "estimate": estimate,
                },
            ),
        )
    row = record_decision(session=session, actor=actor.name, decision=decision, input=policy_input)
    job = Job(
        dataset_id=dataset.id,
        submitter=actor.name,
        team=dataset.team,
        base_model=base_model,
        config=config.model_dump(mode="json"),
        decision_id=row.id,
        approved_sha256=approved_sha256,
        # A decision that asks for review holds the job until an approver signs it off.
        status=JobStatus.pending_review if decision.review else JobStatus.queued,
        estimated_gpu_hours=policy_input["estimate"]["gpu_hours"] or 0.0,
    )
    session.add(job)
    session.flush()
    audit_log.append(
        session,
        actor=actor.name,
        action="job.submitted",
        subject=job.id,
        payload={
            "job_id": job.id,
            "dataset_id": dataset.id,
            "redacted_sha256": dataset.redacted_sha256,
            "base_model": base_model,
            "base_weights_sha256": policy_input["base_model"]["weights_sha256"],
            "config": job.config,
            "decision_id": row.id,
            "bundle_sha256": decision.bundle_sha256,
            "status": job.status.value,
            "warnings": row.warnings,
            "review": row.review,
        },
    )
    return SubmitResult(decision=decision, decision_id=row.id, job=job, estimate=estimate)


def list_jobs(
    *,
    rt: Runtime,
    session: Session,
    actor: User,
    status: JobStatus | None = None,
    limit: int = PAGE_DEFAULT,
    after: str | None = None,
) -> Listed[Job]:
    """The jobs `actor` may see (a submitter: their team's), oldest first, those in `status` only."""
    authorize(rt=rt, session=session, actor=actor, action="jobs.list", resource_type="job")
    query = select(Job)
    if actor.role == Role.submitter:
        query = query.where(col(Job.team) == actor.team)
    if status is not None:
        query = query.where(col(Job.status) == status)
    return page(session, query, Job, limit=limit, after=after)


def get_job(*, rt: Runtime, session: Session, actor: User, job_id: str) -> Job:
    job = session.get(Job, require(ResourceId, job_id, "job_id"))
    if job is None:
        raise NotFound(f"no job {job_id!r}")
    authorize(
        rt=rt,
        session=session,
        actor=actor,
        action="jobs.read",
        resource_type="job",
        team=job.team,
        owner=job.submitter,
    )
    return job


def permits(*, rt: Runtime, actor: User, job: Job, action: str) -> Decision:
    """What `ftgate.authz` would say of `actor` doing `action` on the job (its team, its submitter as
    owner), asked ahead and stored nowhere; the action asks again."""
    return authz_permits(
        rt=rt, actor=actor, action=action, resource_type="job", team=job.team, owner=job.submitter
    )


def job_events(*, rt: Runtime, session: Session, actor: User, job_id: str, after: int = 0) -> list[JobEvent]:
    get_job(rt=rt, session=session, actor=actor, job_id=job_id)
    after = require(Cursor, after, "after")
    query = (
        select(JobEvent)
        .where(col(JobEvent.job_id) == job_id, col(JobEvent.id) > after)
        .order_by(col(JobEvent.id))
    )
    return list(session.exec(query))


def cancel_job(*, rt: Runtime, session: Session, actor: User, job_id: str) -> Job:
    """Stop a job: a queued one is cancelled at once; a running one is asked to stop.

    The worker sees the request at its next heartbeat, stops training at the next step and records
    `job.cancelled`; a worker that died meanwhile leaves the job to be closed as cancelled when its
    lease expires. Both the request and the outcome are in the log.
    """
    job = get_job(rt=rt, session=session, actor=actor, job_id=job_id)
    authorize(
        rt=rt,
        session=session,
        actor=actor,
        action="jobs.cancel",
        resource_type="job",
        team=job.team,
        owner=job.submitter,
    )
    waiting = (JobStatus.queued, JobStatus.pending_review)
    if job.status not in (*waiting, JobStatus.running):
        raise Conflict(f"job {job_id} has already ended ({job.status.value}); there is nothing to cancel")
    if job.cancel_requested_by is not None:
        raise Conflict(f"job {job_id}: {job.cancel_requested_by} already asked to cancel it")
    payload = {"job_id": job.id, "by": actor.name, "status": job.status.value}
    if job.status in waiting:
        job.status, job.error = JobStatus.cancelled, f"cancelled by {actor.name}"
        job.finished_at = utcnow()
        session.add(JobEvent(job_id=job.id, kind="cancelled", data={"by": actor.name}))
        action = "job.cancelled"
    else:
        session.add(JobEvent(job_id=job.id, kind="cancel_requested", data={"by": actor.name}))
        action = "job.cancel_requested"
    job.cancel_requested_by = actor.name
    session.add(job)
    audit_log.append(session, actor=actor.name, action=action, subject=job.id, payload=payload)
    return job
