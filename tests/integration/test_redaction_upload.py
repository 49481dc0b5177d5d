"""Redaction through the upload path, CLI and HTTP: the compliance config decides what is found and how
it is replaced; a broken config or scanner refuses the upload and leaves nothing behind."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ftgate_testing import Home, scanned
from sqlmodel import select

from gateway.api.app import create_app
from gateway.models import Dataset
from gateway.redaction.config import CONFIG_RELATIVE_PATH
from gateway.redaction.normalize import normalize
from gateway.redaction.operators import PLACEHOLDER_RE
from gateway.runtime import Runtime
from gateway.services.users import init_home
from gateway.settings import REPO_ROOT, Settings


def _load_evasion() -> Any:
    # The labelled evasion set is built by the benchmark's script; tests and figures share the cases.
    spec = importlib.util.spec_from_file_location(
        "redaction_evasion", REPO_ROOT / "benchmarks/redaction_evasion.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


evasion = _load_evasion()

EMAIL = "UtaKortig@jourrapide.com"
ALLOWED = "support@acme.com"
PHONE = "212 555 0178"
CARD = 4454794511390933  # a JSON integer, not a string
SSN = "460-89-9847"
EMPLOYEE = "EMP-123456"
RAW = [EMAIL, PHONE, str(CARD), SSN, EMPLOYEE]

CONFIG: dict[str, Any] = {
    "default_threshold": 0.5,
    "entities": {
        "PERSON": {},
        "EMAIL_ADDRESS": {},
        "PHONE_NUMBER": {"threshold": 0.4, "operator": "mask", "keep_last": 2},
        "CREDIT_CARD": {"operator": "hash"},
        "US_SSN": {"operator": "drop_record"},
    },
    "allow_list": [ALLOWED],
    "recognizers": [
        {
            "name": "employee_id",
            "entity": "EMPLOYEE_ID",
            "patterns": [{"name": "emp", "regex": r"\bEMP-\d{6}\b", "score": 0.4}],
            "context": ["employee"],
        }
    ],
}


def chat(user: str, **extra: Any) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "user", "content": user},
            {"role": "assistant", "content": "Thanks, I have noted it."},
        ],
        **extra,
    }


RECORDS = [
    chat(f"Please write to {EMAIL}, or copy {ALLOWED}."),
    chat(f"Reach me at {PHONE} after lunch."),
    chat("Update my card on file.", metadata={"card": CARD}),
    chat(f"My social security number is {SSN}."),  # dropped
    chat(f"The employee {EMPLOYEE} asked for leave."),
    *[chat(f"Explain how step {i} of binary search works.") for i in range(7)],
]
KEPT = len(RECORDS) - 1


def jsonl(records: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


@pytest.fixture
def policy_dir(policy_dir: Path) -> Path:
    """The shared policy copy with this module's redaction config: a compliance edit, no code."""
    (policy_dir / CONFIG_RELATIVE_PATH).write_text(json.dumps(CONFIG, indent=2))
    return policy_dir


def check_stored(stored: bytes, report: dict[str, Any]) -> None:
    """What every path must store and report for RECORDS under CONFIG."""
    assert not any(raw.encode() in stored for raw in RAW)
    lines = [json.loads(line) for line in stored.splitlines()]
    assert len(lines) == KEPT
    assert lines[0]["messages"][0]["content"] == f"Please write to <EMAIL_ADDRESS_1>, or copy {ALLOWED}."
    assert lines[1]["messages"][0]["content"] == "Reach me at **********78 after lunch."
    assert lines[2]["metadata"]["card"].startswith("<CREDIT_CARD#")
    assert lines[3]["messages"][0]["content"] == "The employee <EMPLOYEE_ID_1> asked for leave."
    assert report["records"] == len(RECORDS)
    assert report["records_dropped"] == 1 and report["records_changed"] == 4
    assert report["entities"] == {
        "CREDIT_CARD": 1,
        "EMAIL_ADDRESS": 1,
        "EMPLOYEE_ID": 1,
        "PHONE_NUMBER": 1,
        "US_SSN": 1,
    }
    assert report["fields"] == {"messages[].content": 4, "metadata.card": 1}
    assert report["operators"]["PHONE_NUMBER"] == "mask" and report["operators"]["US_SSN"] == "drop_record"
    assert report["residual_findings"] == 0
    assert not any(raw in json.dumps(report) for raw in RAW)


