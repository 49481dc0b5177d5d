"""CLI conventions (issue 15, item 4), in real processes joined by pipes as a shell would join them:
`-` is standard input for every input file and standard output for every `-o`; what a command
produces goes to stdout and its diagnostics to stderr; exit codes 0 (done), 1 (refused or failed),
2 (usage)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ftgate_testing import EXAMPLE, Home, approved_dataset

from gateway.settings import REPO_ROOT


def ftgate(home: Home, *args: str, token: str | None = None, stdin: bytes | None = None) -> Any:
    env = {**os.environ, **home.cli.env, "FTGATE_TOKEN": token or ""}
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=300,
    )


def test_dash_is_stdout_for_every_output_and_the_summary_moves_to_stderr(home: Home) -> None:
    ds = approved_dataset(home)
    run = ftgate(home, "datasets", "download", ds["id"], "-o", "-", token=home.alice)
    assert run.returncode == 0, run.stderr
    records = [json.loads(line) for line in run.stdout.decode().splitlines()]
    assert records and all("messages" in r for r in records)
    assert b"downloaded" in run.stderr  # the summary: a diagnostic now

    # A checkpoint to stdout, fed back through stdin: the log still extends it.
    cp = ftgate(home, "audit", "checkpoint", "-o", "-", "--json", token=home.carol)
    assert cp.returncode == 0 and cp.stdout.decode().startswith("ftgate.local/audit/")
    assert json.loads(cp.stderr)["status"] == "checkpointed"  # --json's document, on stderr this time
    verified = ftgate(
        home, "audit", "verify", "--checkpoint", "-", "--json", token=home.carol, stdin=cp.stdout
    )
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["extends_checkpoint"] >= 1

    keys = ftgate(home, "keys", "export", "--which", "log", "-o", "-")
    assert keys.returncode == 0 and keys.stdout.decode().count("+") >= 2


def test_dash_is_stdin_for_every_input(home: Home) -> None:
    upload = ftgate(
        home, "datasets", "upload", "-", "--name", "from a pipe", "--purpose", "style",
        "--classification", "internal", "--json", token=home.alice, stdin=EXAMPLE.read_bytes(),
    )  # fmt: skip
    assert upload.returncode == 0, upload.stderr
    dataset = json.loads(upload.stdout)
    assert dataset["status"] == "pending_review" and dataset["records"] == len(
        EXAMPLE.read_text().splitlines()
    )
    assert not any(Path("/tmp").glob("ftgate-stdin-*"))  # the spool of stdin is gone

    sample = REPO_ROOT / "examples" / "policy-inputs" / "dataset.json"
    evaluated = ftgate(home, "policy", "eval", "--entrypoint", "ftgate.dataset", "--input", "-", "--json",
                       stdin=sample.read_bytes())  # fmt: skip
    from_file = ftgate(
        home, "policy", "eval", "--entrypoint", "ftgate.dataset", "--input", str(sample), "--json"
    )
    assert evaluated.returncode == from_file.returncode
    assert json.loads(evaluated.stdout)["reasons"] == json.loads(from_file.stdout)["reasons"]


def test_logs_go_to_stdout_and_exit_codes_say_what_happened(home: Home) -> None:
    ds = approved_dataset(home)
    job = home.cli(
        "jobs", "submit", "--dataset", ds["id"], "--base-model", "tiny-llama", "--max-steps", "1",
        "--max-seq-len", "64", token=home.alice,
    )  # fmt: skip
    home.cli("worker", "--once", token=home.admin)
    logs = ftgate(home, "jobs", "logs", job["id"], token=home.alice)
    assert logs.returncode == 0 and b"succeeded" in logs.stdout  # `ftgate jobs logs J > log.txt` holds them
    scan = ftgate(home, "datasets", "logs", ds["id"], token=home.alice)
    assert scan.returncode == 0 and scan.stdout.strip()

    refused = ftgate(home, "datasets", "approve", ds["id"], "--note", "mine", token=home.alice)
    assert refused.returncode == 1 and b"error (forbidden)" in refused.stderr and not refused.stdout
    usage = ftgate(home, "jobs", "list", "--limit", "0", token=home.alice)
    assert usage.returncode == 2
    missing = ftgate(home, "datasets", "upload", "nowhere.jsonl", "--name", "x", "--purpose", "style",
                     "--classification", "internal", token=home.alice)  # fmt: skip
    assert missing.returncode == 1 and b"no such file" in missing.stderr
