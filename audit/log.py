"""Append to the hash-chained log inside the caller's transaction.

The entry commits with the state change it records or not at all: `append` only adds to the session
the caller is about to commit. Each entry hash covers the previous one, so any change to a past entry
breaks every hash after it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from audit.canonical import canonical_json, sha256_hex
from audit.models import AuditEntry

GENESIS_HASH = "0" * 64


def entry_digest(
    *, seq: int, time: str, actor: str, action: str, subject: str, payload: Any, prev_hash: str
) -> str:
    """The hash of one entry: SHA-256 of the canonical JSON of every field but the hash itself."""
    body = {
        "seq": seq,
        "time": time,
        "actor": actor,
        "action": action,
        "subject": subject,
        "payload": payload,
        "prev_hash": prev_hash,
    }
    return sha256_hex(canonical_json(body))


def head(session: Session) -> AuditEntry | None:
    return session.exec(select(AuditEntry).order_by(col(AuditEntry.seq).desc()).limit(1)).first()


def append(session: Session, *, actor: str, action: str, subject: str, payload: dict[str, Any]) -> AuditEntry:
    """Add one entry to the caller's transaction; the caller commits it with the change it records."""
    last = head(session)
    seq = 1 if last is None else last.seq + 1
    prev_hash = GENESIS_HASH if last is None else last.entry_hash
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # Round-trip through canonical JSON so the stored text is exactly what was hashed.
    canonical_payload = json.loads(canonical_json(payload))
    entry = AuditEntry(
        seq=seq,
        time=now,
        actor=actor,
        action=action,
        subject=subject,
        payload=canonical_json(canonical_payload).decode(),
        prev_hash=prev_hash,
        entry_hash=entry_digest(
            seq=seq,
            time=now,
            actor=actor,
            action=action,
            subject=subject,
            payload=canonical_payload,
            prev_hash=prev_hash,
        ),
    )
    session.add(entry)
    session.flush()
    return entry


_SQLITE_GUARDS = [
    """CREATE TRIGGER IF NOT EXISTS audit_entries_no_update BEFORE UPDATE ON audit_entries
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_entries_no_delete BEFORE DELETE ON audit_entries
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only: DELETE refused'); END""",
]

_POSTGRES_GUARDS = [
    """CREATE OR REPLACE FUNCTION audit_entries_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit log is append-only: % refused', TG_OP; END $$""",
    "DROP TRIGGER IF EXISTS audit_entries_no_change ON audit_entries",
    """CREATE TRIGGER audit_entries_no_change BEFORE UPDATE OR DELETE ON audit_entries
       FOR EACH ROW EXECUTE FUNCTION audit_entries_refuse()""",
    "DROP TRIGGER IF EXISTS audit_entries_no_truncate ON audit_entries",
    """CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
       FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_refuse()""",
]


def install_append_only_guards(engine: Engine) -> None:
    """Make the database itself refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) on the log."""
    statements = {"sqlite": _SQLITE_GUARDS, "postgresql": _POSTGRES_GUARDS}.get(engine.dialect.name)
    if statements is None:
        raise ValueError(f"no append-only guard for database dialect {engine.dialect.name!r}")
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
