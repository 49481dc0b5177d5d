"""The production store: the same flow and the same append-only guarantees on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from ftgate_testing import EXAMPLE, fresh_pg_database, pg_url, scanned
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from gateway.api.app import create_app
from gateway.runtime import Runtime
from gateway.services.users import authenticate, init_home
from gateway.settings import Settings
from gateway.worker import run_worker
from trainer.models import BaseModelRef

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_runtime(tmp_path: Path, policy_dir: Path) -> Iterator[Runtime]:
    """A runtime on a fresh database, dropped afterwards."""
    with fresh_pg_database() as name:
        rt = Runtime(Settings(home=tmp_path / "home", database_url=pg_url(name), policy_dir=policy_dir))
        yield rt
        rt.engine.dispose()


def test_flow_on_postgres(pg_runtime: Runtime, tiny_model: BaseModelRef) -> None:
    rt = pg_runtime
    admin = init_home(rt=rt)["token"]
    c = TestClient(create_app(runtime=rt))

    def h(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    tokens = {}
    for name, role in [("alice", "submitter"), ("bob", "approver")]:
        tokens[name] = c.post("/v1/users", headers=h(admin), json={"name": name, "role": role}).json()[
            "token"
        ]
    assert (
        c.post(
            "/v1/models", headers=h(admin), json={"name": "tiny-llama", "path": str(tiny_model.path)}
        ).status_code
        == 201
    )
    r = c.post(
        "/v1/datasets",
        headers=h(tokens["alice"]),
        files={"file": ("d.jsonl", EXAMPLE.read_bytes())},
        data={"name": "chats", "purpose": "style", "classification": "internal"},
    )
    ds = scanned(c, h(tokens["alice"]), r)  # by the server's scan worker process, on PostgreSQL too
    assert ds["status"] == "pending_review", ds
    assert (
        c.post(f"/v1/datasets/{ds['id']}/approve", headers=h(tokens["bob"]), json={"note": "ok"}).status_code
        == 201
    )
    body = {"dataset_id": ds["id"], "base_model": "tiny-llama", "config": {"max_steps": 1, "max_seq_len": 64}}
    assert c.post("/v1/jobs", headers=h(tokens["alice"]), json=body).status_code == 201
    with rt.session() as session:
        actor = authenticate(rt=rt, session=session, token=admin)
    [job] = run_worker(rt=rt, actor=actor, once=True)
    assert job.status == "succeeded", job.error
    r = c.get("/v1/audit/verify", headers=h(admin))
    assert r.status_code == 200 and r.json()["entries"] >= 12


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entries SET actor = 'mallory' WHERE seq = 1",
        "DELETE FROM audit_entries WHERE seq = 1",
        "TRUNCATE audit_entries",
    ],
)
def test_postgres_refuses_changes_to_the_log(pg_runtime: Runtime, statement: str) -> None:
    init_home(rt=pg_runtime)
    with pytest.raises(DBAPIError, match="append-only"), pg_runtime.engine.begin() as conn:
        conn.execute(text(statement))
    with pg_runtime.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_entries")).scalar() >= 2
