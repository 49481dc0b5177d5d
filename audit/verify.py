"""Recompute the whole chain; raise on the first entry that does not match."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from audit.errors import AuditVerificationError
from audit.log import GENESIS_HASH, entry_digest
from audit.models import AuditEntry


@dataclass(frozen=True)
class ChainHead:
    size: int
    head_hash: str


def verify_entries(entries: Iterable[AuditEntry]) -> ChainHead:
    """Check sequence, links and hashes of entries given in order; return the head they lead to."""
    expected_seq, prev_hash = 1, GENESIS_HASH
    for entry in entries:
        if entry.seq != expected_seq:
            raise AuditVerificationError(
                f"entry {expected_seq}: sequence gap or reorder (found seq {entry.seq})",
                seq=expected_seq,
                expected=str(expected_seq),
                computed=str(entry.seq),
            )
        if entry.prev_hash != prev_hash:
            raise AuditVerificationError(
                f"entry {entry.seq}: previous-hash link broken",
                seq=entry.seq,
                expected=prev_hash,
                computed=entry.prev_hash,
            )
        try:
            payload = json.loads(entry.payload)
        except ValueError as exc:
            raise AuditVerificationError(f"entry {entry.seq}: payload is not JSON", seq=entry.seq) from exc
        computed = entry_digest(
            seq=entry.seq,
            time=entry.time,
            actor=entry.actor,
            action=entry.action,
            subject=entry.subject,
            payload=payload,
            prev_hash=entry.prev_hash,
        )
        if computed != entry.entry_hash:
            raise AuditVerificationError(
                f"entry {entry.seq}: hash does not match its contents",
                seq=entry.seq,
                expected=entry.entry_hash,
                computed=computed,
            )
        prev_hash = entry.entry_hash
        expected_seq += 1
    return ChainHead(size=expected_seq - 1, head_hash=prev_hash)


def verify_log(session: Session) -> ChainHead:
    """Verify every entry in the database, in order; raises AuditVerificationError."""
    entries = session.exec(select(AuditEntry).order_by(col(AuditEntry.seq))).yield_per(1000)
    return verify_entries(entries)
