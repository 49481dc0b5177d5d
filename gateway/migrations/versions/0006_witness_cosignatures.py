"""Witness cosignatures: the checkpoints each configured witness cosigned, for `audit verify`.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate writes its types as sqlmodel.sql.sqltypes.X)
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "witness_cosignatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("witness", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("tree_size", sa.Integer(), nullable=False),
        sa.Column("root_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("cosigned_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("witness_cosignatures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_witness_cosignatures_witness"), ["witness"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("witness_cosignatures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_witness_cosignatures_witness"))
    op.drop_table("witness_cosignatures")
