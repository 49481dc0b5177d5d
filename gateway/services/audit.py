"""Verifying the log and exporting lineage, for auditors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from audit.bundle import build_bundle, signed_checkpoint, verify_bundle
from audit.checkpoint import log_origin, open_checkpoint, verifier_for
from audit.export import export_formats, get_exporter
from audit.lineage import build_lineage
from audit.models import AuditEntry
from audit.signing import head_message, public_key_b64, sign
from audit.verify import check_extends, verify_stored
from gateway.contract import PAGE_DEFAULT, Cursor, PageLimit, require
from gateway.errors import InvalidInput
from gateway.models import User
from gateway.runtime import Runtime
from gateway.services.adapters import get_adapter
from gateway.services.authz import authorize, close_denial_windows
from gateway.store.pages import Listed

EXPORT_FORMATS = export_formats()


def export_media_types() -> dict[str, str]:
    """Each export format's media type, as `export_document` serves it."""
    return {fmt: get_exporter(fmt).media_type for fmt in EXPORT_FORMATS}


def verify(
    *, rt: Runtime, session: Session, actor: User, checkpoint_note: str | None = None
) -> dict[str, Any]:
    """Recompute the chain and tree (raises AuditVerificationError) and sign the head it leads to.

    With a signed checkpoint (as `checkpoint` wrote it), also prove the log extends it: this is what
    catches truncation, rollback and a rewrite with every hash recomputed.
    """
    authorize(rt=rt, session=session, actor=actor, action="audit.verify", resource_type="log")
    close_denial_windows(session)  # repeated denials of minutes past: counted in the log before it is read
    key = rt.signing_key
    checkpoint = None
    if checkpoint_note is not None:
        origin = log_origin(key)
        checkpoint = open_checkpoint(checkpoint_note, [verifier_for(origin, key)], origin=origin)
    head, tree = verify_stored(session)
    proof = check_extends(head, tree, checkpoint) if checkpoint is not None else []
    result: dict[str, Any] = {
        "id": "log",
        "status": "verified",
        "entries": head.size,
        "head_hash": head.head_hash,
        "root_hash": head.root_hash,
        "signed_head": sign(key, head_message(head.size, head.head_hash)),
        "public_key": public_key_b64(key),
    }
    if checkpoint is not None:
        result["extends_checkpoint"] = checkpoint.size
        result["consistency_proof"] = [p.hex() for p in proof]
    if rt.settings.witnesses:
        # Someone who can rewrite the database can recompute every hash and re-sign; the witnesses
        # remember what they cosigned, so the log must still extend it.
        from gateway.services.witnessing import check_witnessed

        result["witnessed"] = check_witnessed(rt=rt, session=session, head=head, tree=tree)
    return result


def make_checkpoint(*, rt: Runtime, session: Session, actor: User) -> dict[str, Any]:
    """Verify the log, then sign a C2SP checkpoint of its tree for a witness to keep."""
    authorize(rt=rt, session=session, actor=actor, action="audit.verify", resource_type="log")
    key = rt.signing_key
    note, checkpoint = signed_checkpoint(session, key)
    return {
        "id": "log",
        "status": "checkpointed",
        "origin": checkpoint.origin,
        "tree_size": checkpoint.size,
        "root_hash": checkpoint.root_hash.hex(),
        "verifier_key": verifier_for(checkpoint.origin, key).encode(),
        "checkpoint": note,
    }


def witness_checkpoint(*, rt: Runtime, session: Session, actor: User) -> dict[str, Any]:
    """Submit the current checkpoint to every configured witness now; what each answered."""
    from gateway.services.witnessing import witness_now

    authorize(rt=rt, session=session, actor=actor, action="audit.verify", resource_type="log")
    if not rt.settings.witnesses:
        raise InvalidInput("no witnesses are configured: set FTGATE_WITNESSES")
    results = witness_now(rt=rt, session=session)
    return {"data": results, "count": len(results), "quorum": rt.settings.quorum}


def witnessed_checkpoint(*, rt: Runtime, session: Session, actor: User) -> dict[str, Any]:
    """The largest checkpoint kept with witness cosignatures: the note an auditor can check offline."""
    from gateway.errors import NotFound
    from gateway.services.witnessing import latest_witnessed

    authorize(rt=rt, session=session, actor=actor, action="audit.verify", resource_type="log")
    found = latest_witnessed(rt=rt, session=session)
    if found is None:
        raise NotFound("no checkpoint has been cosigned by a configured witness yet")
    return {"id": "log", "origin": log_origin(rt.signing_key), **found}


