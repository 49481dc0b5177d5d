"""`kill -9` of the server in the middle of a scan (issue 12, items 3 and 7).

A real `ftgate serve` (its own process group: the server, its forkserver and its scan workers) is
killed with SIGKILL while a received upload is being scanned. The crash leaves the dataset `scanning`,
its received bytes, and the redacted output's temporary in the blob store; the restarted server sweeps
the temporary, its scan worker takes the scan over at once (its worker is dead) and ends it, the
received bytes are removed, and the log verifies.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from ftgate_testing import serve

from gateway.settings import REPO_ROOT
from gateway.store.blobs import TEMP_PREFIX

pytestmark = pytest.mark.slow

EXAMPLE = REPO_ROOT / "examples" / "support_chats.jsonl"
FTGATE = [sys.executable, "-m", "gateway.cli.main"]


def _cli(env: dict[str, str], *args: str, token: str = "") -> Any:
    done = subprocess.run(
        [*FTGATE, *args, "--json"], env={**env, "FTGATE_TOKEN": token}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def _big_upload(path: Path, records: int) -> None:
    """Distinct chat records (each string new), so the scan takes seconds."""
    lines = EXAMPLE.read_text().splitlines()
    with path.open("w") as f:
        for i in range(records):
            record = json.loads(lines[i % len(lines)])
            record["messages"][1]["content"] += f" My reference is {i:06d}."
            f.write(json.dumps(record) + "\n")


def _dataset(base: str, headers: dict[str, str], dataset_id: str) -> dict[str, Any]:
    r = httpx.get(f"{base}/v1/datasets/{dataset_id}", headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _events(base: str, headers: dict[str, str], dataset_id: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{base}/v1/datasets/{dataset_id}/events", headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


def test_a_server_killed_during_a_scan_resumes_it_after_the_restart(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {
        **os.environ,
        "FTGATE_HOME": str(home),
        "FTGATE_POLICY_DIR": str(REPO_ROOT / "policies"),
        "FTGATE_TOKEN": "",
        "FTGATE_SCAN_WORKERS": "1",
        "FTGATE_UVICORN_LOG": "warning",
    }
    admin = _cli(env, "init")["token"]
    alice = _cli(env, "users", "add", "alice", "--role", "submitter", "--team", "default", token=admin)[
        "token"
    ]
    carol = _cli(env, "users", "add", "carol", "--role", "auditor", "--team", "audit", token=admin)["token"]
    big = tmp_path / "big.jsonl"
    _big_upload(big, 3000)
    headers = {"Authorization": f"Bearer {alice}"}
    form = {"name": "chats", "purpose": "style", "classification": "internal"}
    blobs, incoming = home / "blobs", home / "incoming"

    server, base = serve(env)
    try:
        with big.open("rb") as f:
            r = httpx.post(f"{base}/v1/datasets", headers=headers, data=form, files={"file": f}, timeout=300)
        assert r.status_code == 202, r.text
        dataset_id = r.json()["id"]
        assert r.json()["status"] == "scanning"
        received = [p for p in incoming.rglob("*") if p.is_file()]
        assert len(received) == 1  # on disk before the answer
        deadline = time.monotonic() + 300
        while not list(blobs.glob(TEMP_PREFIX + "*")) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = list(blobs.glob(TEMP_PREFIX + "*"))
        assert left, "the scan never started writing its output"
    finally:
        os.killpg(server.pid, signal.SIGKILL)  # kill -9: no handler, no cleanup runs
        server.wait(timeout=30)

    assert [p for p in left if p.exists()] == left  # the crash left the scan's temporary behind
    assert all(p.exists() for p in received)  # and what it was scanning
    an_hour_ago = time.time() - 3600  # the restart comes later; a fresh temporary may be a live writer's
    for path in left:
        os.utime(path, (an_hour_ago, an_hour_ago))

    server, base = serve(env)  # the restart sweeps what no live writer holds, and resumes the scan
    try:
        assert not any(p.exists() for p in left)
        dataset = _dataset(base, headers, dataset_id)
        deadline = time.monotonic() + 400
        while dataset["status"] == "scanning" and time.monotonic() < deadline:
            time.sleep(0.5)
            dataset = _dataset(base, headers, dataset_id)
        assert dataset["status"] == "pending_review", dataset
        assert dataset["records"] == 3000 and dataset["redacted_sha256"]
        started = [e for e in _events(base, headers, dataset_id) if e["kind"] == "started"]
        assert [e["data"]["attempt"] for e in started] == [1, 2]
        assert started[1]["data"]["previous_worker"] == started[0]["data"]["worker"]
        assert not any(p.exists() for p in received)  # the raw bytes live no longer than the scan
        assert not list(blobs.glob(TEMP_PREFIX + "*"))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    verified = _cli(env, "audit", "verify", token=carol)
    assert verified["status"] == "verified"
