"""The log on PostgreSQL: an owner role and an INSERT+SELECT application role, and concurrent writers.

Every test gets a fresh database (and fresh roles, which are cluster-wide, dropped afterwards).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from ftgate_testing import fresh_pg_database, fresh_pg_roles, pg_url
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, SQLModel, create_engine

from audit import log
from audit.models import AuditEntry, AuditTreeNode
from audit.verify import verify_log

pytestmark = pytest.mark.postgres

REPO_ROOT = Path(__file__).resolve().parents[2]
TABLES = [AuditEntry.__table__, AuditTreeNode.__table__]  # type: ignore[attr-defined]


@dataclass
class LogDb:
    owner_url: str
    app_url: str
    owner: str
    app: str


@pytest.fixture
def log_db() -> Iterator[LogDb]:
    """A fresh database whose log tables belong to an owner role; the app role may only INSERT+SELECT."""
    with fresh_pg_roles() as (owner, app), fresh_pg_database(owner=owner) as name:
        engine = create_engine(pg_url(name, owner))
        SQLModel.metadata.create_all(engine, tables=TABLES)
        log.install_append_only_guards(engine)
        log.grant_append_only(engine, app)
        engine.dispose()
        yield LogDb(pg_url(name, owner), pg_url(name, app), owner, app)


def _append(engine: Engine, n: int, actor: str) -> None:
    for i in range(n):
        with Session(engine) as s:
            log.append(s, actor=actor, action="test.appended", subject=f"{actor}-{i}", payload={"i": i})
            s.commit()


@pytest.mark.parametrize(
    "statement, refusal",
    [
        ("UPDATE audit_entries SET actor = 'mallory'", "permission denied"),
        ("DELETE FROM audit_entries", "permission denied"),
        ("TRUNCATE audit_entries", "permission denied"),
        ("UPDATE audit_tree_nodes SET hash = ''", "permission denied"),
        ("DROP TRIGGER audit_entries_no_change ON audit_entries", "must be owner"),
        ("ALTER TABLE audit_entries DISABLE TRIGGER ALL", "must be owner"),
    ],
)
def test_app_role_can_only_insert_and_select(log_db: LogDb, statement: str, refusal: str) -> None:
    app = create_engine(log_db.app_url)
    _append(app, 3, "app")
    with app.connect() as c, pytest.raises(DBAPIError, match=refusal):
        c.execute(text(statement))
    with Session(app) as s:
        assert verify_log(s).size == 3
    app.dispose()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entries SET actor = 'x'",
        "DELETE FROM audit_entries",
        "TRUNCATE audit_entries",
        "TRUNCATE audit_tree_nodes",
    ],
)
def test_even_the_owner_is_refused_by_the_triggers(log_db: LogDb, statement: str) -> None:
    owner = create_engine(log_db.owner_url)
    _append(owner, 2, "owner")
    with owner.connect() as c, pytest.raises(DBAPIError, match="append-only"):
        c.execute(text(statement))
    owner.dispose()


WRITER = """
import sys
from sqlmodel import Session, create_engine
from audit import log
engine = create_engine(sys.argv[1])
for i in range(int(sys.argv[3])):
    with Session(engine) as s:
        log.append(s, actor=sys.argv[2], action="test.appended", subject=str(i), payload={"i": i})
        s.commit()
"""


def test_concurrent_threads_and_processes_leave_no_gap_and_no_fork(log_db: LogDb) -> None:
    app = create_engine(log_db.app_url, pool_size=10)
    threads, processes, each = 8, 4, 15
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, log_db.app_url, f"proc{p}", str(each)], cwd=REPO_ROOT)
        for p in range(processes)
    ]
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda t: _append(app, each, f"thread{t}"), range(threads)))
    assert [p.wait(timeout=120) for p in procs] == [0] * processes
    with Session(app) as s:
        head = verify_log(s)  # sequence, links, hashes and every stored tree node
        actors = s.exec(text("SELECT actor, count(*) FROM audit_entries GROUP BY actor")).all()  # type: ignore[call-overload]
    assert head.size == (threads + processes) * each
    assert {a: n for a, n in actors} == {
        **{f"thread{t}": each for t in range(threads)},
        **{f"proc{p}": each for p in range(processes)},
    }
    app.dispose()


def test_rolled_back_append_leaves_no_gap(log_db: LogDb) -> None:
    engine = create_engine(log_db.app_url)
    _append(engine, 2, "a")
    with Session(engine) as s:
        log.append(s, actor="b", action="test.appended", subject="x", payload={})
        s.rollback()
    _append(engine, 1, "c")
    with Session(engine) as s:
        assert verify_log(s).size == 3
    engine.dispose()
