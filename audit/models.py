"""The audit log table. Rows are only ever inserted; the database refuses UPDATE and DELETE."""

from __future__ import annotations

from sqlalchemy import Text
from sqlmodel import Field, SQLModel


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entries"

    seq: int = Field(primary_key=True, description="1-based position in the log; no gaps.")
    time: str = Field(description="UTC time of the append, RFC 3339 with microseconds.")
    actor: str
    action: str = Field(index=True, description="What happened, e.g. dataset.uploaded.")
    subject: str = Field(index=True, description="The id of the object it happened to.")
    payload: str = Field(sa_type=Text, description="Canonical JSON of the facts recorded.")
    prev_hash: str
    entry_hash: str = Field(unique=True)
    format: int = Field(
        default=1,
        sa_column_kwargs={"server_default": "1"},
        description="How the entry's bytes are written (audit/README.md): 1 before RFC 8785, 2 since.",
    )


class AuditTreeNode(SQLModel, table=True):
    """A complete subtree of the log's RFC 9162 Merkle tree, stored once it is complete.

    Level 0 holds the leaf hashes (index = seq - 1); the node (level, index) covers entries
    index*2^level+1 .. (index+1)*2^level. Derived from the entries (verify recomputes and compares
    them) and kept so that appends, roots and proofs touch O(log n) rows instead of the whole log.
    """

    __tablename__ = "audit_tree_nodes"

    level: int = Field(primary_key=True)
    idx: int = Field(primary_key=True)
    hash: str = Field(description="Hex SHA-256 of the subtree.")
