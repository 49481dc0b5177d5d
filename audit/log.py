"""Append to the hash-chained log inside the caller's transaction.

The entry commits with the state change it records or not at all: `append` only adds to the session
the caller is about to commit. Each entry hash covers the previous one, so any change to a past entry
breaks every hash after it. Each entry is also a leaf of an RFC 9162 Merkle tree (audit/merkle.py) whose
complete subtrees are stored as they complete (``audit_tree_nodes``), so signed checkpoints, inclusion
and consistency proofs cost O(log n) rows.

On PostgreSQL concurrent appenders serialise on a transaction-scoped advisory lock taken before the head
is read: without it two transactions read the same head and one fails on the primary key (or, across
a rolled-back one, nothing goes wrong but work is lost). The lock is released at commit or rollback, so
a rolled-back append leaves no gap. SQLite already serialises writers on its database lock; a writer
that lost the race fails on the primary key and its whole transaction rolls back, leaving no fork.
"""

from __future__ import annotations

from datetime import UTC, datetime
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from sqlalchemy import Engine, bindparam, text
from sqlmodel import Session, col, select

from audit import merkle
from audit.canonical import canonical_json, jcs, sha256_hex
from audit.errors import AuditVerificationError
from audit.models import AuditEntry, AuditTreeNode

GENESIS_HASH = "0" * 64
# How an entry's bytes (its leaf) are written; audit/README.md, "Leaf formats". 1: Python's sorted-key
# `json.dumps` (the log's first entries); 2: RFC 8785 (JCS), with "format": 2 among the fields, so the
# bytes say how they were written. New entries are written in LEAF_FORMAT; every format verifies.
LEAF_FORMAT = 2
LEAF_FORMATS = (1, 2)
# pg_advisory_xact_lock key: any constant 64-bit number, unique to this purpose ("ftgate-a" in ASCII).
APPEND_LOCK_KEY = 0x6674676174652D61


def payload_text(payload: Any, format: int = LEAF_FORMAT) -> str:
    """The payload as an entry of leaf format `format` stores it."""
    if format == 1:
        return canonical_json(payload).decode()
    if format == 2:
        return jcs(payload).decode()
    raise AuditVerificationError(f"unknown leaf format {format!r} (known: {LEAF_FORMATS})")


def entry_body(
    *,
    seq: int,
    time: str,
    actor: str,
    action: str,
    subject: str,
    payload: Any,
    prev_hash: str,
    format: int = LEAF_FORMAT,
) -> bytes:
    """The canonical bytes of one entry: every field but its hash. Hashed for the chain and the tree."""
    fields = {
        "seq": seq,
        "time": time,
        "actor": actor,
        "action": action,
        "subject": subject,
        "payload": payload,
        "prev_hash": prev_hash,
    }
    if format == 1:
        return canonical_json(fields)
    if format == 2:
        return jcs({**fields, "format": 2})
    raise AuditVerificationError(f"unknown leaf format {format!r} (known: {LEAF_FORMATS})")


def stored_entry_body(
    *,
    seq: int,
    time: str,
    actor: str,
    action: str,
    subject: str,
    payload_text: str,
    prev_hash: str,
    format: int = LEAF_FORMAT,
) -> bytes:
    """``entry_body`` from a stored row, splicing in the payload text as stored (the verify fast path).

    Byte-identical to ``entry_body`` when the stored text is canonical in the entry's format, which
    ``append`` guarantees; a non-canonical text is a change to the stored bytes and fails the entry hash
    like any other. It skips re-serialising the payload, which is most of what verifying 10^5 entries
    costs. The other fields are strings of no surrogate (stored as UTF-8) and a small integer, which
    both formats write alike (RFC 8785 escapes a string's characters as `json.dumps` does), and their
    keys are ASCII, which both sort alike.
    """
    if format not in LEAF_FORMATS:
        raise AuditVerificationError(f"unknown leaf format {format!r} (known: {LEAF_FORMATS})")
    parts = (
        '{"action":',
        encode_basestring(action),
        ',"actor":',
        encode_basestring(actor),
        ',"format":2' if format == 2 else "",
        ',"payload":',
        payload_text,
        ',"prev_hash":',
        encode_basestring(prev_hash),
        ',"seq":',
        str(seq),
        ',"subject":',
        encode_basestring(subject),
        ',"time":',
        encode_basestring(time),
        "}",
    )
    return "".join(parts).encode()


