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
