"""Policy tooling as compliance and auditors use it: bundle, test, eval, replay, dataset check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fastapi.testclient import TestClient
from ftgate_testing import Cli, Home, approved_dataset, audit_count, upload
from sqlmodel import col, select

from gateway.api.app import create_app
from gateway.models import PolicyDecisionRecord
from gateway.runtime import Runtime
from gateway.settings import REPO_ROOT


def test_bundle_and_rego_tests(tmp_path: Path) -> None:
    policy_dir = tmp_path / "policies"
    shutil.copytree(REPO_ROOT / "policies", policy_dir)
    cli = Cli(env={"FTGATE_HOME": str(tmp_path / "home"), "FTGATE_POLICY_DIR": str(policy_dir)})
    bundle = cli("policy", "bundle")
    assert len(bundle["sha256"]) == 64
    assert "ftgate/config/data.json" in {f["path"] for f in bundle["files"]}
    report = cli("policy", "test")
    assert report["status"] == "passed" and report["passed"] > 50 and report["failed"] == 0

    # A compliance officer breaks a test: `policy test` says which and exits 1.
    test_file = policy_dir / "ftgate" / "dataset" / "dataset_test.rego"
    test_file.write_text(test_file.read_text() + "\ntest_deliberately_wrong if {\n\tfalse\n}\n")
    failed = cli("policy", "test", ok=False)
    assert [f["test"] for f in failed["failures"]] == ["ftgate.dataset_test::test_deliberately_wrong"]

    # The edit left OPA's .manifest naming the old revision: --check says so (exit 1), and
    # `policy manifest` writes the new one.
    assert cli("policy", "bundle")["opa_manifest"] == "stale"
    assert cli("policy", "manifest", "--check", ok=False)["status"] == "stale"
    written = cli("policy", "manifest")
    assert written["revision"] == cli("policy", "bundle")["sha256"] and written["roots"] == ["ftgate"]
    assert cli("policy", "manifest", "--check")["status"] == "current"


def test_eval_explains_a_denial_without_storing_anything(home: Home, tmp_path: Path) -> None:
    document = {
        "subject": {"name": "alice", "role": "submitter", "team": "default"},
        "dataset": {
            "name": "facts",
            "team": "default",
            "purpose": "knowledge",
            "classification": "internal",
            "records": 3,
        },
        "scan": {"entities": {}, "records_changed": 0, "residual_findings": 0},
    }
    path = tmp_path / "input.json"
    path.write_text(json.dumps(document))
    denied = home.cli("policy", "eval", "--entrypoint", "ftgate.dataset", "--input", str(path), ok=False)
    assert denied["allow"] is False
    assert {"KNOWLEDGE_PURPOSE", "TOO_FEW_RECORDS"} <= {r["code"] for r in denied["reasons"]}
    path.write_text("{nope")
    assert (
        home.cli("policy", "eval", "--entrypoint", "ftgate.dataset", "--input", str(path), ok=False)["error"][
            "code"
        ]
        == "invalid_input"
    )


def test_replay_reproduces_a_decision_and_shows_what_today_would_say(home: Home, policy_dir: Path) -> None:
    ds = approved_dataset(home)
    job = home.cli("jobs", "submit", "--dataset", ds["id"], "--base-model", "tiny-llama", token=home.alice)
    decision_id = job["decision"]["id"]

    same = home.cli("policy", "replay", decision_id, token=home.carol)
    assert same["status"] == "reproduced" and same["today"]["same"] is True
    assert same["replayed"]["bundle_sha256"] == job["decision"]["bundle_sha256"]

    # Compliance removes the tiny model from the allow-list: the old decision still replays the same
    # with its own bundle, and today's policies would deny it.
    data_file = policy_dir / "ftgate" / "config" / "data.json"
    data = json.loads(data_file.read_text())
    data["teams"]["default"]["base_models"].remove("tiny-llama")
    data_file.write_text(json.dumps(data))
    changed = home.cli("policy", "replay", decision_id, token=home.carol)
    assert changed["status"] == "reproduced"
    assert changed["today"]["same"] is False and changed["today"]["allow"] is False
    assert changed["today"]["bundle_sha256"] != changed["recorded"]["bundle_sha256"]
    assert [r["code"] for r in changed["today"]["reasons"]] == ["BASE_MODEL_NOT_ALLOWED"]

    # Submitters may not replay; unknown ids are 'not found'.
    assert (
        home.cli("policy", "replay", decision_id, token=home.alice, ok=False)["error"]["code"] == "forbidden"
    )
    assert (
        home.cli("policy", "replay", "dec_nope", token=home.carol, ok=False)["error"]["code"] == "not_found"
    )


def test_dataset_check_reports_every_reason_and_creates_nothing(home: Home, policy_dir: Path) -> None:
    ds = approved_dataset(home)
    ok = home.cli("datasets", "check", ds["id"], token=home.alice)
    assert ok["status"] == "admissible"
    before = home.cli("audit", "verify", token=home.carol)["entries"]
    data_file = policy_dir / "ftgate" / "config" / "data.json"
    data = json.loads(data_file.read_text())
    data["min_records"] = 1000
    data["purposes_allowed"] = ["task"]
    data_file.write_text(json.dumps(data))
    refused = home.cli("datasets", "check", ds["id"], token=home.alice, ok=False)
    assert refused["status"] == "not_admissible"
    assert {"TOO_FEW_RECORDS", "PURPOSE_NOT_ALLOWED"} <= {r["code"] for r in refused["decision"]["reasons"]}
    assert home.cli("audit", "verify", token=home.carol)["entries"] == before


def test_an_authz_denial_is_stored_logged_and_replayable_cli_and_http(home: Home, policy_dir: Path) -> None:
    ds = upload(home)
    before = audit_count(home)
    # A submitter may not approve (separation of duties): refused, with the decision's id to look up.
    refused = home.cli("datasets", "approve", ds["id"], "--note", "mine", token=home.alice, ok=False)
    assert refused["error"]["code"] == "forbidden"
    decision_id = refused["error"]["details"]["decision_id"]
    replayed = home.cli("policy", "replay", decision_id, token=home.carol)
    assert replayed["entrypoint"] == "ftgate.authz" and replayed["status"] == "reproduced"
    assert replayed["recorded"]["allow"] is False
    # The denial's decision entry is in the log (audit_count verifies the whole log first).
    assert audit_count(home) == before + 1

    client = TestClient(create_app(runtime=Runtime(home.settings())))
    # Another action, so another kind of denial (an identical one within the minute would be counted
    # against the first: tests/integration/test_denial_tally.py).
    r = client.post(
        f"/v1/datasets/{ds['id']}/reject",
        headers={"Authorization": f"Bearer {home.alice}"},
        json={"note": "mine"},
    )
    assert r.status_code == 403, r.text
    http_id = r.json()["details"]["decision_id"]
    assert http_id != decision_id
    assert home.cli("policy", "replay", http_id, token=home.carol)["recorded"]["allow"] is False


def authz_decisions(home: Home, policy_dir: Path) -> list[PolicyDecisionRecord]:
    rt = Runtime(home.settings())
    with rt.session() as session:
        query = select(PolicyDecisionRecord).where(col(PolicyDecisionRecord.entrypoint) == "ftgate.authz")
        return list(session.exec(query.order_by(col(PolicyDecisionRecord.created_at))))


def test_an_allowed_action_stores_its_authz_decision_and_a_failed_request_stores_none(
    home: Home, policy_dir: Path
) -> None:
    entries = audit_count(home)
    before = len(authz_decisions(home, policy_dir))
    home.cli("datasets", "list", token=home.bob)
    [allowed] = authz_decisions(home, policy_dir)[before:]
    assert allowed.allow is True and allowed.input["action"] == "datasets.list"
    assert allowed.actor == "bob" and allowed.bundle_sha256 and allowed.engine == "regorus"
    assert home.cli("policy", "replay", allowed.id, token=home.carol)["status"] == "reproduced"
    assert audit_count(home) == entries  # allows are stored, not appended to the audit log

    # Allowed, then refused for a blank note: the request left nothing, its allow included.
    ds = upload(home)
    stored = len(authz_decisions(home, policy_dir))
    home.cli("datasets", "approve", ds["id"], "--note", " ", token=home.bob, ok=False)
    assert len(authz_decisions(home, policy_dir)) == stored
