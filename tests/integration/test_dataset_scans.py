"""Uploads that do not hold a request open (issue 12, item 3): received first, scanned by a scan worker.

The CLI waits by default (it scans its own upload); `--no-wait` returns once the file is received and a
scan worker (`ftgate worker --scan`, or the server's own) ends the scan. Progress and outcome are
events (`datasets logs ID -f`). A scan whose worker died is taken over; one that cannot go on (its
worker died too often, its received file is gone) fails with the reason. Nothing of a dataset that is
still scanning can be reviewed, downloaded or trained on.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from ftgate_testing import EXAMPLE, Home, audit_count, submit, upload
from sqlmodel import col, select
from typer.testing import CliRunner

from audit.models import AuditEntry
from gateway.api.app import create_app
from gateway.cli.main import app
from gateway.leases import LeaseLost
from gateway.models import Dataset, DatasetStatus, PolicyDecisionRecord
from gateway.runtime import Runtime
from gateway.scan_worker import run_scan_worker
from gateway.services import dataset_scans
from gateway.services.datasets import receive_dataset
from gateway.services.users import authenticate


def runtime(home: Home) -> Runtime:
    return Runtime(home.settings())


def receive(home: Home, rt: Runtime, *, scanner: str | None = None) -> str:
    with rt.session() as session:
        alice = authenticate(rt=rt, session=session, token=home.alice)
        dataset = receive_dataset(
            rt=rt,
            session=session,
            actor=alice,
            source=EXAMPLE,
            name="chats",
            purpose="style",
            classification="internal",
            scanner=scanner,
        )
        return dataset.id


def received_files(home: Home) -> list[Path]:
    return [p for p in (home.path / "incoming").rglob("*") if p.is_file()]


def test_no_wait_returns_at_once_and_a_scan_worker_ends_the_scan(home: Home) -> None:
    flags = ["--name=chats", "--purpose=style", "--classification=internal", "--no-wait"]
    ds = home.cli("datasets", "upload", str(EXAMPLE), *flags, token=home.alice)
    assert ds["status"] == "scanning" and ds["redacted_sha256"] is None and ds["records"] == 40
    assert [p.name for p in received_files(home)] == [ds["raw_sha256"]]
    events = home.cli("datasets", "logs", ds["id"], token=home.alice)["data"]
    assert [e["kind"] for e in events] == ["received"]
    # Nothing of it can be used while it is scanning.
    refused = home.cli("datasets", "approve", ds["id"], "--note", "ok", token=home.bob, ok=False)
    assert refused["error"]["code"] == "conflict" and "still being scanned" in refused["error"]["message"]
    refused = home.cli("datasets", "download", ds["id"], "-o", "x.jsonl", token=home.bob, ok=False)
    assert refused["error"]["code"] == "conflict"
    refused = home.cli(
        "jobs", "submit", "--dataset", ds["id"], "--base-model", "tiny-llama", token=home.alice, ok=False
    )
    assert refused["error"]["code"] == "conflict"

    ended = home.cli("worker", "--scan", "--once")
    assert ended["scans_ended"] == 1 and ended["worker"].startswith("scan@")
    followed = home.cli("datasets", "logs", ds["id"], "-f", "--poll", "0.1", token=home.alice)["data"]
    kinds = [e["kind"] for e in followed]
    assert kinds[:2] == ["received", "started"] and kinds[-1] == "pending_review"
    assert {e["data"]["phase"] for e in followed if e["kind"] == "progress"} >= {"analysing", "writing"}
    shown = home.cli("datasets", "show", ds["id"], token=home.bob)
    assert shown["status"] == "pending_review" and shown["redacted_sha256"] and shown["scan_report"]
    assert received_files(home) == []  # the raw bytes live no longer than the scan
    with runtime(home).session() as session:  # the worker decided on the uploader's own facts
        admission = session.get(PolicyDecisionRecord, shown["decision_id"])
        assert admission is not None and admission.allow
        assert admission.input["subject"] == {"name": "alice", "role": "submitter", "team": "default"}
    assert home.cli("datasets", "approve", ds["id"], "--note", "ok", token=home.bob)["status"] == "approved"


def test_logs_follow_exits_1_with_the_reason_when_the_scan_failed(home: Home) -> None:
    rt = runtime(home)
    dataset_id = receive(home, rt)
    for path in received_files(home):
        path.unlink()  # the disk lost it
    assert run_scan_worker(rt=rt, owner="scan-test", once=True) == 1
    shown = home.cli("datasets", "show", dataset_id, token=home.alice)
    assert shown["status"] == "failed"
    assert shown["error"]["code"] == "received_file_lost" and "upload it again" in shown["error"]["message"]
    result = CliRunner().invoke(
        app, ["datasets", "logs", dataset_id, "-f"], env={**home.cli.env, "FTGATE_TOKEN": home.alice}
    )
    assert result.exit_code == 1
    assert "failed" in result.stdout and "received_file_lost" in result.stdout
    assert f"dataset {dataset_id} failed" in result.stderr


def test_a_scan_whose_worker_died_too_often_fails_with_the_reason(home: Home) -> None:
    rt = runtime(home)
    dataset_id = receive(home, rt, scanner="scan@elsewhere:1")
    entries = audit_count(home)
    with rt.session() as session:
        dataset = session.get(Dataset, dataset_id)
        assert dataset is not None
        dataset.scan_attempts = 3
        dataset.lease_expires = datetime.now(UTC) - timedelta(seconds=1)
        session.add(dataset)
        session.commit()
    assert dataset_scans.claim(rt=rt, owner="scan-test", max_attempts=3) is None
    shown = home.cli("datasets", "show", dataset_id, token=home.alice)
    assert shown["status"] == "failed" and shown["error"]["code"] == "scan_abandoned"
    assert "3 attempts" in shown["error"]["message"] and "scan@elsewhere:1" in shown["error"]["message"]
    assert audit_count(home) == entries + 1  # dataset.failed
    assert received_files(home) == []


def test_a_scan_held_by_a_dead_process_on_this_host_is_taken_over_at_once(home: Home) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = f"alice@{socket.gethostname()}:{int(gone.stdout)}"  # a CLI upload killed while it scanned
    rt = runtime(home)
    dataset_id = receive(home, rt, scanner=dead)
    with rt.session() as session:
        dataset = session.get(Dataset, dataset_id)
        assert dataset is not None and dataset.lease_expires is not None
        assert dataset.lease_expires.replace(tzinfo=UTC) > datetime.now(UTC)  # its lease still runs
    assert dataset_scans.claim(rt=rt, owner="scan-test") == dataset_id
    # A live holder keeps its scan: this process is alive.
    live = f"alice@{socket.gethostname()}:{os.getpid()}"
    other = receive(home, rt, scanner=live)
    assert dataset_scans.claim(rt=rt, owner="scan-test") is None
    events = home.cli("datasets", "logs", dataset_id, token=home.alice)["data"]
    started = [e["data"] for e in events if e["kind"] == "started"]
    assert started[-1] == {"worker": "scan-test", "attempt": 2, "previous_worker": dead}
    with rt.session() as session:
        held = session.get(Dataset, other)
        assert held is not None and held.status == DatasetStatus.scanning and held.lease_owner == live


def test_a_scan_taken_over_by_another_worker_stops_and_writes_nothing(home: Home) -> None:
    """A worker that stalled past its lease while another took the scan over stops at its next progress
    event: no event of its own after the takeover, the dataset left to the new holder."""
    rt = runtime(home)
    dataset_id = receive(home, rt, scanner="scan-a")
    with rt.session() as session:
        dataset = session.get(Dataset, dataset_id)
        assert dataset is not None
        dataset.lease_owner = "scan-b"  # what a claim after scan-a's lease lapsed leaves
        session.add(dataset)
        session.commit()
    before = home.cli("datasets", "logs", dataset_id, token=home.alice)["data"]
    phases: list[str] = []
    with pytest.raises(LeaseLost):
        dataset_scans.scan_dataset(
            rt=rt, dataset_id=dataset_id, owner="scan-a", progress=lambda phase, *_: phases.append(phase)
        )
    assert phases == ["analysing"]  # it stopped at its first progress event, analysing no further
    after = home.cli("datasets", "logs", dataset_id, token=home.alice)["data"]
    assert after == before  # not one progress event from scan-a
    with rt.session() as session:
        held = session.get(Dataset, dataset_id)
        assert held is not None and held.status == DatasetStatus.scanning and held.lease_owner == "scan-b"


def test_each_user_has_a_limit_on_scans_waiting_or_running(home: Home, tmp_path: Path) -> None:
    rt = runtime(home)
    receive(home, rt)
    receive(home, rt)  # the default limit: 2
    flags = ["--name=third", "--purpose=style", "--classification=internal", "--no-wait"]
    refused = home.cli("datasets", "upload", str(EXAMPLE), *flags, token=home.alice, ok=False)
    assert refused["error"]["code"] == "too_busy" and refused["error"]["details"] == {"limit": 2}
    assert len(home.cli("datasets", "list", token=home.admin)["data"]) == 2
    data = tmp_path / "mallory.jsonl"
    data.write_text(EXAMPLE.read_text())
    theirs = home.cli("datasets", "upload", str(data), *flags, token=home.mallory)  # another user's own
    assert theirs["status"] == "scanning" and theirs["uploader"] == "mallory"


def test_confidential_data_stays_pending_review_until_its_second_approval(home: Home) -> None:
    ds = upload(home, classification="confidential")
    first = home.cli("datasets", "approve", ds["id"], "--note", "ok", token=home.bob)
    assert first["status"] == "approved"  # bob's verdict
    assert first["dataset_status"] == "pending_review"
    assert first["waiting_for"].startswith("1 of 2 approvals")
    assert home.cli("datasets", "show", ds["id"], token=home.bob)["status"] == "pending_review"
    at = (datetime.now(UTC) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    state = home.cli("audit", "state", "--at", at, token=home.carol)  # the log tells the same
    assert {d["id"]: d["status"] for d in state["datasets"]}[ds["id"]] == "pending_review"
    # Not approved yet for training either, with the same count.
    refused = submit(home, ds["id"], ok=False)
    assert "APPROVALS_MISSING" in {r["code"] for r in refused["error"]["details"]["reasons"]}
    client = TestClient(create_app(runtime=Runtime(home.settings())))
    r = client.post(
        f"/v1/datasets/{ds['id']}/approve",
        headers={"Authorization": f"Bearer {home.dave}"},
        json={"note": "second pair of eyes"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["dataset_status"] == "approved" and r.json()["waiting_for"] is None
    assert home.cli("datasets", "show", ds["id"], token=home.bob)["status"] == "approved"
    assert submit(home, ds["id"])["status"] == "queued"


def test_the_review_queue_and_the_status_filter(home: Home) -> None:
    first = upload(home, classification="confidential")
    second = upload(home, name="chats two")
    home.cli("datasets", "approve", second["id"], "--note", "ok", token=home.bob)
    home.cli("datasets", "approve", first["id"], "--note", "ok", token=home.bob)  # 1 of 2
    pending = home.cli("datasets", "list", "--status", "pending_review", token=home.alice)["data"]
    assert [d["id"] for d in pending] == [first["id"]]
    approved = home.cli("datasets", "list", "--status", "approved", token=home.alice)["data"]
    assert [d["id"] for d in approved] == [second["id"]]
    assert home.cli("datasets", "queue", token=home.bob)["data"] == []  # bob has reviewed both
    assert [d["id"] for d in home.cli("datasets", "queue", token=home.dave)["data"]] == [first["id"]]
    client = TestClient(create_app(runtime=Runtime(home.settings())))
    dave = {"Authorization": f"Bearer {home.dave}"}
    r = client.get("/v1/datasets/queue", headers=dave)
    assert r.status_code == 200 and [d["id"] for d in r.json()["data"]] == [first["id"]]
    r = client.get("/v1/datasets", headers=dave, params={"status": "approved"})
    assert [d["id"] for d in r.json()["data"]] == [second["id"]]
    r = client.get("/v1/datasets", headers=dave, params={"status": "nonsense"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"


def test_content_rejected_before_is_announced_when_it_comes_back(home: Home) -> None:
    first = upload(home)
    home.cli("datasets", "reject", first["id"], "--note", "wrong purpose, resubmit as task", token=home.bob)
    again = upload(home, name="same chats again")  # byte for byte
    shown = home.cli("datasets", "show", again["id"], token=home.dave)
    [earlier] = shown["rejected_before"]
    assert (earlier["dataset_id"], earlier["approver"]) == (first["id"], "bob")
    assert earlier["note"] == "wrong purpose, resubmit as task"
    approved = home.cli("datasets", "approve", again["id"], "--note", "now fine", token=home.dave)
    assert [e["dataset_id"] for e in approved["rejected_before"]] == [first["id"]]
    client = TestClient(create_app(runtime=Runtime(home.settings())))
    r = client.get(f"/v1/datasets/{again['id']}", headers={"Authorization": f"Bearer {home.bob}"})
    assert [e["dataset_id"] for e in r.json()["rejected_before"]] == [first["id"]]
    # Another team sees nothing of it (mallory's own copy is of another team).
    theirs = home.cli(
        "datasets", "upload", str(EXAMPLE), "--name=copy", "--purpose=style", "--classification=internal",
        token=home.mallory,
    )  # fmt: skip
    assert home.cli("datasets", "show", theirs["id"], token=home.mallory)["rejected_before"] == []
    with runtime(home).session() as session:  # the approval's log entry records what dave was told
        [entry] = session.exec(select(AuditEntry).where(col(AuditEntry.action) == "dataset.approved")).all()
        assert json.loads(entry.payload)["rejected_before"] == [first["id"]]