def entry_digest(
    *,
    seq: int,
    time: str,
    actor: str,
    action: str,
    subject: str,
    payload: Any,
    prev_hash: str,
    format: int = LEAF_FORMAT,
) -> str:
    """The hash of one entry: SHA-256 of the canonical JSON of every field but the hash itself."""
    return sha256_hex(
        entry_body(
            seq=seq,
            time=time,
            actor=actor,
            action=action,
            subject=subject,
            payload=payload,
            prev_hash=prev_hash,
            format=format,
        )
    )


def stored_bytes(entry: AuditEntry) -> bytes:
    """The bytes a stored entry's hash and leaf are computed over (its payload text as stored)."""
    return stored_entry_body(
        seq=entry.seq,
        time=entry.time,
        actor=entry.actor,
        action=entry.action,
        subject=entry.subject,
        payload_text=entry.payload,
        prev_hash=entry.prev_hash,
        format=entry.format,
    )


def entry_leaf_hash(entry: AuditEntry) -> bytes:
    """The entry's Merkle leaf: SHA-256(0x00 || its canonical bytes)."""
    return merkle.leaf_hash(stored_bytes(entry))


class StoredTree:
    """The stored complete subtrees, read through the caller's session (a merkle.NodeSource)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._cache: dict[tuple[int, int], bytes] = {}

    def node(self, level: int, index: int) -> bytes:
        key = (level, index)
        if key not in self._cache:
            found = self.session.exec(
                select(AuditTreeNode.hash).where(AuditTreeNode.level == level, AuditTreeNode.idx == index)
            ).first()
            if found is None:
                raise LookupError(f"audit tree node ({level}, {index}) is missing")
            self._cache[key] = bytes.fromhex(found)
        return self._cache[key]


_NODES = AuditTreeNode.__table__  # type: ignore[attr-defined]
_ENTRIES = AuditEntry.__table__  # type: ignore[attr-defined]
_NODE = select(_NODES.c.hash).where(_NODES.c.level == bindparam("level"), _NODES.c.idx == bindparam("idx"))
_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_HEAD = select(_ENTRIES.c.seq, _ENTRIES.c.entry_hash).order_by(_ENTRIES.c.seq.desc()).limit(1)


def _lock_for_append(session: Session) -> None:
    """Hold the log's write lock before its head is read, so two appends can never take one `seq`."""
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        # The sqlite3 module opens a transaction only before a write: a head read first, with no write
        # yet in this transaction, could see a head another writer is about to extend. Taking SQLite's
        # write lock now (it is the lock the insert would take a moment later) makes the read current.
        dbapi = session.connection().connection.dbapi_connection
        if dbapi is not None and not dbapi.in_transaction:
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        return
    if bind.dialect.name != "postgresql":
        return
    # Held until the transaction ends, so once per transaction is enough (it is re-entrant anyway).
    transaction = session.get_transaction()
    if transaction is not None and session.info.get("audit_append_locked") is transaction:
        return
    session.connection().execute(_LOCK, {"key": APPEND_LOCK_KEY})
    session.info["audit_append_locked"] = session.get_transaction()


def _left_siblings(session: Session, index: int) -> dict[tuple[int, int], bytes]:
    """In one query: the stored left neighbours the new leaf completes subtrees with, and leaf index-1.

    Leaf index-1 is asked for even when not needed so that a log from before the tree shows itself.
    """
    keys = {(0, index - 1)} if index else set()
    level = 0
    while (index >> level) & 1:
        keys.add((level, (index >> level) - 1))
        level += 1
    if not keys:
        return {}
    # A few point lookups through one cached statement beat one IN over a tuple list, which
    # SQLAlchemy recompiles for every new list length.
    conn = session.connection()
    found = {}
    for lv, i in keys:
        h = conn.execute(_NODE, {"level": lv, "idx": i}).scalar()
        if h is not None:
            found[(lv, i)] = bytes.fromhex(h)
    return found


def _add_to_tree(session: Session, index: int, leaf: bytes, left: dict[tuple[int, int], bytes]) -> None:
    """Store the leaf and every subtree it completes (as many as trailing one-bits of index)."""
    rows = [{"level": 0, "idx": index, "hash": leaf.hex()}]
    level, h = 0, leaf
    while index & 1:
        h = merkle.node_hash(left[(level, index - 1)], h)
        index >>= 1
        level += 1
        rows.append({"level": level, "idx": index, "hash": h.hex()})
    session.connection().execute(_NODES.insert(), rows)


