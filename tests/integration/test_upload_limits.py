"""Input limits through the upload path, CLI and HTTP: a record over a limit refuses the upload, naming
the limit, the line, the record and the field but never the value, before anything is analysed or
stored; the limits are the deployment's settings (FTGATE_MAX_STRING_CHARS, FTGATE_MAX_RECORD_BYTES,
FTGATE_MAX_RECORD_DEPTH)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ftgate_testing import Home
from sqlmodel import select

from gateway.api.app import create_app
from gateway.models import Dataset
from gateway.redaction.scanner import Scanner
from gateway.runtime import Runtime
from gateway.services.users import init_home
from gateway.settings import Settings

VALUE = "Giulia Bianchi, giulia.bianchi@example.com "  # must never appear in a refusal


def chat(user: Any, **extra: Any) -> dict[str, Any]:
    return {
        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": "Noted."}],
        **extra,
    }


def jsonl_of(*records: dict[str, Any] | bytes) -> bytes:
    """Records as JSONL; a record given as bytes is one line already."""
    return b"".join(r if isinstance(r, bytes) else (json.dumps(r) + "\n").encode() for r in records)


# Lists nested 10,000 deep, written out: json.dumps (and json.loads) would recurse past Python's limit.
DEEP = (
    b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}], "metadata": '
)
DEEP += b"[" * 10_000 + b"]" * 10_000 + b"}\n"


FILLER = [chat(f"How do I export report {i} as CSV?") for i in range(9)]

# (what goes over, the record at line 10, the setting it trips, where the refusal says it is)
CASES = [
    (
        "string",
        chat(VALUE * 2_400),
        "FTGATE_MAX_STRING_CHARS",
        "line 10 (record 10), field messages[0].content,",
    ),
    ("key", chat("hi", metadata={VALUE * 2_400: 1}), "FTGATE_MAX_STRING_CHARS", "field metadata.{key},"),
    (
        "record",
        chat("hi", metadata=[VALUE * 2_000] * 14),
        "FTGATE_MAX_RECORD_BYTES",
        "line 10 (record 10) is over",
    ),
    ("nesting", DEEP, "FTGATE_MAX_RECORD_DEPTH", "field metadata[0][0]"),
]


def _stored_nothing(home: Path) -> bool:
    return not [p for p in (home / "blobs").rglob("*") if p.is_file()]


@pytest.mark.parametrize(("kind", "record", "setting", "where"), CASES, ids=[c[0] for c in CASES])
def test_over_a_limit_is_refused_through_the_cli(
    home: Home, tmp_path: Path, kind: str, record: dict[str, Any] | bytes, setting: str, where: str
) -> None:
    data = tmp_path / f"{kind}.jsonl"
    data.write_bytes(jsonl_of(*FILLER, record))
    refused = home.cli(
        "datasets", "upload", str(data), "--name=limits", "--purpose=style", "--classification=internal",
        token=home.alice, ok=False,
    )  # fmt: skip
    error = refused["error"]
    assert error["code"] == "invalid_input"
    assert where in error["message"] and setting in error["message"]
    assert VALUE.strip() not in json.dumps(refused)
    assert home.cli("datasets", "list", token=home.admin)["count"] == 0
    assert _stored_nothing(home.path)


def test_the_cli_reads_the_limits_from_the_settings(home: Home, tmp_path: Path) -> None:
    data = tmp_path / "chats.jsonl"
    data.write_bytes(jsonl_of(*FILLER, chat("A sentence of more than forty characters, but ordinary.")))
    home.cli.env["FTGATE_MAX_STRING_CHARS"] = "40"
    refused = home.cli(
        "datasets", "upload", str(data), "--name=limits", "--purpose=style", "--classification=internal",
        token=home.alice, ok=False,
    )  # fmt: skip
    assert "over the limit of 40 (FTGATE_MAX_STRING_CHARS)" in refused["error"]["message"]
    del home.cli.env["FTGATE_MAX_STRING_CHARS"]
    uploaded = home.cli(
        "datasets", "upload", str(data), "--name=limits", "--purpose=style", "--classification=internal",
        token=home.alice,
    )  # fmt: skip
    assert uploaded["records"] == 10


class NoAnalysis(Scanner):
    """A scanner that fails the test if an upload's records reach it: the limits come first.

    It still answers the name check that precedes the upload (`entities_in`): those names are clean.
    """

    def __init__(self) -> None:  # no analyzer: nothing here may load or run one
        self.analysed = 0

    def entities_in(self, texts: Any) -> list[list[str]]:
        return [[] for _ in texts]

    def scan_stream(self, *args: Any, **kwargs: Any) -> Any:
        self.analysed += 1
        raise AssertionError("an upload over a limit reached the scanner")


@pytest.fixture
def api(tmp_path: Path, policy_dir: Path) -> Iterator[tuple[TestClient, Runtime, dict[str, str]]]:
    rt = Runtime(Settings(home=tmp_path / "home", policy_dir=policy_dir))
    rt.__dict__["scanner"] = NoAnalysis()  # the cached property, set before anything asks for it
    admin = init_home(rt=rt)["token"]
    client = TestClient(create_app(runtime=rt))
    body = {"name": "alice", "role": "submitter", "team": "default"}
    r = client.post("/v1/users", headers={"Authorization": f"Bearer {admin}"}, json=body)
    assert r.status_code == 201, r.text
    yield client, rt, {"alice": r.json()["token"]}


@pytest.mark.parametrize(("kind", "record", "setting", "where"), CASES, ids=[c[0] for c in CASES])
def test_over_a_limit_is_refused_over_http_before_analysis(
    api: tuple[TestClient, Runtime, dict[str, str]],
    kind: str,
    record: dict[str, Any],
    setting: str,
    where: str,
) -> None:
    client, rt, tokens = api
    form = {"name": "limits", "purpose": "style", "classification": "internal"}
    files = {"file": ("d.jsonl", jsonl_of(*FILLER, record))}
    r = client.post(
        "/v1/datasets", headers={"Authorization": f"Bearer {tokens['alice']}"}, files=files, data=form
    )
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "invalid_input" and problem["status"] == 422
    assert where in problem["detail"] and setting in problem["detail"]
    assert problem["details"]["line"] == 10 and problem["details"]["record"] == 10
    assert problem["details"]["limit"] == setting.removeprefix("FTGATE_").lower()
    assert VALUE.strip() not in r.text
    assert isinstance(rt.scanner, NoAnalysis) and rt.scanner.analysed == 0
    assert not [p for p in rt.settings.blob_dir.rglob("*") if p.is_file()]
    with rt.session() as session:
        assert session.exec(select(Dataset)).all() == []
