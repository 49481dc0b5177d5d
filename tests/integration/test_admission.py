"""Dataset admission as compliance owns it: the licence allow-list at upload, and again at approval."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from ftgate_testing import EXAMPLE, Home, audit_count, scanned, upload

from gateway.api.app import create_app
from gateway.runtime import Runtime


def allow_licences(policy_dir: Path, licences: list[str]) -> None:
    data_file = policy_dir / "ftgate" / "config" / "data.json"
    data = json.loads(data_file.read_text())
    data["licences_allowed"] = licences
    data_file.write_text(json.dumps(data, indent=2))


def test_the_licence_is_recorded_and_a_licence_off_the_allow_list_is_refused(home: Home) -> None:
    ds = upload(home, licence="CC-BY-4.0")
    assert ds["licence"] == "CC-BY-4.0"
    assert upload(home)["licence"] == "LicenseRef-internal"  # the organisation's own data, by default

    before = audit_count(home)
    refused = upload(home, ok=False, licence="CC-BY-NC-4.0")
    assert refused["error"]["code"] == "dataset_rejected"
    [reason] = refused["error"]["details"]["reasons"]
    assert reason["code"] == "LICENCE_NOT_ALLOWED" and "CC-BY-NC-4.0" in reason["message"]
    # Only the refusing decision and the refusal are on the record; no dataset.
    assert audit_count(home) == before + 2
    assert len(home.cli("datasets", "list", token=home.alice)["data"]) == 2


def test_an_approval_is_refused_when_todays_policy_no_longer_admits_the_data(
    home: Home, policy_dir: Path
) -> None:
    ds = upload(home, licence="MIT")
    allow_licences(policy_dir, ["Apache-2.0", "LicenseRef-internal"])  # compliance drops MIT
    refused = home.cli("datasets", "approve", ds["id"], "--note", "ok", token=home.bob, ok=False)
    assert refused["error"]["code"] == "dataset_rejected"
    assert [r["code"] for r in refused["error"]["details"]["reasons"]] == ["LICENCE_NOT_ALLOWED"]
    assert home.cli("datasets", "show", ds["id"], token=home.bob)["status"] == "pending_review"
    # The refusing decision is stored and replays the same.
    replay = home.cli("policy", "replay", refused["error"]["details"]["decision_id"], token=home.carol)
    assert replay["status"] == "reproduced" and replay["recorded"]["allow"] is False

    allow_licences(policy_dir, ["MIT"])
    approved = home.cli("datasets", "approve", ds["id"], "--note", "licence cleared", token=home.bob)
    assert approved["status"] == "approved"


def test_licence_over_http(home: Home, policy_dir: Path) -> None:
    client = TestClient(create_app(runtime=Runtime(home.settings())))
    form = {"name": "chats", "purpose": "style", "classification": "internal"}
    headers = {"Authorization": f"Bearer {home.alice}"}
    content = EXAMPLE.read_bytes()

    r = client.post("/v1/datasets", headers=headers, files={"file": ("d.jsonl", content)}, data=form)
    ds = scanned(client, headers, r)
    assert ds["status"] == "pending_review" and ds["licence"] == "LicenseRef-internal"
    r = client.post(
        "/v1/datasets",
        headers=headers,
        files={"file": ("d.jsonl", content)},
        data={**form, "licence": "GPL-3.0-only"},
    )
    assert r.status_code == 422, r.text  # known before the scan: refused before anything is kept
    assert [x["code"] for x in r.json()["details"]["reasons"]] == ["LICENCE_NOT_ALLOWED"]
    assert "before its scan" in r.json()["detail"]
    assert r.json()["details"]["decision_id"].startswith("dec_")
    assert client.get("/v1/datasets", headers=headers).json()["count"] == 1
    assert not [p for p in (home.path / "incoming").rglob("*") if p.is_file()]
