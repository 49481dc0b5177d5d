"""Adapter signatures, dataset revocation impact and point-in-time state, for auditors.

Everything here that answers a question about the past (`impact`, `state_at`) reads the verified audit
log alone, never the mutable tables, so the answer is as trustworthy as the log.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from sqlmodel import Session, col, select

from audit import log as audit_log
from audit.adapter_signing import AdapterSignatureError, sign_directory, verify_directory
from audit.history import adapters_trained_on, state_at
from audit.models import AuditEntry
from audit.verify import verify_entries
from gateway.contract import ResourceId, invalid, require
from gateway.errors import NotFound
from gateway.models import Adapter, DatasetRevocation, User
from gateway.runtime import Runtime
from gateway.services.authz import authorize


def sign_adapter(*, rt: Runtime, session: Session, actor: str, adapter_id: str, out_dir: Path) -> None:
    """Sign the adapter directory with model-signing and log the signature in the caller's transaction."""
    signed = sign_directory(out_dir, rt.adapter_signer)
    audit_log.append(
        session,
        actor=actor,
        action="adapter.signed",
        subject=adapter_id,
        payload={"adapter_id": adapter_id, **signed},
    )


def seal_adapter(*, rt: Runtime, session: Session, actor: str, adapter_id: str, out_dir: Path) -> None:
    """Finish registering a new adapter, in the registration transaction: sign it, and quarantine it
    at once if its dataset was revoked while it trained (the revocation could not list it then).
    """
    sign_adapter(rt=rt, session=session, actor=actor, adapter_id=adapter_id, out_dir=out_dir)
    adapter = session.get(Adapter, adapter_id)
    if adapter is None:
        raise NotFound(f"adapter {adapter_id} is not in this transaction")
    query = select(DatasetRevocation).where(col(DatasetRevocation.dataset_id) == adapter.dataset_id)
    revocation = session.exec(query).first()
    if revocation is None:
        return
    adapter.status = "quarantined"
    session.add(adapter)
    audit_log.append(
        session,
        actor=actor,
        action="adapter.quarantined",
        subject=adapter_id,
        payload={
            "adapter_id": adapter_id,
            "dataset_id": adapter.dataset_id,
            "revocation_id": revocation.id,
            "note": revocation.note,
        },
    )


def verified_entries(session: Session) -> list[AuditEntry]:
    """The whole log, in order, after checking its chain and tree: what every answer from the log reads."""
    entries = list(session.exec(select(AuditEntry).order_by(col(AuditEntry.seq))))
    verify_entries(entries)  # raises AuditVerificationError naming the first bad entry
    return entries


def _adapter_public_key(rt: Runtime) -> ec.EllipticCurvePublicKey:
    if not rt.adapter_signer.exists():
        raise AdapterSignatureError("no adapter signing key here: no adapter has been signed")
    public = rt.adapter_signer.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise AdapterSignatureError("the adapter-signing key is not a P-256 key")
    return public


def check_signature(*, rt: Runtime, entries: list[AuditEntry], adapter: Adapter) -> dict[str, Any]:
    """Check the adapter's files against its model-signing signature in `entries` (the verified log).

    Raises NotFound without a logged signature and AdapterSignatureError naming what differs.
    """
    adapter_id = adapter.id
    signed = [e for e in entries if e.action == "adapter.signed" and e.subject == adapter_id]
    if not signed:
        raise NotFound(f"the audit log holds no model-signing signature for adapter {adapter_id}")
    payload = json.loads(signed[-1].payload)
    verify_directory(Path(adapter.path), payload, _adapter_public_key(rt))
    return {
        "id": adapter_id,
        "status": "verified",
        "files": len(adapter.files),
        "signed_at": signed[-1].time,
        "signature_log_seq": signed[-1].seq,
        "library": payload["library"],
        "public_key_sha256": payload["public_key_sha256"],
    }


def dataset_impact(*, rt: Runtime, session: Session, actor: User, dataset_id: str) -> list[dict[str, Any]]:
    """Every adapter the log says was trained on the dataset, with its current status."""
    authorize(rt=rt, session=session, actor=actor, action="audit.verify", resource_type="log")
    dataset_id = require(ResourceId, dataset_id, "dataset_id")
    entries = verified_entries(session)
    if not any(e.action == "dataset.uploaded" and e.subject == dataset_id for e in entries):
        raise NotFound(f"the audit log has no dataset {dataset_id!r}")
    return adapters_trained_on(entries, dataset_id)


def parse_time(text: str, field: str = "at") -> datetime:
    """An ISO 8601 / RFC 3339 time; without a zone it is taken as UTC. `field` names it in the error."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise invalid(
            field, "datetime_parsing", "not an ISO 8601 time, such as 2026-11-29T04:00:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def log_state(*, rt: Runtime, session: Session, actor: User, at: str) -> dict[str, Any]:
    """Which datasets and adapters were approved, registered, quarantined ... at a moment, from the log."""
    authorize(rt=rt, session=session, actor=actor, action="audit.verify", resource_type="log")
    moment = parse_time(at)
    return state_at(verified_entries(session), moment)
