"""Decision logs in OPA's format (issue 14, item 6): every stored decision, every dry run and every
repeated denial, one JSON line each in the file under the home, or uploaded to an OPA decision-log
service (a real HTTP server on loopback), whatever the log level."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from decision_log_service import log_service
from fastapi.testclient import TestClient
from ftgate_testing import Home, approved_dataset, runtime_of
from sqlmodel import select

from gateway.api.app import create_app
from gateway.models import PolicyDecisionRecord
from gateway.policy.bundle import PolicyBundle
from gateway.policy.decision_upload import OpaUploadSink
from gateway.runtime import Runtime
from gateway.services.users import init_home
from gateway.settings import REPO_ROOT, Settings


def _lines(home: Home) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (home.path / "decisions.jsonl").read_text().splitlines()]


def test_every_stored_decision_and_each_dry_run_is_logged_in_opas_format(home: Home) -> None:
    ds = approved_dataset(home)  # admission (allow), approvals, authz allows
    dry = home.cli(
        "jobs", "submit", "--dataset", ds["id"], "--base-model", "tiny-llama", "--max-steps", "1",
        "--max-seq-len", "64", "--dry-run", token=home.alice,
    )  # fmt: skip
    assert dry["status"] == "allowed"
    denied = home.cli("audit", "verify", token=home.alice, ok=False)  # an authz denial, stored
    assert denied["error"]["code"] == "forbidden"

    lines = _lines(home)
    rt = runtime_of(home)
    with rt.session() as session:
        stored = {row.id: row for row in session.exec(select(PolicyDecisionRecord))}
    logged = {line["decision_id"]: line for line in lines if "dry_run" not in line["labels"]}
    # Each stored decision exactly once, with its id, path, input, result and the bundle's revision.
    assert set(logged) == set(stored) and len(logged) == len(lines) - 1
    revision = PolicyBundle.load(home.cli.env["FTGATE_POLICY_DIR"]).sha256
    for decision_id, line in logged.items():
        row = stored[decision_id]
        assert line["path"] == row.entrypoint.replace(".", "/") + "/decision"
        assert line["input"] == row.input and line["requested_by"] == row.actor
        assert line["result"] == {"allow": row.allow, "reasons": row.reasons, "warnings": row.warnings,
                                  "review": row.review}  # fmt: skip
        assert line["bundles"] == {"ftgate": {"revision": row.bundle_sha256}}
        assert line["timestamp"].endswith("Z") and line["labels"]["app"] == "ftgate"
        assert line["labels"]["engine"] == row.engine and "timer_rego_query_eval_ns" in line["metrics"]
    assert {line["path"] for line in logged.values()} >= {
        "ftgate/dataset/decision", "ftgate/approvals/decision", "ftgate/authz/decision",
    }  # fmt: skip
    assert any(not line["result"]["allow"] for line in logged.values())  # the denial
    # The dry run stored nothing and is logged, marked as one.
    [dry_line] = [line for line in lines if line["labels"].get("dry_run") == "true"]
    assert dry_line["path"] == "ftgate/training/decision" and dry_line["decision_id"] not in stored
    assert dry_line["result"]["allow"] is True and dry_line["bundles"]["ftgate"]["revision"] == revision
    assert dry_line["requested_by"] == "alice"
    assert (home.path / "decisions.jsonl").stat().st_mode & 0o077 == 0  # owner only


def _api(settings: Settings) -> tuple[Runtime, TestClient, dict[str, str], dict[str, str]]:
    """A fresh home behind the HTTP API: the runtime, a client, and the admin's and alice's headers."""
    rt = Runtime(settings)
    admin = {"Authorization": f"Bearer {init_home(rt=rt)['token']}"}
    client = TestClient(create_app(runtime=rt))
    r = client.post(
        "/v1/users", headers=admin, json={"name": "alice", "role": "submitter", "team": "default"}
    )
    return rt, client, admin, {"Authorization": f"Bearer {r.json()['token']}"}


def test_repeated_denials_are_each_in_the_decision_log(tmp_path: Path) -> None:
    """A repeat is counted, not stored, and still logged: a fresh id, and `labels.repeat_of` the first's."""
    rt, client, _, alice = _api(Settings(home=tmp_path / "home", policy_dir=REPO_ROOT / "policies"))
    answers = [client.get("/v1/users", headers=alice) for _ in range(4)]
    assert {r.status_code for r in answers} == {403}
    first = answers[0].json()["details"]["decision_id"]
    lines = [json.loads(line) for line in (tmp_path / "home" / "decisions.jsonl").read_text().splitlines()]
    denials = [line for line in lines if line["input"].get("action") == "users.list"]
    assert len(denials) == 4 and all(line["result"]["allow"] is False for line in denials)
    assert denials[0]["decision_id"] == first and "repeat_of" not in denials[0]["labels"]
    repeats = denials[1:]
    assert all(line["labels"]["repeat_of"] == first for line in repeats)
    assert len({line["decision_id"] for line in denials}) == 4  # each its own event
    assert all(line["input"] == denials[0]["input"] for line in repeats)
    with rt.session() as session:
        stored = set(session.exec(select(PolicyDecisionRecord.id)))
    assert first in stored and not stored & {line["decision_id"] for line in repeats}
    rt.engine.dispose()


