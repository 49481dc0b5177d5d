"""Verifying the log and exporting lineage, for auditors."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from audit.lineage import build_lineage
from audit.signing import head_message, public_key_b64, sign
from audit.verify import verify_log
from gateway.errors import InvalidInput
from gateway.models import User
from gateway.runtime import Runtime
from gateway.services.adapters import get_adapter
from gateway.services.authz import authorize

EXPORT_FORMATS = ("json",)


def verify(*, rt: Runtime, session: Session, actor: User) -> dict[str, Any]:
    """Recompute the whole chain (raises AuditVerificationError) and sign the head it leads to."""
    authorize(rt=rt, actor=actor, action="audit.verify", resource_type="log")
    head = verify_log(session)
    key = rt.signing_key
    return {
        "id": "log",
        "status": "verified",
        "entries": head.size,
        "head_hash": head.head_hash,
        "signed_head": sign(key, head_message(head.size, head.head_hash)),
        "public_key": public_key_b64(key),
    }


def export_lineage(
    *, rt: Runtime, session: Session, actor: User, adapter_id: str, fmt: str
) -> dict[str, Any]:
    authorize(rt=rt, actor=actor, action="audit.export", resource_type="adapter")
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(f"unknown export format {fmt!r}: choose one of {', '.join(EXPORT_FORMATS)}")
    get_adapter(rt=rt, session=session, actor=actor, adapter_id=adapter_id)
    return build_lineage(session, adapter_id)
