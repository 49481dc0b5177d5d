"""Uploads are streamed: a file of thousands of records goes through the CLI and HTTP, and an upload that
fails part-way (a bad line near the end, a scanner crash, an interrupt while the redacted file is
written) leaves no dataset, no blob, no temporary file and no log entry."""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ftgate_testing import Home, audit_count, scanned
from presidio_analyzer import AnalyzerEngine

from gateway.api.app import create_app
from gateway.errors import RedactionError
from gateway.formats import to_jsonl
from gateway.models import Dataset
from gateway.redaction.engine import build_analyzer
from gateway.redaction.scanner import Scanner
from gateway.runtime import Runtime
from gateway.scan_worker import run_scan_worker
from gateway.services.datasets import upload_dataset
from gateway.services.users import authenticate
from gateway.store.blobs import BlobStore

RECORDS = 3000
PHONE = "212 555 0178"


def chat(user: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": "Noted."}]}


def records(count: int = RECORDS) -> list[dict[str, Any]]:
    """Mostly repeated questions (so the scan is quick), a phone number every 100 records, and new
    strings towards the end, so a failure part-way happens after the first chunk."""
    out = []
    for i in range(count):
        if i % 100 == 7:
            out.append(chat(f"Call me on {PHONE} about ticket {i}, please."))
        elif i >= count - 300:
            out.append(chat(f"How do I sort list number {i}?"))
        else:
            out.append(chat(f"Explain step {i % 40} of binary search."))
    return out


def write_file(path: Path, content: list[dict[str, Any]], bad_line: int | None = None) -> Path:
    lines = to_jsonl(content).splitlines(keepends=True)
    if bad_line is not None:
        lines[bad_line - 1] = b'{"messages": [\n'
    path.write_bytes(b"".join(lines))
    return path


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The process temp dir, watched: nothing may be left in it."""
    target = tmp_path / "process-tmp"
    target.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(target))
    return target


def files(root: Path) -> set[str]:
    """Every file under `root`, but the database's own journal files."""
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and not p.name.endswith(("-wal", "-shm", "-journal"))
    }


def assert_nothing_left(home: Home, scratch: Path, before: set[str], entries: int) -> None:
    assert home.cli("datasets", "list", token=home.admin)["count"] == 0
    assert audit_count(home) == entries
    assert not [p for p in (home.path / "blobs").rglob("*") if p.is_file()]
    assert files(home.path) == before
    assert left_in(scratch) == []


def left_in(scratch: Path) -> list[Path]:
    """What an upload left in the temp dir; multiprocessing's own `pymp-*` directory, which holds the
    scan workers' fork-server socket for the life of the process (and no data), does not count."""
    return [p for p in scratch.iterdir() if not p.name.startswith("pymp-")]


@pytest.fixture
def client(home: Home) -> Iterator[TestClient]:
    rt = Runtime(home.settings())
    yield TestClient(create_app(runtime=rt))


def http_upload(client: TestClient, token: str, content: bytes) -> Any:
    form = {"name": "big", "purpose": "style", "classification": "internal"}
    headers = {"Authorization": f"Bearer {token}"}
    return client.post("/v1/datasets", headers=headers, files={"file": ("d.jsonl", content)}, data=form)


