"""Leaf formats: each audit entry says how its bytes are written; new entries are RFC 8785 (format 2).

The entries already in the log keep the bytes they were hashed with (format 1, the default here), so
they verify as before. A column added with a constant default rewrites no row: neither database fires
the append-only triggers, and on PostgreSQL the app role's INSERT and SELECT grants still cover it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Not batch mode: SQLite adds a column with a constant default in place, where a batch would copy the
    # table and drop the old one with its triggers.
    op.add_column("audit_entries", sa.Column("format", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    # Entries written in format 2 would no longer verify without the column: a downgrade keeps it.
    raise NotImplementedError("the leaf format column cannot be dropped: format 2 entries need it")
