"""Decision logs in OPA's format (issue 14, item 6): every stored decision and every dry run, one JSON
line each, in the file under the home, whatever the log level."""

from __future__ import annotations

import json
from typing import Any

from ftgate_testing import Home, approved_dataset, runtime_of
from sqlmodel import select

from gateway.models import PolicyDecisionRecord
from gateway.policy.bundle import PolicyBundle


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