def test_thousands_of_records_upload_through_the_cli(home: Home, tmp_path: Path, scratch: Path) -> None:
    data = write_file(tmp_path / "big.jsonl", records())
    ds = home.cli(
        "datasets", "upload", str(data), "--name=big", "--purpose=style", "--classification=internal",
        token=home.alice,
    )  # fmt: skip
    assert ds["records"] == RECORDS
    assert ds["raw_sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert ds["scan_report"]["entities"].get("PHONE_NUMBER") == RECORDS // 100
    out = tmp_path / "redacted.jsonl"
    home.cli("datasets", "download", ds["id"], "-o", str(out), token=home.bob)
    stored = out.read_bytes()
    assert hashlib.sha256(stored).hexdigest() == ds["redacted_sha256"] and len(stored) == ds["redacted_bytes"]
    assert PHONE.encode() not in stored
    assert len(stored.splitlines()) == RECORDS
    assert left_in(scratch) == []


def test_a_bad_line_near_the_end_leaves_nothing_via_the_cli(
    home: Home, tmp_path: Path, scratch: Path
) -> None:
    data = write_file(tmp_path / "bad.jsonl", records(), bad_line=2999)
    before, entries = files(home.path), audit_count(home)
    refused = home.cli(
        "datasets", "upload", str(data), "--name=bad", "--purpose=style", "--classification=internal",
        token=home.alice, ok=False,
    )  # fmt: skip
    assert refused["error"]["code"] == "invalid_input"
    assert "line 2999: not valid JSON" in refused["error"]["message"]
    assert_nothing_left(home, scratch, before, entries)


def test_a_bad_line_near_the_end_leaves_nothing_via_http(
    home: Home, client: TestClient, tmp_path: Path, scratch: Path
) -> None:
    content = write_file(tmp_path / "bad.jsonl", records(), bad_line=2999).read_bytes()
    before, entries = files(home.path), audit_count(home)
    r = http_upload(client, home.alice, content)
    assert r.status_code == 422, r.text
    assert "line 2999: not valid JSON" in r.json()["detail"]
    assert_nothing_left(home, scratch, before, entries)


def test_a_large_upload_through_http(home: Home, client: TestClient, tmp_path: Path, scratch: Path) -> None:
    content = to_jsonl(records())
    r = http_upload(client, home.alice, content)
    assert r.status_code == 202, r.text
    assert r.json()["raw_sha256"] == hashlib.sha256(content).hexdigest()
    ds = scanned(client, {"Authorization": f"Bearer {home.alice}"}, r)
    assert ds["status"] == "pending_review" and ds["records"] == RECORDS
    assert not [p for p in (home.path / "incoming").rglob("*") if p.is_file()]  # raw bytes: gone
    assert left_in(scratch) == []


class CrashingAnalyzer(AnalyzerEngine):
    """The real analyzer, which crashes once it has analysed `after` texts, as a dying worker would."""

    after = 0

    def analyze(self, *args: Any, **kwargs: Any) -> Any:
        type(self).after -= 1
        if type(self).after < 0:
            raise MemoryError("simulated scanner crash")
        return super().analyze(*args, **kwargs)


def service_upload(home: Home, rt: Runtime, path: Path, **options: Any) -> Dataset:
    with rt.session() as session:
        alice = authenticate(rt=rt, session=session, token=home.alice)
        return upload_dataset(
            rt=rt,
            session=session,
            actor=alice,
            source=path,
            name="x",
            purpose="style",
            classification="internal",
            **options,
        )


def runtime(home: Home) -> Runtime:
    return Runtime(home.settings())


def test_a_scanner_crash_part_way_leaves_nothing(home: Home, tmp_path: Path, scratch: Path) -> None:
    data = write_file(tmp_path / "d.jsonl", records())
    rt = runtime(home)
    real = build_analyzer()
    crashing = CrashingAnalyzer(
        nlp_engine=real.nlp_engine, registry=real.registry, supported_languages=["en"]
    )
    CrashingAnalyzer.after = 100  # the first chunk's strings, then a crash among the new ones after it
    rt.__dict__["scanner"] = Scanner(pseudonym_key=b"k" * 32, analyzer=crashing)
    phases: list[tuple[str, int]] = []
    entries = audit_count(home)
    with pytest.raises(RedactionError, match="scanner failed: MemoryError"):
        service_upload(home, rt, data, progress=lambda phase, done, total: phases.append((phase, done)))
    assert ("analysing", 2000) in phases  # the crash came after a first chunk was analysed
    # The dataset says it failed, and why; nothing of its data is kept (fail closed).
    [dataset] = home.cli("datasets", "list", token=home.admin)["data"]
    assert dataset["status"] == "failed" and dataset["redacted_sha256"] is None
    assert dataset["error"]["code"] == "redaction_failed" and "MemoryError" in dataset["error"]["message"]
    assert audit_count(home) == entries + 2  # dataset.received, dataset.failed
    assert not [p for p in (home.path / "blobs").rglob("*") if p.is_file()]
    assert not [p for p in (home.path / "incoming").rglob("*") if p.is_file()]
    assert left_in(scratch) == []


def test_an_interrupt_while_writing_leaves_nothing(home: Home, tmp_path: Path, scratch: Path) -> None:
    data = write_file(tmp_path / "d.jsonl", records())
    rt = runtime(home)
    written: list[int] = []

    def interrupt(phase: str, done: int, total: int | None) -> None:
        if phase == "writing":
            # The redacted file is being written, under a temporary name.
            written.append(len(list(rt.settings.blob_dir.rglob(".tmp-*"))))
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        service_upload(home, rt, data, progress=interrupt)
    assert written == [1]
    # The file was received: the interrupted scan is handed to the scan workers, its output thrown away.
    [dataset] = home.cli("datasets", "list", token=home.admin)["data"]
    assert dataset["status"] == "scanning"
    assert not [p for p in (home.path / "blobs").rglob("*") if p.is_file()]
    assert [p.name for p in (home.path / "incoming").rglob("*") if p.is_file()] == [dataset["raw_sha256"]]
    assert run_scan_worker(rt=rt, owner="test-worker", once=True) == 1
    done = home.cli("datasets", "show", dataset["id"], token=home.admin)
    assert done["status"] == "pending_review" and done["records"] == RECORDS
    assert not [p for p in (home.path / "incoming").rglob("*") if p.is_file()]
    assert left_in(scratch) == []


def test_blob_writer_commits_whole_or_nothing(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    with store.writer() as writer:
        writer.write(b"one\n")
        writer.write(b"two\n")
        sha256, created = writer.commit()
    assert created and sha256 == hashlib.sha256(b"one\ntwo\n").hexdigest()
    assert store.open_verified(sha256).read_bytes() == b"one\ntwo\n"
    with store.writer() as again:
        again.write(b"one\ntwo\n")
        assert again.commit() == (sha256, False)
    with pytest.raises(RuntimeError), store.writer() as broken:
        broken.write(json.dumps({"half": "written"}).encode())
        raise RuntimeError("interrupted")
    assert [p.name for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == [sha256]
