"""Alembic's environment for ftgate: always run on a connection `gateway.migrations` hands it."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import audit.models  # noqa: F401  (the log's tables in the metadata, for autogenerate)
import gateway.models  # noqa: F401

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=SQLModel.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
