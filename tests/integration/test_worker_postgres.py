"""Many workers, one PostgreSQL queue: real processes claim concurrently and never take the same job.

Each test gets a fresh database on the server (dropped afterwards), as in test_postgres.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from ftgate_testing import Home, approved_dataset, submit
from sqlmodel import col, select

from audit.models import AuditEntry
from gateway.models import Adapter, Job
from gateway.runtime import Runtime
from gateway.settings import Settings

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning"),
]


# A claimer process: wait for the start signal (so all contend at once), claim until the queue is
# empty, print what it got. The claim is the production code path, nothing is stubbed.
CLAIMER = """
import json, os, sys, time
from pathlib import Path
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.worker import claim_next_job
rt = Runtime(Settings())
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.01)
got = []
while (job := claim_next_job(rt=rt, owner=sys.argv[1], lease_seconds=600)) is not None:
    got.append(job.id)
print(json.dumps(got))
"""


def _runtime(home: Home) -> Runtime:
    env = home.cli.env
    return Runtime(
        Settings(
            home=home.path, policy_dir=Path(env["FTGATE_POLICY_DIR"]), database_url=env["FTGATE_DATABASE_URL"]
        )
    )


def _queue(home: Home, jobs: int) -> list[str]:
    dataset_id = approved_dataset(home)["id"]
    return [submit(home, dataset_id)["id"] for _ in range(jobs)]


def _env(home: Home) -> dict[str, str]:
    return {**os.environ, **home.cli.env, "FTGATE_TOKEN": home.admin, "HF_HUB_OFFLINE": "1"}


def test_concurrent_claimers_never_double_claim(pg_home: Home, tmp_path: Path) -> None:
    queued = _queue(pg_home, 24)
    go = tmp_path / "go"
    owners = [f"worker:p{i}" for i in range(4)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, owner, str(go)],
            env=_env(pg_home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for owner in owners
    ]
    time.sleep(1.0)  # let every process import and wait at the start line
    go.touch()
    claimed: dict[str, list[str]] = {}
    for owner, proc in zip(owners, procs, strict=True):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        claimed[owner] = json.loads(out.decode().strip().splitlines()[-1])

    every = [job for got in claimed.values() for job in got]
    assert Counter(every).most_common(1)[0][1] == 1  # no job claimed twice
    assert sorted(every) == sorted(queued)  # and none left behind
    rt = _runtime(pg_home)
    with rt.session() as session:
        rows = {job.id: job for job in session.exec(select(Job))}
        started = list(session.exec(select(AuditEntry).where(col(AuditEntry.action) == "job.started")))
    for owner, got in claimed.items():
        for job_id in got:
            assert rows[job_id].lease_owner == owner and rows[job_id].attempts == 1
    assert Counter(entry.subject for entry in started) == Counter(queued)  # one start entry per job
    pg_home.cli("audit", "verify", token=pg_home.carol)  # the chain is intact under concurrent appends


def test_worker_processes_share_the_queue(pg_home: Home) -> None:
    queued = _queue(pg_home, 2)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "gateway.cli.main", "worker", "--once", "--json"],
            env=_env(pg_home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    done: list[dict] = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
        done.extend(json.loads(out)["data"])
    # --once: each process trains at most one job; together they drain the queue exactly once.
    assert sorted(j["id"] for j in done if j["status"] == "succeeded") == sorted(queued)
    rt = _runtime(pg_home)
    with rt.session() as session:
        adapters = list(session.exec(select(Adapter)))
    assert sorted(a.job_id for a in adapters) == sorted(queued)