def rebuild_tree(session: Session) -> int:
    """Store the tree nodes of a log written before the tree existed; returns how many were added."""
    if session.exec(select(AuditTreeNode.idx).limit(1)).first() is not None:
        return 0
    entries = session.exec(select(AuditEntry).order_by(col(AuditEntry.seq))).all()
    tree = merkle.MemoryTree([entry_leaf_hash(entry) for entry in entries])
    rows = [
        {"level": lv, "idx": i, "hash": h.hex()}
        for lv, row in enumerate(tree.levels)
        for i, h in enumerate(row)
    ]
    if rows:
        session.connection().execute(_NODES.insert(), rows)
    return len(entries)


def head(session: Session) -> tuple[int, str] | None:
    """(seq, entry_hash) of the last entry, or None for an empty log."""
    # Core statements on the session's connection: the ORM's per-call overhead was most of an append.
    row = session.connection().execute(_HEAD).first()
    return None if row is None else (row[0], row[1])


def append(session: Session, *, actor: str, action: str, subject: str, payload: dict[str, Any]) -> AuditEntry:
    """Add one entry to the caller's transaction; the caller commits it with the change it records.

    Returns the entry as written; it is not attached to the session.
    """
    _lock_for_append(session)
    last = head(session)
    seq, prev_hash = (1, GENESIS_HASH) if last is None else (last[0] + 1, last[1])
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # The stored text is exactly what is hashed: the body is built from it.
    entry = AuditEntry(
        seq=seq,
        time=now,
        actor=actor,
        action=action,
        subject=subject,
        payload=payload_text(payload, LEAF_FORMAT),
        prev_hash=prev_hash,
        entry_hash="",
        format=LEAF_FORMAT,
    )
    body = stored_bytes(entry)
    entry.entry_hash = sha256_hex(body)
    left = _left_siblings(session, seq - 1)
    if seq > 1 and (0, seq - 2) not in left:
        # A log from before the tree: build its nodes once, in this same transaction.
        rebuild_tree(session)
        left = _left_siblings(session, seq - 1)
    # A core INSERT rather than session.add: the ORM unit of work was half the cost of an append.
    session.connection().execute(_ENTRIES.insert(), [entry.model_dump()])
    _add_to_tree(session, seq - 1, merkle.leaf_hash(body), left)
    return entry


GUARDED_TABLES = ("audit_entries", "audit_tree_nodes")

_SQLITE_GUARDS = [
    statement
    for table in GUARDED_TABLES
    for statement in (
        f"""CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table}
            BEGIN SELECT RAISE(ABORT, 'audit log is append-only: UPDATE refused'); END""",
        f"""CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table}
            BEGIN SELECT RAISE(ABORT, 'audit log is append-only: DELETE refused'); END""",
    )
]

_POSTGRES_GUARDS = [
    """CREATE OR REPLACE FUNCTION audit_entries_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit log is append-only: % refused', TG_OP; END $$""",
    *(
        statement
        for table in GUARDED_TABLES
        for statement in (
            f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}",
            f"""CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION audit_entries_refuse()""",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
            f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_refuse()""",
        )
    ),
]


def append_only_statements(dialect: str) -> list[str]:
    """The DDL that makes a database of `dialect` refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL)
    on the log's tables (idempotent)."""
    statements = {"sqlite": _SQLITE_GUARDS, "postgresql": _POSTGRES_GUARDS}.get(dialect)
    if statements is None:
        raise ValueError(f"no append-only guard for database dialect {dialect!r}")
    return list(statements)


def install_append_only_guards(engine: Engine) -> None:
    """Make the database itself refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) on the log."""
    statements = append_only_statements(engine.dialect.name)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def grant_append_only(engine: Engine, role: str) -> None:
    """PostgreSQL: let ``role`` (the application's) only INSERT and SELECT on the log tables.

    Run as the role that owns them: the application then cannot UPDATE, DELETE or TRUNCATE, nor drop or
    disable the triggers (only an owner may), so the database refuses a change twice over.
    """
    if engine.dialect.name != "postgresql":
        raise ValueError("role separation applies to PostgreSQL only")
    quoted = engine.dialect.identifier_preparer.quote(role)
    tables = ", ".join(GUARDED_TABLES)
    with engine.begin() as conn:
        conn.execute(text(f"REVOKE ALL ON {tables} FROM PUBLIC, {quoted}"))
        conn.execute(text(f"GRANT SELECT, INSERT ON {tables} TO {quoted}"))
