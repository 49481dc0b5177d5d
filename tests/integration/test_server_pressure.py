"""A busy server refuses clearly instead of queueing or failing (issue 12, items 3 and 6).

One user's uploads being scanned at once are limited (429 with Retry-After, nothing stored), and a
database that is busy or unreachable answers 503 with Retry-After, never a 500.
"""

from __future__ import annotations

import io
from pathlib import Path

from fastapi.testclient import TestClient

from gateway.api.app import create_app
from gateway.runtime import Runtime
from gateway.services.datasets import receive_dataset
from gateway.services.users import authenticate, init_home
from gateway.settings import REPO_ROOT, Settings

EXAMPLE = REPO_ROOT / "examples" / "support_chats.jsonl"


def test_one_user_cannot_have_more_scans_running_than_the_limit(tmp_path: Path) -> None:
    rt = Runtime(Settings(home=tmp_path / "home", policy_dir=REPO_ROOT / "policies", max_scans_per_user=2))
    admin = {"Authorization": f"Bearer {init_home(rt=rt)['token']}"}
    client = TestClient(create_app(runtime=rt))
    r = client.post(
        "/v1/users", headers=admin, json={"name": "alice", "role": "submitter", "team": "default"}
    )
    token = r.json()["token"]
    alice = {"Authorization": f"Bearer {token}"}
    form = {"name": "chats", "purpose": "style", "classification": "internal"}

    with rt.session() as session:  # two of alice's uploads are waiting for a scan worker
        actor = authenticate(rt=rt, session=session, token=token)
        for name in ("first", "second"):
            receive_dataset(
                rt=rt,
                session=session,
                actor=actor,
                source=EXAMPLE,
                name=name,
                purpose="style",
                classification="internal",
            )
    r = client.post(
        "/v1/datasets",
        headers=alice,
        data=form,
        files={"file": ("chats.jsonl", io.BytesIO(EXAMPLE.read_bytes()), "application/jsonl")},
    )
    assert r.status_code == 429, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["retry-after"] == "10"
    assert r.json()["code"] == "too_busy"
    assert r.json()["details"] == {"limit": 2}
    assert client.get("/v1/datasets", headers=alice).json()["count"] == 2  # the third was not stored
    # While uploads stream in, the same limit holds in the process too; each user's slots are their own.
    with rt.scan_slots.hold("bob"):
        assert rt.scan_slots.running("bob") == 1
    assert rt.scan_slots.running("bob") == 0


def test_an_unreachable_database_is_a_503_with_retry_after(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path / "home",
        policy_dir=REPO_ROOT / "policies",
        database_url="postgresql+psycopg://ftgate@127.0.0.1:9/nowhere",  # nothing listens on port 9
    )
    client = TestClient(create_app(runtime=Runtime(settings)))
    r = client.get(
        "/v1/users", headers={"Authorization": "Bearer ftg_some-token"}
    )  # an ftgate token: looked up
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "5"
    body = r.json()
    assert body["code"] == "store_unavailable"
    assert "nowhere" not in r.text and "9" not in body["detail"]  # no connection details leak
