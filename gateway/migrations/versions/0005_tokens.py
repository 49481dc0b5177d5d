"""Identities with an end: tokens of their own (expiry, revocation), disabled users, single sign-on
users (issuer and subject), and the `worker` role; and each base model's Hugging Face id (`upstream`),
which adapters name as their base.

Each user's one token moves from `users.token_sha256` to a row in `tokens`, with no expiry: a token that
worked before the upgrade keeps working until it is rotated or revoked.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 09:00:00
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":  # a native enum there
        op.execute("ALTER TYPE role ADD VALUE IF NOT EXISTS 'worker'")
    op.create_table(
        "tokens",
        sa.Column("id", AutoString(), nullable=False),
        sa.Column("user_id", AutoString(), nullable=False),
        sa.Column("token_sha256", AutoString(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_by", AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_sha256"),
    )
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tokens_user_id"), ["user_id"], unique=False)

    # Row by row, copying created_at in the database's own format: a user has one token.
    copy = sa.text(
        "INSERT INTO tokens (id, user_id, token_sha256, created_at) "
        "SELECT :token_id, id, token_sha256, created_at FROM users WHERE id = :user_id"
    )
    for (user_id,) in bind.execute(sa.text("SELECT id FROM users")).fetchall():
        bind.execute(copy, {"token_id": f"tok_{uuid.uuid4().hex[:16]}", "user_id": user_id})

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("issuer", AutoString(length=512), nullable=True))
        batch_op.add_column(sa.Column("subject", AutoString(length=255), nullable=True))
        batch_op.create_unique_constraint("uq_users_issuer_subject", ["issuer", "subject"])
        batch_op.drop_column("token_sha256")

    # Not batch mode: SQLite adds a nullable column in place.
    op.add_column("base_models", sa.Column("upstream", AutoString(length=200), nullable=True))
    bind.execute(
        sa.text("UPDATE base_models SET upstream = :upstream WHERE name = :name"),
        {"upstream": "HuggingFaceTB/SmolLM2-135M-Instruct", "name": "smollm2-135m-instruct"},
    )


def downgrade() -> None:
    raise NotImplementedError("0004 cannot be downgraded either (format 2 log entries need its column)")
