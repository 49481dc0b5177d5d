"""Reads do not write with the request (issue 12, item 6).

The allow behind a list or a show is stored in a batch off the request path when serving HTTP, so
reads never queue behind the database's single writer; downloads and every change keep their row in
the request's transaction; nothing is dropped when the writer falls behind or the database fails.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import col, select

from gateway.api.app import create_app
from gateway.db import make_engine, session_scope
from gateway.models import PolicyDecisionRecord, User
from gateway.runtime import Runtime
from gateway.services.users import init_home, list_users
from gateway.settings import REPO_ROOT, Settings
from gateway.store.batches import BatchedRows


def _allows(rt: Runtime, action: str) -> list[PolicyDecisionRecord]:
    with rt.session() as session:
        query = select(PolicyDecisionRecord).where(col(PolicyDecisionRecord.allow).is_(True))
        return [row for row in session.exec(query) if row.input.get("action") == action]


def _serving(tmp_path: Path, *, max_pending: int = 10_000) -> tuple[Runtime, TestClient, dict[str, str]]:
    rt = Runtime(Settings(home=tmp_path / "home", policy_dir=REPO_ROOT / "policies"))
    admin = {"Authorization": f"Bearer {init_home(rt=rt)['token']}"}
    # A batch only when the test says so: the thread's interval is an hour.
    rt.read_decisions = BatchedRows(rt.session, buffered=True, interval=3600, max_pending=max_pending)
    return rt, TestClient(create_app(runtime=rt)), admin


def test_list_allows_wait_for_the_batch_and_changes_do_not(tmp_path: Path) -> None:
    rt, client, admin = _serving(tmp_path)
    for _ in range(5):
        assert client.get("/v1/users", headers=admin).status_code == 200
    assert _allows(rt, "users.list") == []  # nothing written with the reads
    assert rt.read_decisions.pending == 5

    r = client.post("/v1/users", headers=admin, json={"name": "alice", "role": "submitter", "team": "t"})
    assert r.status_code == 201
    assert len(_allows(rt, "users.add")) == 1  # a change: its allow committed with it

    assert rt.read_decisions.flush() == 5
    rows = _allows(rt, "users.list")
    assert len(rows) == 5
    assert {row.actor for row in rows} == {"admin"}
    assert rt.read_decisions.pending == 0


def test_server_shutdown_writes_what_is_buffered(tmp_path: Path) -> None:
    rt, client, admin = _serving(tmp_path)
    with client:  # runs the app's lifespan: its end closes the batch
        assert client.get("/v1/models", headers=admin).status_code == 200
        assert _allows(rt, "models.list") == []
    assert len(_allows(rt, "models.list")) == 1


def test_a_full_queue_writes_with_the_request(tmp_path: Path) -> None:
    rt, client, admin = _serving(tmp_path, max_pending=0)
    assert client.get("/v1/users", headers=admin).status_code == 200
    assert len(_allows(rt, "users.list")) == 1
    assert rt.read_decisions.pending == 0


def test_a_failed_batch_is_kept_and_written_later(tmp_path: Path) -> None:
    rt = Runtime(Settings(home=tmp_path / "home", policy_dir=REPO_ROOT / "policies"))
    init_home(rt=rt)
    # A database without the table: the insert fails as a database that is down would.
    broken = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    target = {"engine": broken}
    batch = BatchedRows(lambda: session_scope(target["engine"]), buffered=True, interval=3600)
    with rt.session() as session:
        for n in range(3):
            batch.add(_row(n), session)
    assert batch.flush() == 0
    assert batch.pending == 3
    target["engine"] = rt.engine
    batch.close()
    assert batch.pending == 0
    assert sorted(row.ms for row in _allows(rt, "users.list")) == [0.0, 1.0, 2.0]


def test_the_cli_writes_read_allows_with_the_command(tmp_path: Path) -> None:
    rt = Runtime(Settings(home=tmp_path / "home", policy_dir=REPO_ROOT / "policies"))
    init_home(rt=rt)
    with rt.session() as session:  # as the CLI runs a command: one transaction
        admin = session.exec(select(User)).one()
        list_users(rt=rt, session=session, actor=admin)
    assert len(_allows(rt, "users.list")) == 1
    assert rt.read_decisions.pending == 0


def _row(n: int) -> PolicyDecisionRecord:
    return PolicyDecisionRecord(
        entrypoint="ftgate.authz",
        actor="admin",
        input={"action": "users.list"},
        allow=True,
        reasons=[],
        warnings=[],
        review=[],
        bundle_sha256="0" * 64,
        engine="regorus",
        ms=float(n),
    )
