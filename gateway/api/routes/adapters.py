"""Adapters, their lineage, and the audit log."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from ftgate_core.files import removed_on_failure
from gateway.api.deps import CurrentUser, RuntimeDep, SessionDep, TransactionalRoute
from gateway.api.pages import After, Limit, page_body
from gateway.api.problems import MEDIA_TYPE
from gateway.api.request_slots import lookup
from gateway.contract import PAGE_DEFAULT, Cursor, Handle, Note, ResourceId
from gateway.models import (
    AdapterPublic,
    CheckpointPublic,
    LogVerificationPublic,
    Page,
    ProofBundlePublic,
    ReleasePublic,
    WitnessedCheckpointPublic,
    WitnessSubmissionsPublic,
)
from gateway.services import adapters, audit, lineage
from gateway.services.keys import PublishedKeys, published_keys

router = APIRouter(prefix="/v1", route_class=TransactionalRoute)
Format = Annotated[str, Query(max_length=32, pattern="^[a-z0-9-]+$", description="An export format.")]


AdapterStatus = Literal["registered", "released", "quarantined"]


@router.get("/adapters", tags=["adapters"], response_model=Page[AdapterPublic])
@lookup
def list_adapters(
    rt: RuntimeDep,
    session: SessionDep,
    user: CurrentUser,
    status: AdapterStatus | None = None,
    limit: Limit = PAGE_DEFAULT,
    after: After = None,
) -> Any:
    """The adapters you may see, oldest first; `status` keeps those in one status only."""
    found = adapters.list_adapters(
        rt=rt, session=session, actor=user, status=status, limit=limit, after=after
    )
    return page_body(found)


@router.get("/adapters/{adapter_id}", tags=["adapters"], response_model=AdapterPublic)
@lookup
def show_adapter(adapter_id: ResourceId, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    return adapters.get_adapter(rt=rt, session=session, actor=user, adapter_id=adapter_id)


class ReleaseIn(BaseModel):
    note: Note = Field(description="Why the adapter may ship; kept in the audit log.")


@router.post("/adapters/{adapter_id}/release", tags=["adapters"], response_model=ReleasePublic)
def release_adapter(
    adapter_id: ResourceId, body: ReleaseIn, rt: RuntimeDep, session: SessionDep, user: CurrentUser
) -> Any:
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
    """The released adapter's files as one zip, built from the copy the service verified byte by byte,
    with their signature (`model.sig`) from the log."""
    workdir = Path(tempfile.mkdtemp(prefix="ftgate-download-"))
    with removed_on_failure(workdir):
        outcome = adapters.download_adapter(
            rt=rt, session=session, actor=user, adapter_id=adapter_id, dest=workdir / adapter_id
        )
        archive = workdir / f"{adapter_id}.zip"
        copy = workdir / adapter_id
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(p for p in copy.rglob("*") if p.is_file()):
                zf.write(path, arcname=path.relative_to(copy).as_posix())
        # Commit `adapter.downloaded` before a byte leaves: the session would otherwise commit only
        # after the response is sent, and a failed commit would leave an unlogged download.
        session.commit()
    return FileResponse(
        archive,
        media_type="application/zip",
        filename=f"{adapter_id}.zip",
        headers={"X-Ftgate-Decision-Id": outcome.decision_id},
        background=BackgroundTask(shutil.rmtree, workdir, ignore_errors=True),
    )


def _lineage_content() -> dict[str, Any]:
    """The media type of each export format: each is a document of its own standard, not an ftgate model
    (JSON ones are objects; NDJSON and HTML are text)."""
    formats: dict[str, list[str]] = {}
    for fmt, media_type in audit.export_media_types().items():
        formats.setdefault(media_type, []).append(fmt)
    return {
        media_type: {
            "schema": {
                "type": "object"
                if media_type == "application/json" or media_type.endswith("+json")
                else "string",
                "description": "format=" + ", ".join(fmts),
            }
        }
        for media_type, fmts in formats.items()
    }


@router.get(
    "/adapters/{adapter_id}/lineage",
    tags=["audit"],
    response_class=Response,
    responses={
        200: {
            "description": "The lineage in the chosen format: ftgate's own JSON, OpenLineage events (NDJSON),"
            " a CycloneDX ML-BOM, an in-toto statement or DSSE envelope, or an HTML report.",
            "content": _lineage_content(),
        }
    },
)
def adapter_lineage(
    adapter_id: ResourceId,
    rt: RuntimeDep,
    session: SessionDep,
    user: CurrentUser,
    format: Format = "json",
) -> Any:
    document = audit.export_document(rt=rt, session=session, actor=user, adapter_id=adapter_id, fmt=format)
    return Response(content=document.content, media_type=document.media_type)


@router.get("/adapters/{adapter_id}/proof", tags=["audit"], response_model=ProofBundlePublic)
def adapter_proof(adapter_id: ResourceId, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    """The adapter's lineage entries with RFC 9162 inclusion proofs and a signed checkpoint, to check
    offline (`ftgate audit verify-bundle`)."""
    return audit.proof_bundle(rt=rt, session=session, actor=user, adapter_id=adapter_id)


# exclude_unset on both: `extends_checkpoint`, `consistency_proof` and `witnessed` (and a witness
# finding's `tree_size`, `seq`, ...) are present only as they apply; a key the service set stays, null too.
@router.get(
    "/audit/verify", tags=["audit"], response_model=LogVerificationPublic, response_model_exclude_unset=True
)
def verify_log(rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    """Recompute the log's chain and tree, check it against the witnesses' cosignatures where they are
    configured, and sign the head it leads to."""
    return audit.verify(rt=rt, session=session, actor=user)


class CheckpointIn(BaseModel):
    checkpoint: str = Field(
        min_length=1, max_length=8192, description="A signed checkpoint saved earlier (C2SP note text)."
    )


@router.post(
    "/audit/verify", tags=["audit"], response_model=LogVerificationPublic, response_model_exclude_unset=True
)
def verify_log_extends(body: CheckpointIn, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    """Verify the log, and that it extends a checkpoint saved earlier (no rollback, no rewrite)."""
    return audit.verify(rt=rt, session=session, actor=user, checkpoint_note=body.checkpoint)


@router.get("/keys", tags=["audit"], response_model=PublishedKeys)
def keys(rt: RuntimeDep) -> PublishedKeys:
    """The public keys to check ftgate's evidence with: the log's checkpoint verifier key, the
    adapter-signing key (model.sig, the in-toto envelopes) and the witnesses'. No token: they are public."""
    return published_keys(rt=rt)


