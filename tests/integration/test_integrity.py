"""Fail closed: tampering, broken engines and changed data all end in a refusal that says why."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from ftgate_testing import EXAMPLE, Cli, Home, approved_dataset, audit_count, make_home, submit, upload
from presidio_analyzer import AnalyzerEngine

from gateway.api.app import create_app
from gateway.errors import RedactionError
from gateway.redaction.engine import build_analyzer
from gateway.redaction.scanner import Scanner
from gateway.runtime import Runtime
from gateway.services.datasets import upload_dataset
from gateway.services.users import authenticate
from trainer.models import BaseModelRef


def test_database_refuses_update_and_delete_on_the_log(home: Home) -> None:
    db = sqlite3.connect(home.path / "ftgate.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE audit_entries SET actor = 'mallory' WHERE seq = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit_entries WHERE seq = 1")


@pytest.mark.parametrize(
    "statement, names",
    [
        ("UPDATE audit_entries SET payload = '{}' WHERE seq = 4", "entry 4"),
        ("UPDATE audit_entries SET actor = 'nobody' WHERE seq = 2", "entry 2"),
        ("DELETE FROM audit_entries WHERE seq = 3", "entry 3"),
        # The leaf format is in the hashed bytes: claiming another one changes them.
        ("UPDATE audit_entries SET format = 1 WHERE seq = 3", "entry 3"),
    ],
)
def test_verify_names_the_first_altered_entry(home: Home, statement: str, names: str) -> None:
    assert audit_count(home) > 4
    db = sqlite3.connect(home.path / "ftgate.db")
    # Someone with file access drops the guards first; verify must still notice.
    db.executescript(
        "DROP TRIGGER audit_entries_no_update; DROP TRIGGER audit_entries_no_delete;" + statement + ";"
    )
    db.commit()
    failed = home.cli("audit", "verify", token=home.carol, ok=False)
    assert failed["error"]["code"] == "audit_verification_failed"
    assert failed["error"]["message"].startswith(names), failed


def test_worker_refuses_data_that_changed_after_approval(home: Home) -> None:
    ds = upload(home)
    home.cli("datasets", "approve", ds["id"], "--note", "ok", token=home.bob)
    job = submit(home, ds["id"])
    blob = next(p for p in (home.path / "blobs").rglob(ds["redacted_sha256"]))
    blob.chmod(0o644)
    blob.write_bytes(blob.read_bytes().replace(b"<PERSON_1>", b"Maria Gonzalez"))

    result = home.cli("worker", "--once", token=home.admin, ok=False)
    [failed] = result["data"]
    assert failed["status"] == "failed"
    assert "does not match" in failed["error"] and ds["redacted_sha256"] in failed["error"]
    assert home.cli("adapters", "list", token=home.admin)["count"] == 0
    assert not any((home.path / "adapters").glob("*")) if (home.path / "adapters").exists() else True
    events = home.cli("jobs", "logs", job["id"], token=home.alice)["data"]
    assert events[-1]["kind"] == "failed"
    assert home.cli("audit", "verify", token=home.carol)["status"] == "verified"


def test_worker_refuses_base_weights_that_changed_after_registration(
    tmp_path: Path, policy_dir: Path, tiny_model: BaseModelRef
) -> None:
    """The catalog entry's SHA-256 is checked right before training: changed weights fail the job."""
    weights_dir = tmp_path / "tiny-copy"
    shutil.copytree(tiny_model.path, weights_dir)
    home = make_home(tmp_path / "home", policy_dir, weights_dir)
    job = submit(home, approved_dataset(home)["id"])
    weights = next(weights_dir.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01  # one bit of one weight
    weights.write_bytes(bytes(data))

    result = home.cli("worker", "--once", token=home.admin, ok=False)
    [failed] = result["data"]
    assert failed["status"] == "failed"
    assert "tiny-llama weights changed" in failed["error"]
    assert home.cli("adapters", "list", token=home.admin)["count"] == 0
    events = home.cli("jobs", "logs", job["id"], token=home.alice)["data"]
    assert events[-1]["kind"] == "failed" and "weights changed" in events[-1]["data"]["error"]
    assert home.cli("audit", "verify", token=home.carol)["status"] == "verified"


def _break(policy_dir: Path) -> None:
    (policy_dir / "ftgate" / "authz" / "authz.rego").write_text(
        "package ftgate.authz\n\nthis is not rego {\n"
    )


def test_broken_policy_refuses_to_start(home: Home, policy_dir: Path) -> None:
    _break(policy_dir)
    refused = home.cli("datasets", "list", token=home.alice, ok=False)
    assert refused["error"]["code"] == "config_error"
    assert "policy bundle" in refused["error"]["message"]


def test_policy_broken_while_serving_denies_with_the_reason(home: Home, policy_dir: Path) -> None:
    rt = Runtime(home.settings())
    client = TestClient(create_app(runtime=rt))
    headers = {"Authorization": f"Bearer {home.alice}"}
    assert client.get("/v1/datasets", headers=headers).status_code == 200
    _break(policy_dir)
    refused = client.get("/v1/datasets", headers=headers)
    assert refused.status_code == 403
    assert [r["code"] for r in refused.json()["details"]["reasons"]] == ["ENGINE_ERROR"]


class BrokenAnalyzer(AnalyzerEngine):
    """The real analyzer, failing the way a crashed spaCy worker would."""

    def analyze(self, *args: object, **kwargs: object) -> list:
        raise MemoryError("simulated scanner crash")


def test_scanner_failure_refuses_the_upload_and_stores_nothing(home: Home) -> None:
    rt = Runtime(home.settings())
    real = build_analyzer()
    broken = BrokenAnalyzer(nlp_engine=real.nlp_engine, registry=real.registry, supported_languages=["en"])
    rt.__dict__["scanner"] = Scanner(pseudonym_key=b"k" * 32, analyzer=broken)
    before = audit_count(home)
    with rt.session() as session, pytest.raises(RedactionError, match="scanner failed"):
        alice = authenticate(rt=rt, session=session, token=home.alice)
        upload_dataset(
            rt=rt,
            session=session,
            actor=alice,
            source=EXAMPLE,
            name="x",
            purpose="style",
            classification="internal",
        )
    assert audit_count(home) == before
    assert home.cli("datasets", "list", token=home.alice)["count"] == 0


@pytest.mark.parametrize(
    "args, code",
    [
        (["datasets", "show", "ds_missing"], "not_found"),
        (["jobs", "show", "job_missing"], "not_found"),
        (
            [
                "datasets",
                "upload",
                "/nonexistent.jsonl",
                "--name",
                "x",
                "--purpose",
                "style",
                "--classification",
                "internal",
            ],
            "invalid_input",
        ),
        (["users", "add", "zed", "--role", "superuser"], "forbidden"),
    ],
)
def test_cli_errors_are_one_json_document_and_exit_1(home: Home, args: list[str], code: str) -> None:
    out = home.cli(*args, token=home.alice, ok=False)
    assert out["error"]["code"] == code


def test_missing_or_wrong_token(home: Home) -> None:
    assert home.cli("datasets", "list", token="", ok=False)["error"]["code"] == "unauthenticated"
    assert home.cli("datasets", "list", token="ftg_forged", ok=False)["error"]["code"] == "unauthenticated"


def test_uninitialised_home_says_so(tmp_path: Path) -> None:
    cli = Cli(env={"FTGATE_HOME": str(tmp_path / "nowhere")})
    out = cli("datasets", "list", token="x", ok=False)
    assert "ftgate init" in out["error"]["message"]


@pytest.mark.parametrize(
    "content, fragment",
    [
        (b"", "empty"),
        (b'{"messages": [}\n', "not valid JSON"),
        (b'{"prompt": "a", "completion": "b"}\n{"prompt": 7, "completion": "b"}\n', "line 2"),
        (b"\xc3\x28 invalid utf-8\n", "UTF-8"),
        (b"prompt,completion\nhi,there\n", "not valid JSON"),
    ],
)
def test_cli_bad_file_is_refused_and_leaves_nothing(
    home: Home, tmp_path: Path, content: bytes, fragment: str
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(content)
    before = audit_count(home)
    out = home.cli(
        "datasets",
        "upload",
        str(bad),
        "--name",
        "bad",
        "--purpose",
        "style",
        "--classification",
        "internal",
        token=home.alice,
        ok=False,
    )
    assert out["error"]["code"] == "invalid_input" and fragment in out["error"]["message"]
    assert home.cli("datasets", "list", token=home.alice)["count"] == 0
    assert audit_count(home) == before
    assert not (home.path / "blobs").exists()