def proof_bundle(*, rt: Runtime, session: Session, actor: User, adapter_id: str) -> dict[str, Any]:
    """The adapter's lineage entries with inclusion proofs and a signed checkpoint, checkable offline."""
    authorize(rt=rt, session=session, actor=actor, action="audit.export", resource_type="adapter")
    get_adapter(rt=rt, session=session, actor=actor, adapter_id=adapter_id)
    lineage = build_lineage(session, adapter_id, origin=log_origin(rt.signing_key))
    seqs = [entry["seq"] for entry in lineage["log"]["entries"]]
    return build_bundle(session, key=rt.signing_key, seqs=seqs, subject=f"adapter:{adapter_id}")


def check_proof_bundle(
    *, bundle: Any, trusted_key: str | None = None, trust_embedded_key: bool = False
) -> dict[str, Any]:
    """Verify a proof bundle with no database (raises AuditVerificationError); `status` is `untrusted`
    when no key was given to pin and the bundle's own was not explicitly accepted."""
    return verify_bundle(bundle, trusted_key=trusted_key, trust_embedded_key=trust_embedded_key)


def export_lineage(
    *, rt: Runtime, session: Session, actor: User, adapter_id: str, fmt: str
) -> dict[str, Any]:
    """The adapter's lineage dict, read from the verified log (what the `json` format writes)."""
    return export_document(rt=rt, session=session, actor=actor, adapter_id=adapter_id, fmt=fmt).lineage


@dataclass(frozen=True)
class LineageDocument:
    """One exported lineage file: its bytes, media type, and the lineage it was rendered from."""

    fmt: str
    content: bytes
    media_type: str
    lineage: dict[str, Any]


def export_document(
    *, rt: Runtime, session: Session, actor: User, adapter_id: str, fmt: str
) -> LineageDocument:
    """Render an adapter's lineage in one of the registered formats (json, html, intoto, ...)."""
    authorize(rt=rt, session=session, actor=actor, action="audit.export", resource_type="adapter")
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(f"unknown export format {fmt!r}: choose one of {', '.join(EXPORT_FORMATS)}")
    exporter = get_exporter(fmt)
    get_adapter(rt=rt, session=session, actor=actor, adapter_id=adapter_id)
    lineage = build_lineage(session, adapter_id, origin=log_origin(rt.signing_key))
    key = rt.adapter_signer if exporter.signed else None
    return LineageDocument(
        fmt=fmt, content=exporter.export(lineage, key=key), media_type=exporter.media_type, lineage=lineage
    )


@dataclass(frozen=True)
class EntryFilter:
    """Which log entries to list: each field given narrows the list (exact action, actor and subject)."""

    action: str | None = None
    actor: str | None = None
    subject: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def list_entries(
    *,
    rt: Runtime,
    session: Session,
    actor: User,
    where: EntryFilter,
    limit: int = PAGE_DEFAULT,
    after: int | None = None,
) -> Listed[dict[str, Any]]:
    """Log entries in log order, `limit` after position `after`, with their payloads decoded; `next`
    is the last position listed while more follow. Read as stored: `verify` says whether it holds."""
    authorize(rt=rt, session=session, actor=actor, action="audit.export", resource_type="log")
    limit = require(PageLimit, limit, "limit")
    query = select(AuditEntry)
    if after is not None:
        query = query.where(col(AuditEntry.seq) > require(Cursor, after, "after"))
    if where.action:
        query = query.where(col(AuditEntry.action) == where.action)
    if where.actor:
        query = query.where(col(AuditEntry.actor) == where.actor)
    if where.subject:
        query = query.where(col(AuditEntry.subject) == where.subject)
    # RFC 3339 UTC times with microseconds, all of one width: they order as text.
    if where.since is not None:
        query = query.where(col(AuditEntry.time) >= _log_time(where.since))
    if where.until is not None:
        query = query.where(col(AuditEntry.time) < _log_time(where.until))
    rows = list(session.exec(query.order_by(col(AuditEntry.seq)).limit(limit + 1)))
    more = len(rows) > limit
    entries = [
        {
            "seq": e.seq,
            "time": e.time,
            "actor": e.actor,
            "action": e.action,
            "subject": e.subject,
            "payload": json.loads(e.payload),
            "prev_hash": e.prev_hash,
            "format": e.format,
            "entry_hash": e.entry_hash,
        }
        for e in rows[:limit]
    ]
    return Listed(entries, str(rows[limit - 1].seq) if more else None)


def _log_time(moment: datetime) -> str:
    """`moment` as the log writes times (`audit.log.append`); a naive time is read as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