@router.get("/audit/checkpoint", tags=["audit"], response_model=CheckpointPublic)
def log_checkpoint(rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    """Verify the log, then sign a C2SP checkpoint of its tree for a witness (or you) to keep."""
    return audit.make_checkpoint(rt=rt, session=session, actor=user)


@router.post("/audit/witness", tags=["audit"], response_model=WitnessSubmissionsPublic)
def witness_log(rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    """Submit the current checkpoint to the configured witnesses now; what each answered."""
    return audit.witness_checkpoint(rt=rt, session=session, actor=user)


@router.get(
    "/audit/checkpoint/witnessed",
    tags=["audit"],
    response_model=WitnessedCheckpointPublic,
    responses={
        404: {
            "description": "No configured witness has cosigned a checkpoint yet.",
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    },
)
def witnessed_checkpoint(rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    """The largest checkpoint the witnesses cosigned, as one note with the log's signature and their
    cosignatures (c2sp.org/tlog-cosignature): check it with the keys of `/v1/keys`."""
    return audit.witnessed_checkpoint(rt=rt, session=session, actor=user)


class AuditEntryOut(BaseModel):
    seq: int = Field(description="Position in the log, from 1.")
    time: str
    actor: str
    action: str
    subject: str
    payload: dict[str, Any]
    prev_hash: str = Field(description="The previous entry's hash; 64 zeros for the first.")
    format: int = Field(description="Leaf format: how the hashed bytes are written (1, or 2: RFC 8785).")
    entry_hash: str = Field(description="SHA-256 of the entry's bytes (audit/README.md).")


class AuditPage(BaseModel):
    data: list[AuditEntryOut]
    count: int
    next: str | None = Field(description="Pass as `after` for the next page; null on the last.")


@router.get("/audit/entries", tags=["audit"], response_model=AuditPage)
def audit_entries(
    rt: RuntimeDep,
    session: SessionDep,
    user: CurrentUser,
    action: Annotated[Handle | None, Query(description="Exact action, e.g. dataset.approved.")] = None,
    actor: Annotated[Handle | None, Query(description="Who acted.")] = None,
    subject: Annotated[ResourceId | None, Query(description="The id acted on.")] = None,
    since: Annotated[
        str | None, Query(max_length=64, description="From this time (RFC 3339; UTC if no zone).")
    ] = None,
    until: Annotated[str | None, Query(max_length=64, description="Before this time (RFC 3339).")] = None,
    limit: Limit = PAGE_DEFAULT,
    after: Annotated[Cursor | None, Query(description="The `next` of the previous page.")] = None,
) -> Any:
    """The audit log's entries in log order, filtered; read as stored (`/v1/audit/verify` checks it)."""
    where = audit.EntryFilter(
        action=action,
        actor=actor,
        subject=subject,
        since=lineage.parse_time(since, "since") if since is not None else None,
        until=lineage.parse_time(until, "until") if until is not None else None,
    )
    found = audit.list_entries(rt=rt, session=session, actor=user, where=where, limit=limit, after=after)
    return page_body(found)
