"""Identities with an end (issue 14, item 7): tokens expire, are rotated and revoked, users are disabled,
and a worker role runs jobs and nothing else; each change is in the audit log, and every request checks
all of it, from the CLI and over HTTP."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ftgate_testing import Home

from gateway.api.app import create_app
from gateway.runtime import Runtime


def api(home: Home) -> TestClient:
    return TestClient(create_app(runtime=Runtime(home.settings())))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def log_entries(home: Home) -> list[dict[str, Any]]:
    with sqlite3.connect(home.path / "ftgate.db") as db:
        rows = db.execute("SELECT action, actor, payload FROM audit_entries ORDER BY seq").fetchall()
    return [{"action": a, "actor": who, "payload": json.loads(p)} for a, who, p in rows]


def test_rotate_replaces_every_working_token_and_the_old_one_is_refused(home: Home) -> None:
    old = home.alice
    rotated = home.cli("tokens", "rotate", token=old)
    new = rotated["token"]
    assert new.startswith("ftg_") and new != old and len(rotated["revoked"]) == 1
    refused = home.cli("datasets", "list", token=old, ok=False)["error"]
    assert refused["code"] == "unauthenticated" and "was revoked" in refused["message"]
    assert rotated["revoked"][0] in refused["message"]  # the id, never the token
    assert home.cli("datasets", "list", token=new)["count"] == 0
    listed = home.cli("tokens", "list", token=new)["data"]
    assert [t["status"] for t in listed] == ["revoked", "active"]
    assert listed[1]["id"] == rotated["id"] and listed[0]["revoked_by"] == "alice"

    # An admin rotates anyone's (a worker's, say); a submitter only their own.
    other = home.cli("tokens", "rotate", "--user", "bob", token=new, ok=False)["error"]
    assert other["code"] == "forbidden" and "only for themselves" in other["message"]
    by_admin = home.cli("tokens", "rotate", "--user", "bob", "--expires-days", "7", token=home.admin)
    assert by_admin["user"] == "bob"
    assert home.cli("datasets", "list", token=home.bob, ok=False)["error"]["code"] == "unauthenticated"

    entry = [e for e in log_entries(home) if e["action"] == "token.rotated"][-1]
    assert entry["actor"] == "admin" and entry["payload"]["token_id"] == by_admin["id"]
    assert entry["payload"]["revoked"] and entry["payload"]["expires_at"].startswith(
        by_admin["expires_at"][:10]
    )
    # No token itself, nor its hash, is ever in the log.
    text = json.dumps(log_entries(home))
    assert "ftg_" not in text
    with sqlite3.connect(home.path / "ftgate.db") as db:
        hashes = [h for (h,) in db.execute("SELECT token_sha256 FROM tokens")]
    assert hashes and not any(h in text for h in hashes)


def test_revoke_one_token_over_http(home: Home) -> None:
    client = api(home)
    mine = client.get("/v1/tokens", headers=bearer(home.carol)).json()["data"]
    assert [t["status"] for t in mine] == ["active"]
    theirs = client.get("/v1/tokens", headers=bearer(home.admin), params={"user": "bob"}).json()["data"]
    # carol (an auditor) may not revoke bob's token; the admin may, and may list anyone's.
    r = client.post(f"/v1/tokens/{theirs[0]['id']}/revoke", headers=bearer(home.carol))
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/tokens", headers=bearer(home.carol), params={"user": "bob"}).status_code == 403
    r = client.post(f"/v1/tokens/{theirs[0]['id']}/revoke", headers=bearer(home.admin))
    assert r.status_code == 200 and r.json()["status"] == "revoked" and r.json()["revoked_by"] == "admin"
    r = client.get("/v1/me", headers=bearer(home.bob))
    assert r.status_code == 401 and "was revoked" in r.json()["detail"]
    # Revoking it again changes nothing and logs nothing more.
    before = len(log_entries(home))
    assert client.post(f"/v1/tokens/{theirs[0]['id']}/revoke", headers=bearer(home.admin)).status_code == 200
    assert len(log_entries(home)) == before
    assert (
        client.post("/v1/tokens/tok_0000000000000000/revoke", headers=bearer(home.admin)).status_code == 404
    )
    # Her own token: carol may revoke it, and is then signed out everywhere.
    r = client.post(f"/v1/tokens/{mine[0]['id']}/revoke", headers=bearer(home.carol))
    assert r.status_code == 200
    assert client.get("/v1/me", headers=bearer(home.carol)).status_code == 401


def test_a_token_expires(home: Home) -> None:
    client = api(home)
    r = client.post(
        "/v1/users",
        headers=bearer(home.admin),
        json={"name": "temp", "role": "auditor", "team": "audit", "expires_days": 2 / 86400},
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert client.get("/v1/me", headers=bearer(made["token"])).status_code == 200
    time.sleep(2.5)
    r = client.get("/v1/me", headers=bearer(made["token"]))
    assert r.status_code == 401 and f"token {made['token_id']} expired" in r.json()["detail"]
    expired = home.cli("tokens", "list", "--user", "temp", token=home.admin)["data"]
    assert [t["status"] for t in expired] == ["expired"]
    # New tokens default to FTGATE_TOKEN_DAYS; out-of-range lifetimes are refused before anything is made.
    for days in (0, -1, 3651):
        r = client.post(
            "/v1/users",
            headers=bearer(home.admin),
            json={"name": "x", "role": "auditor", "expires_days": days},
        )
        assert r.status_code == 422, days


def test_a_disabled_user_is_refused_everywhere_until_enabled(home: Home) -> None:
    client = api(home)
    r = client.post("/v1/users/alice/disable", headers=bearer(home.admin))
    assert r.status_code == 200 and r.json()["status"] == "disabled"
    r = client.get("/v1/me", headers=bearer(home.alice))
    assert r.status_code == 401 and "is disabled" in r.json()["detail"]
    refused = home.cli("datasets", "list", token=home.alice, ok=False)["error"]
    assert refused["code"] == "unauthenticated" and "disabled" in refused["message"]
    # Only an admin disables; nobody disables themselves; the last enabled admin stays.
    assert client.post("/v1/users/bob/disable", headers=bearer(home.carol)).status_code == 403
    r = client.post("/v1/users/admin/disable", headers=bearer(home.admin))
    assert r.status_code == 409 and "yourself" in r.json()["detail"]
    second = home.cli("users", "add", "root2", "--role", "admin", token=home.admin)
    home.cli("users", "disable", "admin", token=second["token"])
    gone = home.cli("users", "disable", "root2", token=second["token"], ok=False)["error"]
    assert gone["code"] == "conflict" and "yourself" in gone["message"]
    home.cli("users", "enable", "admin", token=second["token"])
    assert client.get("/v1/me", headers=bearer(home.admin)).status_code == 200

    assert client.post("/v1/users/alice/enable", headers=bearer(home.admin)).json()["status"] == "active"
    assert client.get("/v1/me", headers=bearer(home.alice)).status_code == 200
    users = {u["name"]: u["status"] for u in home.cli("users", "list", token=home.carol)["data"]}
    assert users["alice"] == "active"
    actions = [e["action"] for e in log_entries(home)]
    assert actions.count("user.disabled") == 2 and actions.count("user.enabled") == 2
    assert home.cli("audit", "verify", token=home.carol)["status"] == "verified"


@pytest.mark.parametrize(
    "args",
    [
        ("datasets", "list"),
        ("jobs", "list"),
        ("adapters", "list"),
        ("users", "list"),
        ("audit", "verify"),
        ("tokens", "list"),
    ],
)
def test_the_worker_role_runs_jobs_and_nothing_else(home: Home, args: tuple[str, ...]) -> None:
    worker = home.cli("users", "add", "trainer-1", "--role", "worker", "--team", "ops", token=home.admin)
    refused = home.cli(*args, token=worker["token"], ok=False)["error"]
    assert refused["code"] == "forbidden" and "workers claim and run approved jobs" in refused["message"]


def test_a_worker_with_a_worker_token_trains_and_stops_once_revoked(home: Home) -> None:
    worker = home.cli("users", "add", "trainer-1", "--role", "worker", "--team", "ops", token=home.admin)
    ran = home.cli("worker", "--once", token=worker["token"])
    assert ran["count"] == 0  # nothing queued, and allowed to look
    home.cli("tokens", "revoke", worker["token_id"], token=home.admin)
    refused = home.cli("worker", "--once", token=worker["token"], ok=False)["error"]
    assert refused["code"] == "unauthenticated"
