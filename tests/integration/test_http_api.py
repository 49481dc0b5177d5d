"""The REST API over the same services: token auth, roles, 4xx with reasons, the whole flow."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from ftgate_testing import EXAMPLE, scanned

from gateway.api.app import create_app
from gateway.runtime import Runtime
from gateway.services.audit import check_proof_bundle
from gateway.services.users import init_home
from gateway.settings import Settings
from gateway.worker import run_worker
from trainer.models import BaseModelRef


class Api:
    def __init__(self, client: TestClient) -> None:
        self.client = client

    def as_(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def upload(self, token: str, content: bytes, **form: str) -> object:
        fields = {"name": "support-chats", "purpose": "style", "classification": "internal", **form}
        return self.client.post(
            "/v1/datasets", headers=self.as_(token), files={"file": ("data.jsonl", content)}, data=fields
        )


@pytest.fixture
def api_env(
    tmp_path: Path, policy_dir: Path, tiny_model: BaseModelRef
) -> Iterator[tuple[Api, Runtime, dict[str, str]]]:
    rt = Runtime(Settings(home=tmp_path / "home", policy_dir=policy_dir))
    admin = init_home(rt=rt)["token"]
    client = TestClient(create_app(runtime=rt))
    api = Api(client)
    tokens = {"admin": admin}
    for name, role, team in [
        ("alice", "submitter", "default"),
        ("bob", "approver", "compliance"),
        ("carol", "auditor", "audit"),
    ]:
        r = client.post("/v1/users", headers=api.as_(admin), json={"name": name, "role": role, "team": team})
        assert r.status_code == 201, r.text
        tokens[name] = r.json()["token"]
    r = client.post(
        "/v1/models", headers=api.as_(admin), json={"name": "tiny-llama", "path": str(tiny_model.path)}
    )
    assert r.status_code == 201, r.text
    yield api, rt, tokens


def test_flow_over_http(api_env: tuple[Api, Runtime, dict[str, str]]) -> None:
    api, rt, t = api_env
    c = api.client
    r = api.upload(t["alice"], EXAMPLE.read_bytes())
    assert r.status_code == 202, r.text  # received: a scan worker scans it
    ds = scanned(c, api.as_(t["alice"]), r)
    assert ds["status"] == "pending_review" and ds["id"].startswith("ds_")
    r = c.get(f"/v1/datasets/{ds['id']}/events", headers=api.as_(t["alice"]))
    kinds = [e["kind"] for e in r.json()["data"]]
    assert kinds[:2] == ["received", "started"] and kinds[-1] == "pending_review", kinds
    phases = {e["data"]["phase"] for e in r.json()["data"] if e["kind"] == "progress"}
    assert {"analysing", "final check", "writing"} <= phases
    last = r.json()["data"][-2]["id"]
    r = c.get(f"/v1/datasets/{ds['id']}/events", headers=api.as_(t["alice"]), params={"after": last})
    assert [e["kind"] for e in r.json()["data"]] == ["pending_review"]

    r = c.get(f"/v1/datasets/{ds['id']}/download", headers=api.as_(t["bob"]))
    assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == ds["redacted_sha256"]
    assert b"maria.gonzalez@example.com" not in r.content

    r = c.post(f"/v1/datasets/{ds['id']}/approve", headers=api.as_(t["alice"]), json={"note": "mine"})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = c.post(f"/v1/datasets/{ds['id']}/approve", headers=api.as_(t["bob"]), json={"note": "clean"})
    assert r.status_code == 201 and r.json()["status"] == "approved"

    body = {"dataset_id": ds["id"], "base_model": "tiny-llama", "config": {"max_steps": 2, "max_seq_len": 96}}
    r = c.post("/v1/jobs", headers=api.as_(t["alice"]), json={**body, "dry_run": True})
    assert r.status_code == 200 and r.json()["status"] == "allowed"
    r = c.post("/v1/jobs", headers=api.as_(t["alice"]), json=body)
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["status"] == "queued" and job["decision"]["allow"] is True

    with rt.session() as session:
        from gateway.services.users import authenticate

        admin = authenticate(rt=rt, session=session, token=t["admin"])
    [done] = run_worker(rt=rt, actor=admin, once=True)
    assert done.status == "succeeded", done.error

    r = c.get(f"/v1/jobs/{job['id']}", headers=api.as_(t["alice"]))
    assert r.json()["status"] == "succeeded"
    r = c.get(f"/v1/jobs/{job['id']}/events", headers=api.as_(t["alice"]))
    assert r.json()["count"] >= 3
    adapter_id = r.json()["data"][-1]["data"]["adapter_id"]
    r = c.get(f"/v1/adapters/{adapter_id}/lineage", headers=api.as_(t["carol"]))
    assert r.status_code == 200 and r.json()["dataset"]["redacted_sha256"] == ds["redacted_sha256"]
    r = c.get("/v1/audit/verify", headers=api.as_(t["carol"]))
    assert r.status_code == 200 and r.json()["status"] == "verified"

    # The auditor's evidence over HTTP: a checkpoint to keep, the log checked against it later, and
    # the adapter's proof bundle, which verifies offline.
    r = c.get("/v1/audit/checkpoint", headers=api.as_(t["carol"]))
    assert r.status_code == 200, r.text
    checkpoint = r.json()
    assert checkpoint["tree_size"] >= 10 and checkpoint["checkpoint"].startswith(checkpoint["origin"])
    r = c.post("/v1/audit/verify", headers=api.as_(t["carol"]), json={"checkpoint": checkpoint["checkpoint"]})
    assert r.status_code == 200, r.text
    assert r.json()["extends_checkpoint"] == checkpoint["tree_size"]
    r = c.get(f"/v1/adapters/{adapter_id}/proof", headers=api.as_(t["carol"]))
    assert r.status_code == 200, r.text
    checked = check_proof_bundle(bundle=r.json(), trusted_key=checkpoint["verifier_key"])
    assert checked["status"] == "verified"
    assert c.get(f"/v1/adapters/{adapter_id}/proof", headers=api.as_(t["alice"])).status_code == 403


@pytest.mark.parametrize(
    "content, fragment",
    [
        (b"", "empty"),
        (b"{not json}\n", "not valid JSON"),
        (b'[{"prompt": "a", "completion": "b"}]\n', "must be a JSON object"),
        (b'{"text": "hello"}\n', "needs 'messages'"),
        (b'{"messages": [{"role": "user", "content": "hi"}]}\n', "assistant"),
        (b'{"prompt": "\xff\xfe", "completion": "x"}\n', "UTF-8"),
    ],
)
def test_bad_upload_is_422_and_leaves_nothing(
    api_env: tuple[Api, Runtime, dict[str, str]], content: bytes, fragment: str
) -> None:
    api, _, t = api_env
    before = api.client.get("/v1/audit/verify", headers=api.as_(t["carol"])).json()["entries"]
    r = api.upload(t["alice"], content)
    assert r.status_code == 422
    assert fragment in r.json()["detail"]
    assert api.client.get("/v1/datasets", headers=api.as_(t["alice"])).json()["count"] == 0
    assert api.client.get("/v1/audit/verify", headers=api.as_(t["carol"])).json()["entries"] == before


def test_auth_roles_and_unknown_ids(api_env: tuple[Api, Runtime, dict[str, str]]) -> None:
    api, _, t = api_env
    c = api.client
    assert c.get("/v1/datasets").status_code == 401
    r = c.get("/v1/datasets", headers=api.as_("ftg_wrong"))
    assert r.status_code == 401 and "not recognised" in r.json()["detail"]
    r = api.upload(t["bob"], EXAMPLE.read_bytes())
    assert r.status_code == 403 and "datasets.upload" in r.json()["detail"]
    r = c.get("/v1/jobs/job_nope", headers=api.as_(t["alice"]))
    assert r.status_code == 404 and "job_nope" in r.json()["detail"]
    r = c.post(
        "/v1/jobs", headers=api.as_(t["alice"]), json={"dataset_id": "ds_nope", "config": {"lora_r": 0}}
    )
    assert r.status_code == 422 and "lora_r" in r.json()["detail"]
    r = c.post("/v1/users", headers=api.as_(t["alice"]), json={"name": "eve", "role": "admin"})
    assert r.status_code == 403
    docs = c.get("/docs")
    assert docs.status_code == 200 and "script-src 'self'" in docs.headers["content-security-policy"]
    # Everything the page loads comes from the server itself: it works with no way out to a CDN.
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert assets and all(a.startswith("/static/") for a in assets), assets
    assert "<script>" not in docs.text  # no inline script
    for asset in assets:
        assert c.get(asset).status_code == 200, asset
    assert "/v1/datasets" in c.get("/openapi.json").json()["paths"]
