"""Database engine and sessions: SQLite file by default, PostgreSQL in production."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy.exc
from sqlalchemy import Engine, event
from sqlmodel import Session, SQLModel, create_engine

import audit.models  # noqa: F401  (registers the log table in the metadata)
import gateway.models  # noqa: F401

# Connections a process keeps open, and how many more it may open under load. A server runs each request
# on one of up to 40 threads, each holding a session for the whole request: with SQLAlchemy's default
# (5 + 10) the 16th concurrent request waited for a connection, and overflow connections were opened and
# closed again with each burst.
POOL_SIZE = 20
MAX_OVERFLOW = 20


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=POOL_SIZE,
            max_overflow=MAX_OVERFLOW,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW)


_AT_COMMIT = "ftgate_add_at_commit"
# What SQLite (Python's sqlite3 error names) and PostgreSQL (SQLSTATE 23505) call a duplicate key.
_DUPLICATE_SQLITE = ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY")
_DUPLICATE_SQLSTATE = "23505"


def is_duplicate(error: sqlalchemy.exc.IntegrityError) -> bool:
    """Whether an insert or update broke a unique constraint (another transaction wrote the same key
    first), as opposed to a missing reference or value, which no retry mends."""
    cause = error.orig
    return (
        getattr(cause, "sqlite_errorname", None) in _DUPLICATE_SQLITE
        or getattr(cause, "sqlstate", None) == _DUPLICATE_SQLSTATE
    )


def add_at_commit(session: Session, row: SQLModel) -> None:
    """Add `row` when the transaction commits, not now: it is written with the rest or not at all.

    For rows nothing in the transaction reads (the decision that allowed the request): added at once,
    the next query's autoflush would insert it there and then, and on SQLite that takes the database's
    single write lock for everything the request does afterwards (a policy evaluation, a PII check of a
    note), so every other writer would wait that long.
    """
    session.info.setdefault(_AT_COMMIT, []).append(row)


@event.listens_for(Session, "before_commit")
def _add_deferred(session: Session) -> None:
    rows = session.info.pop(_AT_COMMIT, None)
    if rows:
        session.add_all(rows)  # flushed by this commit


@event.listens_for(Session, "after_rollback")
def _drop_deferred(session: Session) -> None:
    session.info.pop(_AT_COMMIT, None)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back everything on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
