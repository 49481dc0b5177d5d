"""No personal data enters the audit log through a name or a note (issue 11, item 7).

The log is append-only: once a dataset name or a review note holding an email address is in it, nothing
can take it out. So every such text is scanned before anything is stored, and a finding refuses the
request with the entity types (never the value) while the log, the tables and the database file stay
exactly as they were. Driven through the CLI and the HTTP API, as users do.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ftgate_testing import EXAMPLE, Home, approved_dataset, make_home, submit, upload
from sqlmodel import col, select
from typer.testing import CliRunner

from audit.models import AuditEntry
from gateway.api.app import create_app
from gateway.cli.main import app as cli_app
from gateway.errors import RedactionError
from gateway.redaction import Scanner
from gateway.runtime import Runtime
from gateway.settings import REPO_ROOT, Settings
from trainer.models import BaseModelRef

CLEAN = "looks good, checked the report"


@dataclass(frozen=True)
class Pii:
    """A text holding personal data: the value that must never be stored, and its entity type."""

    kind: str
    text: str
    value: str
    entity: str


PII = [
    Pii("email", "ask zoe.quintero@example.net first", "zoe.quintero@example.net", "EMAIL_ADDRESS"),
    Pii("ssn", "her SSN is 536-22-8725", "536-22-8725", "US_SSN"),
    Pii("phone", "call me on 212-555-0198", "212-555-0198", "PHONE_NUMBER"),
    Pii("card", "card 4111 1111 1111 1111 on file", "4111 1111 1111 1111", "CREDIT_CARD"),
    Pii("person", "checked with Giulia Bianchi", "Giulia Bianchi", "PERSON"),
]


@dataclass
class World:
    """One home with something to act on for every field: refusals change nothing, so tests share it."""

    home: Home
    policy_dir: Path
    pending: str  # a dataset uploaded, not reviewed
    approved: str  # an approved dataset
    held_job: str  # a job the training policy holds for review
    adapter: str  # a trained adapter, not released


def _policies(target: Path) -> Path:
    """The shipped policies with the tiny test model allowed (as tests/integration/conftest.py does)."""
    shutil.copytree(REPO_ROOT / "policies", target)
    data_file = target / "ftgate" / "config" / "data.json"
    data = json.loads(data_file.read_text())
    data["teams"]["default"]["base_models"].append("tiny-llama")
    data_file.write_text(json.dumps(data, indent=2))
    return target


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, tiny_model: BaseModelRef) -> World:
    root = tmp_path_factory.mktemp("metadata-pii")
    policy_dir = _policies(root / "policies")
    home = make_home(root / "home", policy_dir, tiny_model.path)
    home.cli.env["FTGATE_LOG_LEVEL"] = "DEBUG"  # every log line the requests write is checked below
    trained = approved_dataset(home)
    submit(home, trained["id"])
    assert [j["status"] for j in home.cli("worker", "--once", token=home.admin)["data"]] == ["succeeded"]
    [adapter] = home.cli("adapters", "list", token=home.alice)["data"]
    held = submit(home, approved_dataset(home, "restricted")["id"])
    assert held["status"] == "pending_review", held
    return World(
        home=home,
        policy_dir=policy_dir,
        pending=upload(home, name="pending")["id"],
        approved=trained["id"],
        held_job=held["id"],
        adapter=adapter["id"],
    )


def _upload_named(w: World, text: str) -> list[str]:
    return [
        "datasets",
        "upload",
        str(EXAMPLE),
        f"--name={text}",
        "--purpose=style",
        "--classification=internal",
    ]


# Each field bound for the log: how the CLI sends it, and the field the error names.
CliRequest = Callable[[World, str], list[str]]
CLI_FIELDS: dict[str, tuple[CliRequest, str]] = {
    "dataset name": (_upload_named, "name"),
    "dataset approve note": (lambda w, text: ["datasets", "approve", w.pending, "--note", text], "note"),
    "dataset reject note": (lambda w, text: ["datasets", "reject", w.pending, "--note", text], "note"),
    "dataset revoke note": (lambda w, text: ["datasets", "revoke", w.approved, "--note", text], "note"),
    "adapter release note": (lambda w, text: ["adapters", "release", w.adapter, "--note", text], "note"),
    "job approve note": (lambda w, text: ["jobs", "approve", w.held_job, "--note", text], "note"),
    "job reject note": (lambda w, text: ["jobs", "reject", w.held_job, "--note", text], "note"),
    "unregistered base model": (
        lambda w, text: ["jobs", "submit", "--dataset", w.approved, "--base-model", text],
        "base_model",
    ),
}


def _token(w: World, field: str) -> str:
    """The user who may make the request: alice uploads and submits, dave reviews and releases."""
    return w.home.alice if field in {"dataset name", "unregistered base model"} else w.home.dave


@dataclass(frozen=True)
class Snapshot:
    rows: dict[str, int]
    log: list[tuple[int, str, str, str, str]]


def _db(home: Home) -> Path:
    return home.path / "ftgate.db"


def snapshot(home: Home) -> Snapshot:
    """The row count of every table and every log entry, read straight from the SQLite file."""
    conn = sqlite3.connect(f"file:{_db(home)}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()
    rt = Runtime(home.settings())
    with rt.session() as session:
        entries = session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))
        log = [(e.seq, e.actor, e.action, e.subject, e.payload) for e in entries]
    rt.engine.dispose()
    return Snapshot(rows=rows, log=log)


def _forms(value: str) -> set[bytes]:
    """The value as it could sit in a file: UTF-8, JSON-escaped, and its digits alone for numbers."""
    forms = {value.encode(), json.dumps(value)[1:-1].encode()}
    digits = "".join(c for c in value if c.isdigit())
    if len(digits) >= 9:
        forms.add(digits.encode())
    return forms


def files_holding(home: Home, value: str) -> list[str]:
    """Every file under the home (the database, its WAL, blobs, adapters, keys) whose bytes hold value."""
    forms = _forms(value)
    return sorted(
        str(p.relative_to(home.path))
        for p in home.path.rglob("*")
        if p.is_file() and any(form in p.read_bytes() for form in forms)
    )


def assert_nothing_stored(w: World, before: Snapshot, value: str) -> None:
    after = snapshot(w.home)
    assert after == before, "a refused request stored something"
    assert not any(value in json.dumps(entry) for entry in after.log)
    assert files_holding(w.home, value) == []
    verified = w.home.cli("audit", "verify", token=w.home.carol)
    assert verified["status"] == "verified" and verified["entries"] == len(before.log)


def assert_refusal(error: dict[str, Any], field: str, pii: Pii) -> None:
    assert error["code"] == "pii_in_text", error
    assert error["details"]["field"] == field
    assert pii.entity in error["details"]["entities"], error
    assert pii.entity in error["message"] and "audit log" in error["message"]
    assert pii.value not in json.dumps(error)


@pytest.mark.parametrize("pii", PII, ids=lambda p: p.kind)
@pytest.mark.parametrize("field", list(CLI_FIELDS))
def test_cli_refuses_personal_data_and_stores_nothing(world: World, field: str, pii: Pii) -> None:
    request, field_name = CLI_FIELDS[field]
    before = snapshot(world.home)
    assert files_holding(world.home, pii.value) == []
    # A base model's name is one word (gateway/contract.py): the email alone is a word the scan must
    # catch; a text with spaces is refused by the contract first, naming the rule and not the value.
    one_word = field == "unregistered base model" and pii.kind == "email"
    text = pii.value if one_word else pii.text
    refused = world.home.cli(*request(world, text), token=_token(world, field), ok=False)
    if field == "unregistered base model" and not one_word:
        assert refused["error"]["code"] == "invalid_input"
        assert [e["field"] for e in refused["error"]["details"]["errors"]] == ["base_model"]
        assert pii.value not in json.dumps(refused)
    else:
        assert_refusal(refused["error"], field_name, pii)
    assert pii.value not in world.home.cli.last_stderr  # the log lines (DEBUG and up)
    assert_nothing_stored(world, before, pii.value)


def test_cli_prints_one_line_naming_the_entities(world: World) -> None:
    env = {**world.home.cli.env, "FTGATE_TOKEN": world.home.dave, "COLUMNS": "500"}  # no wrapping
    args = ["datasets", "approve", world.pending, "--note", "mail jo.pix@example.org or 212-555-0198"]
    result = CliRunner().invoke(cli_app, args, env=env, catch_exceptions=False)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if not line.startswith("{")]  # structlog is JSON
    assert lines == [
        "error (pii_in_text): the note holds personal data (EMAIL_ADDRESS, PHONE_NUMBER): names and notes "
        "are kept in the audit log for good, so remove it"
    ]


def test_every_field_of_an_upload_is_scanned_and_each_finding_named(world: World) -> None:
    before = snapshot(world.home)
    refused = upload(
        world.home, name="chats for jo.pix@example.org", purpose="Giulia Bianchi's project", ok=False
    )["error"]
    assert refused["code"] == "pii_in_text"
    assert refused["details"]["field"] == "name"
    assert refused["details"]["fields"] == {"name": ["EMAIL_ADDRESS"], "purpose": ["PERSON"]}
    assert refused["message"].startswith("the name (EMAIL_ADDRESS) and the purpose (PERSON) hold personal")
    assert_nothing_stored(world, before, "jo.pix@example.org")
    assert files_holding(world.home, "Giulia Bianchi") == []


# The same fields over HTTP (job reviews have no route yet): each with one kind of personal data.
HttpRequest = Callable[[TestClient, World, str, dict[str, str]], Any]
HTTP_FIELDS: dict[str, tuple[HttpRequest, str, Pii]] = {
    "dataset name": (
        lambda c, w, text, h: c.post(
            "/v1/datasets",
            headers=h,
            files={"file": ("d.jsonl", EXAMPLE.read_bytes())},
            data={"name": text, "purpose": "style", "classification": "internal"},
        ),
        "name",
        PII[0],
    ),
    "dataset approve note": (
        lambda c, w, text, h: c.post(f"/v1/datasets/{w.pending}/approve", headers=h, json={"note": text}),
        "note",
        PII[1],
    ),
    "dataset reject note": (
        lambda c, w, text, h: c.post(f"/v1/datasets/{w.pending}/reject", headers=h, json={"note": text}),
        "note",
        PII[2],
    ),
    "dataset revoke note": (
        lambda c, w, text, h: c.post(f"/v1/datasets/{w.approved}/revoke", headers=h, json={"note": text}),
        "note",
        PII[3],
    ),
    "adapter release note": (
        lambda c, w, text, h: c.post(f"/v1/adapters/{w.adapter}/release", headers=h, json={"note": text}),
        "note",
        PII[4],
    ),
    "unregistered base model": (
        lambda c, w, text, h: c.post(
            "/v1/jobs", headers=h, json={"dataset_id": w.approved, "base_model": text, "dry_run": True}
        ),
        "base_model",
        PII[0],
    ),
}


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    rt = Runtime(Settings(home=world.home.path, policy_dir=world.policy_dir, log_level="DEBUG"))
    with TestClient(create_app(runtime=rt)) as client:
        yield client
    rt.engine.dispose()


@pytest.mark.parametrize("field", list(HTTP_FIELDS))
def test_http_answers_422_and_stores_nothing(
    world: World, client: TestClient, field: str, capsys: pytest.CaptureFixture[str]
) -> None:
    request, field_name, pii = HTTP_FIELDS[field]
    before = snapshot(world.home)
    headers = {"Authorization": f"Bearer {_token(world, field)}"}
    # A base model's name is one word (gateway/contract.py): the email alone, which the scan must catch.
    response = request(client, world, pii.value if field == "unregistered base model" else pii.text, headers)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert_refusal({**problem, "message": problem["detail"]}, field_name, pii)
    assert pii.value not in capsys.readouterr().err
    assert_nothing_stored(world, before, pii.value)


class BrokenScanner(Scanner):
    """The real scanner, failing as `entities_in` does when spaCy or Presidio crash."""

    def entities_in(self, texts: Sequence[str]) -> list[list[str]]:
        raise RedactionError("scanner failed: RuntimeError")


def test_a_scanner_failure_refuses_the_request(world: World) -> None:
    rt = Runtime(Settings(home=world.home.path, policy_dir=world.policy_dir))
    rt.__dict__["scanner"] = BrokenScanner(pseudonym_key=b"unused")  # what the cached property holds
    before = snapshot(world.home)
    with TestClient(create_app(runtime=rt)) as client:
        response = client.post(
            f"/v1/datasets/{world.pending}/approve",
            headers={"Authorization": f"Bearer {world.home.dave}"},
            json={"note": CLEAN},
        )
    rt.engine.dispose()
    assert response.status_code == 503, response.text
    assert response.json()["code"] == RedactionError.code
    assert "looks good" not in response.text
    assert snapshot(world.home) == before


def test_clean_texts_pass_and_are_logged(home: Home, policy_dir: Path) -> None:
    cli = home.cli
    uploaded = upload(home, name="support chats, second batch")
    rejected = upload(home, name="support chats, draft")
    cli("datasets", "approve", uploaded["id"], "--note", CLEAN, token=home.bob)
    cli("datasets", "reject", rejected["id"], "--note", "wrong purpose, resubmit as task", token=home.bob)
    submit(home, uploaded["id"])
    [done] = cli("worker", "--once", token=home.admin)["data"]
    cli("adapters", "release", done["adapter_id"], "--note", "evaluated, ship it", token=home.dave)
    restricted = approved_dataset(home, "restricted")["id"]
    signed_off, turned_down = submit(home, restricted), submit(home, restricted)
    cli("jobs", "approve", signed_off["id"], "--note", "small run on restricted data: ok", token=home.bob)
    cli("jobs", "reject", turned_down["id"], "--note", "not this quarter", token=home.dave)
    cli("datasets", "revoke", uploaded["id"], "--note", "licence withdrawn by the data owner", token=home.bob)

    rt = Runtime(home.settings())
    logged: dict[str, list[dict[str, Any]]] = {}
    with rt.session() as session:
        for entry in session.exec(select(AuditEntry).order_by(col(AuditEntry.seq))):
            logged.setdefault(entry.action, []).append(json.loads(entry.payload))
    rt.engine.dispose()

    def texts(action: str, key: str) -> list[str]:
        return [payload[key] for payload in logged[action]]

    assert {"support chats, second batch", "support chats, draft"} <= set(texts("dataset.uploaded", "name"))
    assert CLEAN in texts("dataset.approved", "note")
    assert texts("dataset.rejected", "note") == ["wrong purpose, resubmit as task"]
    assert texts("adapter.released", "note") == ["evaluated, ship it"]
    assert texts("job.review_approved", "note") == ["small run on restricted data: ok"]
    assert texts("job.review_rejected", "note") == ["not this quarter"]
    assert texts("dataset.revoked", "note") == ["licence withdrawn by the data owner"]
    assert texts("adapter.quarantined", "note") == ["licence withdrawn by the data owner"]
    assert cli("audit", "verify", token=home.carol)["status"] == "verified"
    # The byte search the refusals rely on does find a text that was stored.
    if "FTGATE_DATABASE_URL" not in home.cli.env:  # the embedded database: a file in the home
        assert {"ftgate.db", "ftgate.db-wal"} & set(files_holding(home, "wrong purpose, resubmit as task"))


@pytest.mark.parametrize(("field", "limit"), [("name", 200), ("note", 4000)])
def test_a_text_longer_than_its_field_allows_is_refused_before_it_is_scanned(
    home: Home, field: str, limit: int
) -> None:
    long = "x" * (limit + 1)
    if field == "name":
        refused = upload(home, ok=False, name=long)
    else:
        ds = upload(home)
        refused = home.cli("datasets", "approve", ds["id"], "--note", long, token=home.bob, ok=False)
    assert refused["error"]["code"] == "invalid_input"
    [error] = refused["error"]["details"]["errors"]
    assert error["field"] == field and error["type"] == "string_too_long"
    assert f"at most {limit} characters" in error["message"]
