"""Recompute the whole chain and Merkle tree; raise on the first entry that does not match.

The chain alone catches an edited, removed or reordered entry, but not a log rewritten from some
point on with every hash recomputed, nor one truncated or rolled back to an older copy. A signed
checkpoint kept by someone else (``verify_log(..., checkpoint=...)``) catches those: the current tree
must extend the checkpoint's, proved with an RFC 9162 consistency proof.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlmodel import Session

from audit import merkle
from audit.canonical import read_json, sha256_hex
from audit.checkpoint import Checkpoint
from audit.errors import AuditVerificationError
from audit.log import GENESIS_HASH, LEAF_FORMATS, payload_text, stored_entry_body

ENTRY_COLUMNS = ("seq", "time", "actor", "action", "subject", "payload", "prev_hash", "entry_hash", "format")


class EntryLike(Protocol):
    """An AuditEntry or a result row with its columns."""

    seq: int
    time: str
    actor: str
    action: str
    subject: str
    payload: str
    prev_hash: str
    entry_hash: str
    format: int


@dataclass(frozen=True)
class ChainHead:
    size: int
    head_hash: str
    root_hash: str = ""
    consistency_proof: list[str] = field(default_factory=list)


EntryRow = tuple[int, str, str, str, str, str, str, str, int]
_SCAN_JSON = json.JSONDecoder().scan_once  # type: ignore[attr-defined] # the C scanner, without loads()'s wrappers


def _is_json(text: str) -> bool:
    try:
        return _SCAN_JSON(text, 0)[1] == len(text)
    except (ValueError, StopIteration):
        return False


def verify_tree(rows: Iterable[EntryRow]) -> tuple[ChainHead, merkle.MemoryTree]:
    """Check sequence, links and hashes of rows (columns as ENTRY_COLUMNS) in order; return head and tree.

    The hot loop of a full verify: plain tuples and the stored-text body keep it near 10 us an entry.
    """
    expected_seq, prev_hash = 1, GENESIS_HASH
    tree = merkle.MemoryTree()
    for seq, time, actor, action, subject, payload, link, entry_hash, leaf_format in rows:
        if seq != expected_seq or not isinstance(seq, int) or isinstance(seq, bool):
            raise AuditVerificationError(
                f"entry {expected_seq}: sequence gap or reorder (found seq {seq})",
                seq=expected_seq,
                expected=str(expected_seq),
                computed=str(seq),
            )
        if link != prev_hash:
            raise AuditVerificationError(
                f"entry {seq}: previous-hash link broken", seq=seq, expected=prev_hash, computed=link
            )
        if not _is_json(payload):
            raise AuditVerificationError(f"entry {seq}: payload is not JSON", seq=seq)
        if leaf_format not in LEAF_FORMATS:
            raise AuditVerificationError(f"entry {seq}: unknown leaf format {leaf_format!r}", seq=seq)
        body = stored_entry_body(
            seq=seq,
            time=time,
            actor=actor,
            action=action,
            subject=subject,
            payload_text=payload,
            prev_hash=link,
            format=leaf_format,
        )
        computed = sha256_hex(body)
        if computed != entry_hash:
            try:
                canonical: str | None = payload_text(read_json(payload), leaf_format)
            except ValueError:
                canonical = None
            what = (
                "payload is not in canonical form"
                if canonical != payload
                else "hash does not match its contents"
            )
            raise AuditVerificationError(
                f"entry {seq}: {what}", seq=seq, expected=entry_hash, computed=computed
            )
        tree.append(merkle.leaf_hash(body))
        prev_hash = entry_hash
        expected_seq += 1
    size = expected_seq - 1
    return ChainHead(size=size, head_hash=prev_hash, root_hash=tree.root().hex()), tree


def _as_rows(entries: Iterable[EntryLike]) -> Iterable[EntryRow]:
    return (
        (e.seq, e.time, e.actor, e.action, e.subject, e.payload, e.prev_hash, e.entry_hash, e.format)
        for e in entries
    )


def verify_entries(entries: Iterable[EntryLike]) -> ChainHead:
    """Check sequence, links and hashes of entries given in order; return the head they lead to."""
    return verify_tree(_as_rows(entries))[0]


def _raw_rows(session: Session, sql: str, batch: int = 10_000) -> Iterator[Any]:
    """Plain DB-API tuples on the session's own connection (and transaction).

    Neither ORM objects nor SQLAlchemy rows: building 10^5 of them costs more than hashing them.
    """
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(sql)
        while chunk := cursor.fetchmany(batch):
            yield from chunk
    finally:
        cursor.close()


def _check_stored_nodes(session: Session, tree: merkle.MemoryTree) -> None:
    """The stored subtrees (which proofs are served from) must be exactly the recomputed ones."""
    rows = _raw_rows(session, "SELECT level, idx, hash FROM audit_tree_nodes ORDER BY level, idx")
    expected = ((level, idx) for level, row in enumerate(tree.levels) for idx in range(len(row)))
    for level, idx, stored in rows:
        want = next(expected, None)
        first = idx * (1 << level) + 1
        if want != (level, idx):
            raise AuditVerificationError(
                f"entry {first}: stored tree node ({level}, {idx}) has no entries behind it",
                seq=first,
            )
        if stored != tree.node(level, idx).hex():
            raise AuditVerificationError(
                f"entry {first}: stored tree node ({level}, {idx}) does not match the entries",
                seq=first,
                expected=tree.node(level, idx).hex(),
                computed=stored,
            )
    missing = next(expected, None)
    if missing is not None:
        level, idx = missing
        first = idx * (1 << level) + 1
        raise AuditVerificationError(
            f"entry {first}: stored tree node ({level}, {idx}) is missing", seq=first
        )


def check_extends(head: ChainHead, tree: merkle.MemoryTree, checkpoint: Checkpoint) -> list[bytes]:
    """Prove the current tree extends the checkpoint's; return the consistency proof."""
    if checkpoint.size > head.size:
        raise AuditVerificationError(
            f"entry {head.size + 1}: missing; the log has {head.size} entries but a checkpoint signed "
            f"at {checkpoint.size} (truncated or rolled back)",
            seq=head.size + 1,
            expected=str(checkpoint.size),
            computed=str(head.size),
        )
    old_root = tree.root(checkpoint.size)
    if old_root != checkpoint.root_hash:
        raise AuditVerificationError(
            f"entries 1..{checkpoint.size}: rewritten; they no longer hash to the checkpoint's root "
            f"(the first altered entry is at or before entry {checkpoint.size})",
            seq=checkpoint.size,
            expected=checkpoint.root_hash.hex(),
            computed=old_root.hex(),
        )
    if checkpoint.size == 0:
        return []
    proof = merkle.consistency_proof(tree, checkpoint.size, head.size)
    merkle.verify_consistency(checkpoint.size, head.size, checkpoint.root_hash, tree.root(), proof)
    return proof


def verify_stored(session: Session) -> tuple[ChainHead, merkle.MemoryTree]:
    """Verify every entry and stored tree node, in order; return the head and the recomputed tree
    (what `check_extends` proves checkpoints against)."""
    rows = _raw_rows(session, f"SELECT {', '.join(ENTRY_COLUMNS)} FROM audit_entries ORDER BY seq")
    head, tree = verify_tree(rows)
    _check_stored_nodes(session, tree)
    return head, tree


def verify_log(session: Session, *, checkpoint: Checkpoint | None = None) -> ChainHead:
    """Verify every entry and stored tree node, in order, and extension of a checkpoint if given."""
    head, tree = verify_stored(session)
    if checkpoint is None:
        return head
    proof = check_extends(head, tree, checkpoint)
    return ChainHead(head.size, head.head_hash, head.root_hash, [p.hex() for p in proof])
