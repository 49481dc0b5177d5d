"""schemathesis against the running server (issue 12, item 5): every operation, as an admin and as a
submitter, a bounded run (about 100 s each).

The checks are schemathesis's own, all of them but `positive_data_acceptance`: a request the schema
allows may still be refused for what its content means (a file that is not JSONL, an id that names
nothing, a note holding personal data), and that 422 or 404 is the right answer. What must hold: no
server error, no response outside its documented schema, status code, content type or headers, no
request that breaks the schema accepted. The seed is fixed, so a failure here replays the same way
(`st replay` with the case id the output prints). Afterwards the audit log still verifies.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from ftgate_testing import Cli

from gateway.settings import REPO_ROOT

pytestmark = pytest.mark.slow

SECONDS_PER_ROLE = 80  # two roles: 160 s of the CI's 30 minutes
SEED = 20261206


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(url: str, server: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the server did not answer {url} within {timeout:g} s")


def test_schemathesis_finds_nothing(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "FTGATE_HOME": str(tmp_path / "home"),
        "FTGATE_POLICY_DIR": str(REPO_ROOT / "policies"),
        "FTGATE_TOKEN": "",
        "FTGATE_RATE_LIMIT_PER_MINUTE": "0",  # the fuzzer sends ~50 requests/s with one token
    }
    cli = Cli(env={k: env[k] for k in ("FTGATE_HOME", "FTGATE_POLICY_DIR", "FTGATE_TOKEN")})
    admin = cli("init")["token"]
    submitter = cli("users", "add", "alice", "--role", "submitter", token=admin)["token"]
    auditor = cli("users", "add", "carol", "--role", "auditor", token=admin)["token"]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_until_up(f"{base}/healthz", server)
        st = Path(sys.executable).parent / "st"
        for role, token in (("admin", admin), ("submitter", submitter)):
            run = subprocess.run(
                [
                    str(st),
                    "--no-color",
                    "run",
                    f"{base}/openapi.json",
                    "--header",
                    f"Authorization: Bearer {token}",
                    "--checks",
                    "all",
                    "--exclude-checks",
                    "positive_data_acceptance",
                    "--max-time",
                    str(SECONDS_PER_ROLE),
                    "--seed",
                    str(SEED),
                    "--request-timeout",
                    "60",  # the first upload waits for the scan workers to load their models
                ],
                env=env,
                cwd=tmp_path,  # schemathesis keeps its replay files in the working directory
                capture_output=True,
                text=True,
                timeout=SECONDS_PER_ROLE + 120,
            )
            assert run.returncode == 0, f"schemathesis as {role}:\n{run.stdout[-8000:]}\n{run.stderr[-2000:]}"
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()
    server_log = (tmp_path / "server.log").read_text(errors="replace")
    assert "Traceback" not in server_log
    assert cli("audit", "verify", token=auditor)["status"] == "verified"
