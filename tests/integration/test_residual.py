"""Residual findings through the upload, as users meet them: listed by record, field and type.

The config's CASE_REF values score 0.55 against a threshold of 0.65, so the main pass leaves them and
the independent residual check (its thresholds 0.15 lower, on another spaCy model) finds them: the same
thing a name the main model missed looks like, made certain. Compliance chooses in the config whether
such records refuse the upload (the default) or are left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ftgate_testing import Home, scanned
from typer.testing import CliRunner

from gateway.api.app import create_app
from gateway.cli.main import app
from gateway.redaction.config import CONFIG_RELATIVE_PATH, default_config
from gateway.runtime import Runtime
from gateway.services.users import init_home
from gateway.settings import Settings


def chat(user: str, **extra: Any) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "user", "content": user},
            {"role": "assistant", "content": "Thanks, I have noted it."},
        ],
        **extra,
    }


RECORDS = [
    chat("Please write to UtaKortig@jourrapide.com about my refund."),
    chat("Nothing personal here.", metadata={"ref": "see CASE-1234 and CASE-9876"}),
    *[chat(f"Explain how step {i} of binary search works.") for i in range(10)],
    chat("Still waiting on CASE-5555 from last week."),
]
RESIDUAL = [
    {"record": 1, "field": "metadata.ref", "entity": "CASE_REF", "count": 2},
    {"record": 12, "field": "messages[].content", "entity": "CASE_REF", "count": 1},
]


def config(action: str) -> dict[str, Any]:
    shipped = default_config().model_dump(mode="json")
    return {
        **shipped,
        "entities": {**shipped["entities"], "CASE_REF": {"threshold": 0.65}},
        "recognizers": [
            {
                "name": "case_ref",
                "entity": "CASE_REF",
                "patterns": [{"name": "case", "regex": r"\bCASE-\d{4}\b", "score": 0.55}],
            }
        ],
        "residual": action,
    }


def set_action(policy_dir: Path, action: str) -> None:
    (policy_dir / CONFIG_RELATIVE_PATH).write_text(json.dumps(config(action), indent=2))


def write(tmp_path: Path) -> Path:
    path = tmp_path / "chats.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    return path


def upload_args(path: Path) -> list[str]:
    return ["datasets", "upload", str(path), "--name=cases", "--purpose=style", "--classification=internal"]


def test_the_cli_refuses_and_lists_each_record_field_and_type(
    home: Home, policy_dir: Path, tmp_path: Path
) -> None:
    set_action(policy_dir, "refuse")
    path = write(tmp_path)
    refused = home.cli(*upload_args(path), token=home.alice, ok=False)
    error = refused["error"]
    assert error["code"] == "dataset_rejected"
    assert [r["code"] for r in error["details"]["reasons"]] == ["RESIDUAL_PII"]
    assert "2 record(s)" in error["message"]
    assert error["details"]["residual"] == RESIDUAL
    assert "en_core_web_sm" in error["details"]["residual_check"]
    assert "CASE-" not in json.dumps(refused)
    [dataset] = home.cli("datasets", "list", token=home.admin)["data"]  # it stays, saying why
    assert dataset["status"] == "refused" and dataset["redacted_sha256"] is None
    assert dataset["error"]["details"]["residual"] == RESIDUAL
    # Without --json: one line, then the table of what to fix.
    result = CliRunner().invoke(app, upload_args(path), env={**home.cli.env, "FTGATE_TOKEN": home.alice})
    assert result.exit_code == 1
    assert "2 record(s)" in result.stderr
    table = result.stderr[result.stderr.index("Personal data left") :]
    for row in RESIDUAL:
        assert str(row["record"]) in table and row["field"][:10] in table and "CASE_REF" in table


def test_drop_record_leaves_those_records_out_and_counts_them(
    home: Home, policy_dir: Path, tmp_path: Path
) -> None:
    set_action(policy_dir, "drop_record")
    ds = home.cli(*upload_args(write(tmp_path)), token=home.alice)
    report = ds["scan_report"]
    assert ds["records"] == len(RECORDS) - 2
    assert (report["records_dropped"], report["records_dropped_residual"]) == (2, 2)
    assert report["residual"] == RESIDUAL and report["residual_findings"] == 0
    out = tmp_path / "redacted.jsonl"
    home.cli("datasets", "download", ds["id"], "-o", str(out), token=home.bob)
    stored = out.read_text()
    assert "CASE-" not in stored and "<EMAIL_ADDRESS_1>" in stored
    result = CliRunner().invoke(
        app, ["datasets", "show", ds["id"]], env={**home.cli.env, "FTGATE_TOKEN": home.bob}
    )
    assert result.exit_code == 0 and "Records left out" in result.stdout


@pytest.fixture
def api(tmp_path: Path, policy_dir: Path) -> Iterator[tuple[TestClient, Runtime, str]]:
    rt = Runtime(Settings(home=tmp_path / "home", policy_dir=policy_dir))
    admin = init_home(rt=rt)["token"]
    client = TestClient(create_app(runtime=rt))
    body = {"name": "alice", "role": "submitter", "team": "default"}
    r = client.post("/v1/users", headers={"Authorization": f"Bearer {admin}"}, json=body)
    assert r.status_code == 201, r.text
    yield client, rt, r.json()["token"]


@pytest.mark.parametrize("action", ["refuse", "drop_record"])
def test_the_api_returns_the_residual_findings(
    api: tuple[TestClient, Runtime, str], policy_dir: Path, action: str
) -> None:
    set_action(policy_dir, action)
    client, rt, token = api
    content = "".join(json.dumps(r) + "\n" for r in RECORDS).encode()
    form = {"name": "cases", "purpose": "style", "classification": "internal"}
    r = client.post(
        "/v1/datasets",
        headers={"Authorization": f"Bearer {token}"},
        files={"file": ("d.jsonl", content)},
        data=form,
    )
    ds = scanned(client, {"Authorization": f"Bearer {token}"}, r)
    if action == "refuse":
        assert ds["status"] == "refused", ds
        assert ds["error"]["details"]["residual"] == RESIDUAL
        assert ds["redacted_sha256"] is None  # nothing of it is kept
        assert not [p for p in rt.settings.blob_dir.rglob("*") if p.is_file()]
    else:
        assert ds["status"] == "pending_review", ds
        assert ds["scan_report"]["residual"] == RESIDUAL
        assert ds["records"] == len(RECORDS) - 2