def test_decisions_go_to_opas_upload_api_and_a_hung_service_holds_up_no_request(tmp_path: Path) -> None:
    with log_service() as service:
        token = tmp_path / "dl-token"
        token.write_text("upload-token\n")
        settings = Settings(
            home=tmp_path / "home",
            policy_dir=REPO_ROOT / "policies",
            decision_log_url=service.url,
            decision_log_token_file=token,
            decision_log_upload_interval=0.1,
            log_level="CRITICAL",  # the decision log does not depend on it
        )
        service.release.clear()  # the service takes requests and answers none
        rt, client, admin, alice = _api(settings)
        sink = rt.decision_log.sink
        assert isinstance(sink, OpaUploadSink)
        assert service.arrived.wait(20)  # the uploader is stuck in a POST
        # Requests are answered all the same, allows and denials, repeats included ...
        assert client.get("/v1/users", headers=admin).status_code == 200
        assert [client.get("/v1/users", headers=alice).status_code for _ in range(3)] == [403] * 3
        # ... and their decisions wait in the buffer (or the upload under way), none lost.
        assert sink.pending >= 3 and sink.dropped == 0
        assert not (tmp_path / "home" / "decisions.jsonl").exists()  # the service replaces the file
        service.release.set()
        rt.close()  # the server's shutdown: what is buffered is uploaded
        assert sink.pending == 0

    events = service.accepted()
    assert all(u.headers["Authorization"] == "Bearer upload-token" for u in service.uploads)
    with rt.session() as session:
        stored = set(session.exec(select(PolicyDecisionRecord.id)))
    logged = {e["decision_id"] for e in events}
    assert stored <= logged  # every stored decision, at least once
    denials = [e for e in events if e["input"].get("action") == "users.list" and not e["result"]["allow"]]
    assert len(denials) == 3
    assert [e["labels"].get("repeat_of") for e in denials] == [None] + [denials[0]["decision_id"]] * 2
    rt.engine.dispose()


def test_a_cli_command_uploads_its_decisions_before_it_exits(tmp_path: Path) -> None:
    """The CLI has no shutdown of its own: the process's exit flushes the sink (real processes)."""
    with log_service() as service:
        env = {
            **os.environ,
            "FTGATE_HOME": str(tmp_path / "home"),
            "FTGATE_POLICY_DIR": str(REPO_ROOT / "policies"),
            "FTGATE_DECISION_LOG_URL": service.url,
            "FTGATE_DECISION_LOG_UPLOAD_INTERVAL": "600",  # only the exit can send them in time
        }
        ftgate = [sys.executable, "-m", "gateway.cli.main"]
        init = subprocess.run([*ftgate, "init", "--json"], env=env, capture_output=True, timeout=120)
        assert init.returncode == 0, init.stderr
        env["FTGATE_TOKEN"] = json.loads(init.stdout)["token"]
        listed = subprocess.run(
            [*ftgate, "users", "list", "--json"], env=env, capture_output=True, timeout=120
        )
        assert listed.returncode == 0, listed.stderr
        events = service.accepted()
    [allow] = [e for e in events if e["input"].get("action") == "users.list"]
    assert allow["path"] == "ftgate/authz/decision" and allow["result"]["allow"] is True
    assert allow["requested_by"] == "admin"
