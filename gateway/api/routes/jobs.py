"""Training requests and their progress."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gateway.api.deps import CurrentUser, RuntimeDep, SessionDep, TransactionalRoute
from gateway.api.pages import After, Limit, page_body
from gateway.api.request_slots import lookup
from gateway.contract import PAGE_DEFAULT, Cursor, Handle, Note, ResourceId
from gateway.models import (
    DryRunPublic,
    JobEventPublic,
    JobPublic,
    JobStatus,
    JobSubmittedPublic,
    Page,
    Verdict,
)
from gateway.services import job_reviews, jobs

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], route_class=TransactionalRoute)


class JobIn(BaseModel):
    dataset_id: ResourceId
    base_model: Handle = "smollm2-135m-instruct"
    config: dict[str, Any] = Field(default_factory=dict, description="Training settings (see TrainConfig).")
    dry_run: bool = False


@router.post(
    "",
    status_code=201,
    response_model=JobSubmittedPublic,
    responses={200: {"model": DryRunPublic, "description": "A dry run: the decision; nothing is stored."}},
)
def submit_job(body: JobIn, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    """Decide a training request; 201 with the queued job, or 200 with the decision for a dry run."""
    config = jobs.parse_config(body.config)
    result = jobs.submit_job(
        rt=rt,
        session=session,
        actor=user,
        dataset_id=body.dataset_id,
        base_model=body.base_model,
        config=config,
        dry_run=body.dry_run,
    )
    decision = {**result.decision.model_dump(mode="json"), "id": result.decision_id}
    if result.job is None:
        status = "allowed" if result.decision.allow else "denied"
        doc = {
            "id": None,
            "status": status,
            "dry_run": True,
            "decision": decision,
            "estimate": result.estimate,
        }
        return JSONResponse(DryRunPublic.model_validate(doc).model_dump(mode="json"))
    job = JobPublic.model_validate(result.job).model_dump(mode="json")
    return {**job, "decision": decision, "estimate": result.estimate}


@router.get("", response_model=Page[JobPublic])
@lookup
def list_jobs(
    rt: RuntimeDep,
    session: SessionDep,
    user: CurrentUser,
    status: JobStatus | None = None,
    limit: Limit = PAGE_DEFAULT,
    after: After = None,
) -> Any:
    """The jobs you may see, oldest first; `status` keeps those in one status only."""
    return page_body(
        jobs.list_jobs(rt=rt, session=session, actor=user, status=status, limit=limit, after=after)
    )


@router.get("/queue", response_model=Page[JobPublic])
@lookup
def review_queue(
    rt: RuntimeDep, session: SessionDep, user: CurrentUser, limit: Limit = PAGE_DEFAULT, after: After = None
) -> Any:
    """Jobs the training policy held for sign-off (restricted data, above the auto-approve limit)."""
    return page_body(job_reviews.review_queue(rt=rt, session=session, actor=user, limit=limit, after=after))


@router.get("/{job_id}", response_model=JobPublic)
@lookup
def show_job(job_id: ResourceId, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    return jobs.get_job(rt=rt, session=session, actor=user, job_id=job_id)


@router.get("/{job_id}/events", response_model=Page[JobEventPublic])
@lookup
def job_events(
    job_id: ResourceId, rt: RuntimeDep, session: SessionDep, user: CurrentUser, after: Cursor = 0
) -> Any:
    found = jobs.job_events(rt=rt, session=session, actor=user, job_id=job_id, after=after)
    return {"data": found, "count": len(found)}


@router.post("/{job_id}/cancel", response_model=JobPublic)
def cancel_job(job_id: ResourceId, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    """Cancel a queued job, or ask the worker to stop a running one (409 if it has already ended)."""
    return jobs.cancel_job(rt=rt, session=session, actor=user, job_id=job_id)


class ReviewIn(BaseModel):
    note: Note = Field(description="Why; kept in the audit log, and shown on the job when it is turned down.")


@router.post("/{job_id}/approve", response_model=JobPublic)
def approve_job(
    job_id: ResourceId, body: ReviewIn, rt: RuntimeDep, session: SessionDep, user: CurrentUser
) -> Any:
    """Sign off a held job (not your own): it is queued for training."""
    return job_reviews.review_job(
        rt=rt, session=session, actor=user, job_id=job_id, verdict=Verdict.approved, note=body.note
    )


@router.post("/{job_id}/reject", response_model=JobPublic)
def reject_job(
    job_id: ResourceId, body: ReviewIn, rt: RuntimeDep, session: SessionDep, user: CurrentUser
) -> Any:
    """Turn down a held job (not your own); the job says by whom and why."""
    return job_reviews.review_job(
        rt=rt, session=session, actor=user, job_id=job_id, verdict=Verdict.rejected, note=body.note
    )
