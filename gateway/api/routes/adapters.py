"""Adapters, their lineage, and the audit log."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from gateway.api.deps import CurrentUser, RuntimeDep, SessionDep
from gateway.api.pages import After, Limit, page_body
from gateway.contract import PAGE_DEFAULT, Note, ResourceId
from gateway.models import AdapterPublic, Page
from gateway.services import adapters, audit

router = APIRouter(prefix="/v1")
Format = Annotated[str, Query(max_length=32, pattern="^[a-z0-9-]+$", description="An export format.")]


@router.get("/adapters", tags=["adapters"], response_model=Page[AdapterPublic])
def list_adapters(
    rt: RuntimeDep, session: SessionDep, user: CurrentUser, limit: Limit = PAGE_DEFAULT, after: After = None
) -> Any:
    return page_body(adapters.list_adapters(rt=rt, session=session, actor=user, limit=limit, after=after))


@router.get("/adapters/{adapter_id}", tags=["adapters"], response_model=AdapterPublic)
def show_adapter(adapter_id: ResourceId, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    return adapters.get_adapter(rt=rt, session=session, actor=user, adapter_id=adapter_id)


class ReleaseIn(BaseModel):
    note: Note = Field(description="Why the adapter may ship; kept in the audit log.")


@router.post("/adapters/{adapter_id}/release", tags=["adapters"])
def release_adapter(
    adapter_id: ResourceId, body: ReleaseIn, rt: RuntimeDep, session: SessionDep, user: CurrentUser
) -> dict[str, Any]:
    outcome = adapters.release_adapter(
        rt=rt, session=session, actor=user, adapter_id=adapter_id, note=body.note
    )
    return outcome.summary("released")


@router.get(
    "/adapters/{adapter_id}/download",
    tags=["adapters"],
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}, "description": "The adapter files as a zip."}},
)
def download_adapter(adapter_id: ResourceId, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    """The released adapter's files as one zip, built from the copy the service verified byte by byte."""
    workdir = Path(tempfile.mkdtemp(prefix="ftgate-download-"))
    try:
        outcome = adapters.download_adapter(
            rt=rt, session=session, actor=user, adapter_id=adapter_id, dest=workdir / adapter_id
        )
        archive = workdir / f"{adapter_id}.zip"
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name in sorted(outcome.files):
                zf.write(workdir / adapter_id / name, arcname=name)
        # Commit `adapter.downloaded` before a byte leaves: the session would otherwise commit only
        # after the response is sent, and a failed commit would leave an unlogged download.
        session.commit()
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return FileResponse(
        archive,
        media_type="application/zip",
        filename=f"{adapter_id}.zip",
        headers={"X-Ftgate-Decision-Id": outcome.decision_id},
        background=BackgroundTask(shutil.rmtree, workdir, ignore_errors=True),
    )


@router.get("/adapters/{adapter_id}/lineage", tags=["audit"])
def adapter_lineage(
    adapter_id: ResourceId,
    rt: RuntimeDep,
    session: SessionDep,
    user: CurrentUser,
    format: Format = "json",
) -> Any:
    document = audit.export_document(rt=rt, session=session, actor=user, adapter_id=adapter_id, fmt=format)
    return Response(content=document.content, media_type=document.media_type)


@router.get("/adapters/{adapter_id}/proof", tags=["audit"])
def adapter_proof(adapter_id: ResourceId, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    """The adapter's lineage entries with RFC 9162 inclusion proofs and a signed checkpoint, to check
    offline (`ftgate audit verify-bundle`)."""
    return audit.proof_bundle(rt=rt, session=session, actor=user, adapter_id=adapter_id)


@router.get("/audit/verify", tags=["audit"])
def verify_log(rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    return audit.verify(rt=rt, session=session, actor=user)


class CheckpointIn(BaseModel):
    checkpoint: str = Field(
        min_length=1, max_length=8192, description="A signed checkpoint saved earlier (C2SP note text)."
    )


@router.post("/audit/verify", tags=["audit"])
def verify_log_extends(body: CheckpointIn, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    """Verify the log, and that it extends a checkpoint saved earlier (no rollback, no rewrite)."""
    return audit.verify(rt=rt, session=session, actor=user, checkpoint_note=body.checkpoint)


@router.get("/audit/checkpoint", tags=["audit"])
def log_checkpoint(rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    """Verify the log, then sign a C2SP checkpoint of its tree for a witness (or you) to keep."""
    return audit.make_checkpoint(rt=rt, session=session, actor=user)
