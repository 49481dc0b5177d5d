"""Upload, review and download datasets."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from gateway.api.deps import CurrentUser, RuntimeDep, ScanWorkersDep, SessionDep, TransactionalRoute
from gateway.api.pages import After, Limit, page_body
from gateway.api.request_slots import lookup
from gateway.contract import PAGE_DEFAULT, Cursor, Label, Name, Note, ResourceId
from gateway.models import (
    DEFAULT_LICENCE,
    ApprovalPublic,
    DatasetDetail,
    DatasetEventPublic,
    DatasetPublic,
    DatasetStatus,
    Page,
    Verdict,
)
from gateway.services import datasets

router = APIRouter(prefix="/v1/datasets", tags=["datasets"], route_class=TransactionalRoute)


class ReviewIn(BaseModel):
    note: Note = Field(description="Why; kept in the audit log.")


@router.post("", status_code=202, response_model=DatasetPublic)
def upload_dataset(
    rt: RuntimeDep,
    session: SessionDep,
    user: CurrentUser,
    scan_workers: ScanWorkersDep,
    file: Annotated[UploadFile, File(description="JSONL: chat or prompt/completion records.")],
    name: Annotated[Name, Form()],
    purpose: Annotated[Label, Form()],
    classification: Annotated[Label, Form()],
    licence: Annotated[Label, Form(description="SPDX licence id of the data.")] = DEFAULT_LICENCE,
) -> Any:
    """Receive a training file: 202 with the dataset `scanning` once its bytes are on disk.

    A scan worker then redacts it; follow it at `GET /v1/datasets/{id}/events` (or poll the dataset) until
    it is `pending_review`, `refused` (with the policy's reasons in `error`) or `failed` (why, in `error`).
    """
    dataset = datasets.receive_dataset(
        rt=rt,
        session=session,
        actor=user,
        source=file.file,  # Starlette has spooled it to disk: read as a stream, never whole
        name=name,
        purpose=purpose,
        classification=classification,
        licence=licence,
    )
    scan_workers.ensure()  # started on the first upload: each loads the models
    return dataset


@router.get("", response_model=Page[DatasetPublic])
@lookup
def list_datasets(
    rt: RuntimeDep,
    session: SessionDep,
    user: CurrentUser,
    status: DatasetStatus | None = None,
    limit: Limit = PAGE_DEFAULT,
    after: After = None,
) -> Any:
    """The datasets you may see, oldest first; `status` keeps those in one status only."""
    found = datasets.list_datasets(
        rt=rt, session=session, actor=user, status=status, limit=limit, after=after
    )
    return page_body(found)


@router.get("/queue", response_model=Page[DatasetPublic])
@lookup
def review_queue(
    rt: RuntimeDep, session: SessionDep, user: CurrentUser, limit: Limit = PAGE_DEFAULT, after: After = None
) -> Any:
    """Datasets waiting for your review: pending, not uploaded by you, not reviewed by you yet."""
    return page_body(datasets.review_queue(rt=rt, session=session, actor=user, limit=limit, after=after))


@router.get("/{dataset_id}", response_model=DatasetDetail)
@lookup
def show_dataset(dataset_id: ResourceId, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    """The dataset, its reviews, and earlier rejections of the same content in other datasets."""
    return datasets.dataset_detail(rt=rt, session=session, actor=user, dataset_id=dataset_id)


@router.get("/{dataset_id}/events", response_model=Page[DatasetEventPublic])
@lookup
def dataset_events(
    dataset_id: ResourceId, rt: RuntimeDep, session: SessionDep, user: CurrentUser, after: Cursor = 0
) -> Any:
    """The scan's progress: `received`, `started`, `progress` (pass, done, total), then how it ended
    (`pending_review`, `refused` or `failed`). `after`: the last event id already seen."""
    found = datasets.dataset_events(rt=rt, session=session, actor=user, dataset_id=dataset_id, after=after)
    return {"data": found, "count": len(found)}


@router.get("/{dataset_id}/download", response_class=FileResponse)
def download_dataset(dataset_id: ResourceId, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    path = datasets.dataset_file(rt=rt, session=session, actor=user, dataset_id=dataset_id)
    return FileResponse(path, media_type="application/jsonl", filename=f"{dataset_id}.redacted.jsonl")


def _review(
    rt: Any, session: Any, user: Any, dataset_id: ResourceId, verdict: Verdict, note: str
) -> ApprovalPublic:
    return datasets.review_dataset(
        rt=rt, session=session, actor=user, dataset_id=dataset_id, verdict=verdict, note=note
    )


@router.post("/{dataset_id}/approve", status_code=201, response_model=ApprovalPublic)
def approve_dataset(
    dataset_id: ResourceId, body: ReviewIn, rt: RuntimeDep, session: SessionDep, user: CurrentUser
) -> Any:
    return _review(rt, session, user, dataset_id, Verdict.approved, body.note)


@router.post("/{dataset_id}/reject", status_code=201, response_model=ApprovalPublic)
def reject_dataset(
    dataset_id: ResourceId, body: ReviewIn, rt: RuntimeDep, session: SessionDep, user: CurrentUser
) -> Any:
    return _review(rt, session, user, dataset_id, Verdict.rejected, body.note)