def test_config_applies_through_the_cli(home: Home, tmp_path: Path) -> None:
    data = tmp_path / "chats.jsonl"
    data.write_bytes(jsonl(RECORDS))
    ds = home.cli(
        "datasets", "upload", str(data), "--name=pii", "--purpose=style", "--classification=internal",
        token=home.alice,
    )  # fmt: skip
    assert ds["records"] == KEPT
    assert ds["raw_sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    out = tmp_path / "redacted.jsonl"
    home.cli("datasets", "download", ds["id"], "-o", str(out), token=home.bob)
    stored = out.read_bytes()
    assert hashlib.sha256(stored).hexdigest() == ds["redacted_sha256"]
    check_stored(stored, ds["scan_report"])


def _compact(text: str) -> str:
    """Placeholders out, disguises undone, only letters and digits: what a leak would still show."""
    return re.sub(r"\W", "", normalize(PLACEHOLDER_RE.sub(" ", text)).text)


@pytest.mark.parametrize("via", ["cli", "http"])
def test_disguised_values_are_redacted_through_the_upload(
    via: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The evasion set (every disguise) as chat records: no value survives in any form."""
    cases = [case for case in evasion.build_evasion_set() if case.entity in CONFIG["entities"]]
    content = jsonl([chat(case.text) for case in cases])
    if via == "cli":
        home: Home = request.getfixturevalue("home")
        data = tmp_path / "disguised.jsonl"
        data.write_bytes(content)
        ds = home.cli(
            "datasets", "upload", str(data), "--name=disguised", "--purpose=style",
            "--classification=internal", token=home.alice,
        )  # fmt: skip
        out = tmp_path / "redacted.jsonl"
        home.cli("datasets", "download", ds["id"], "-o", str(out), token=home.bob)
        stored = out.read_text()
    else:
        client, _, tokens = request.getfixturevalue("api")
        ds = upload(client, tokens["alice"], content)
        assert ds["status"] == "pending_review", ds
        headers = {"Authorization": f"Bearer {tokens['bob']}"}
        stored = client.get(f"/v1/datasets/{ds['id']}/download", headers=headers).text
    ssn_cases = sum(case.entity == "US_SSN" for case in cases)
    assert ds["records"] == len(cases) - ssn_cases  # drop_record under this module's config
    assert ds["scan_report"]["residual_findings"] == 0
    leaked = [case.id for case in cases if _compact(case.value) in _compact(stored)]
    assert leaked == []


def test_broken_config_refuses_the_upload_and_stores_nothing(
    home: Home, policy_dir: Path, tmp_path: Path
) -> None:
    (policy_dir / CONFIG_RELATIVE_PATH).write_text(json.dumps({**CONFIG, "entities": {"EMAIL": {}}}))
    data = tmp_path / "chats.jsonl"
    data.write_bytes(jsonl(RECORDS))
    refused = home.cli(
        "datasets", "upload", str(data), "--name=pii", "--purpose=style", "--classification=internal",
        token=home.alice, ok=False,
    )  # fmt: skip
    assert refused["error"]["code"] == "config_error"
    assert "EMAIL" in refused["error"]["message"]
    assert home.cli("datasets", "list", token=home.admin)["count"] == 0
    assert not [p for p in (home.path / "blobs").rglob("*") if p.is_file()]


@pytest.fixture
def api(tmp_path: Path, policy_dir: Path) -> Iterator[tuple[TestClient, Runtime, dict[str, str]]]:
    rt = Runtime(Settings(home=tmp_path / "home", policy_dir=policy_dir))
    admin = init_home(rt=rt)["token"]
    client = TestClient(create_app(runtime=rt))
    tokens = {}
    for name, role in [("alice", "submitter"), ("bob", "approver")]:
        body = {"name": name, "role": role, "team": "default" if role == "submitter" else "compliance"}
        r = client.post("/v1/users", headers={"Authorization": f"Bearer {admin}"}, json=body)
        assert r.status_code == 201, r.text
        tokens[name] = r.json()["token"]
    yield client, rt, tokens


def upload(client: TestClient, token: str, content: bytes) -> dict[str, Any]:
    """The dataset as its scan ended."""
    form = {"name": "pii", "purpose": "style", "classification": "internal"}
    headers = {"Authorization": f"Bearer {token}"}
    r = client.post("/v1/datasets", headers=headers, files={"file": ("d.jsonl", content)}, data=form)
    return scanned(client, headers, r)


def test_config_applies_through_http(api: tuple[TestClient, Runtime, dict[str, str]]) -> None:
    client, _, tokens = api
    ds = upload(client, tokens["alice"], jsonl(RECORDS))
    assert ds["status"] == "pending_review", ds
    assert ds["records"] == KEPT
    r = client.get(f"/v1/datasets/{ds['id']}/download", headers={"Authorization": f"Bearer {tokens['bob']}"})
    assert r.status_code == 200
    check_stored(r.content, ds["scan_report"])


def test_dropping_below_the_minimum_is_refused_by_policy(
    api: tuple[TestClient, Runtime, dict[str, str]],
) -> None:
    """Records left out by drop_record do not count toward the admission minimum."""
    client, rt, tokens = api
    records = [chat(f"My social security number is {SSN}.")] + RECORDS[5:] + RECORDS[:2]  # 10 in, 9 kept
    ds = upload(client, tokens["alice"], jsonl(records))
    assert ds["status"] == "refused", ds
    assert "TOO_FEW_RECORDS" in {reason["code"] for reason in ds["error"]["details"]["reasons"]}
    # Nothing is left behind. Under load a scan's lease can pass to the other scan worker, whose refusal
    # may land while the first worker is still throwing its own temporary away: wait for both.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _left(rt):
        time.sleep(0.2)
    assert _left(rt) == []


def _left(rt: Runtime) -> list[Path]:
    return [p for d in (rt.settings.blob_dir, rt.settings.incoming_dir) for p in d.rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        # Valid JSON naming an entity no recognizer knows: the scanner refuses to start.
        (json.dumps({**CONFIG, "entities": {"EMAIL": {}}}), 500, "config_error"),
        (json.dumps({**CONFIG, "allow_lists": []}), 500, "config_error"),
        # Not JSON: the file is part of the policy bundle, so the policy engine fails closed first.
        ("{not json", 403, "forbidden"),
    ],
)
def test_broken_config_over_http_refuses_and_stores_nothing(
    api: tuple[TestClient, Runtime, dict[str, str]], policy_dir: Path, content: str, status: int, code: str
) -> None:
    client, rt, tokens = api
    (policy_dir / CONFIG_RELATIVE_PATH).write_text(content)
    form = {"name": "pii", "purpose": "style", "classification": "internal"}
    headers = {"Authorization": f"Bearer {tokens['alice']}"}
    files = {"file": ("d.jsonl", jsonl(RECORDS))}
    r = client.post("/v1/datasets", headers=headers, files=files, data=form)  # refused before it is kept
    assert r.status_code == status and r.json()["code"] == code, r.text
    assert not [p for p in rt.settings.incoming_dir.rglob("*") if p.is_file()]
    assert not [p for p in rt.settings.blob_dir.rglob("*") if p.is_file()]
    with rt.session() as session:
        assert session.exec(select(Dataset)).all() == []
