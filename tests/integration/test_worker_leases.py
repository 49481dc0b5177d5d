"""Leases, crashes and cancellation with real worker processes on a SQLite home.

The crash test kills a real `ftgate worker` process with SIGKILL in the middle of training, then
checks that nothing half-made was registered and that the next worker resumes the job from its
checkpoint rather than starting again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
from ftgate_testing import Home, queued_job, runtime_of
from sqlmodel import col, select

from audit.models import AuditEntry
from gateway.models import Adapter, Job, JobEvent
from gateway.runtime import Runtime
from gateway.worker import claim_next_job

pytestmark = pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")

# Long enough (a few seconds on the tiny model) for a test to act while the worker trains.
LONG = ["--max-steps", "400", "--epochs", "10", "--max-seq-len", "256", "--seed", "1"]


def _worker_process(home: Home, *options: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, **home.cli.env, "FTGATE_TOKEN": home.admin, "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli.main", "worker", "--once", "--json", *options],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_for(
    what: str, check: Callable[[], Any], process: subprocess.Popen[bytes], timeout: float = 120
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(
                f"worker exited ({process.returncode}) before {what}:\n{out.decode()}\n{err.decode()}"
            )
        time.sleep(0.05)
    process.kill()
    pytest.fail(f"timed out waiting for {what}")


def _events(rt: Runtime, job_id: str, kind: str | None = None) -> list[JobEvent]:
    with rt.session() as session:
        query = select(JobEvent).where(col(JobEvent.job_id) == job_id).order_by(col(JobEvent.id))
        rows = list(session.exec(query))
    return [e for e in rows if kind is None or e.kind == kind]


def _job(rt: Runtime, job_id: str) -> Job:
    with rt.session() as session:
        job = session.get(Job, job_id)
    assert job is not None
    return job


def _actions(rt: Runtime, job_id: str) -> list[str]:
    with rt.session() as session:
        rows = session.exec(
            select(AuditEntry).where(col(AuditEntry.subject) == job_id).order_by(col(AuditEntry.seq))
        )
        return [row.action for row in rows]


def test_kill_9_during_training_registers_nothing_and_the_job_resumes(home: Home) -> None:
    rt = runtime_of(home)
    # Fewer steps than LONG (the resume runs in this process), checkpoints often enough to land early.
    job_id = queued_job(home, "--max-steps", "40", "--epochs", "10", "--max-seq-len", "256")
    worker = _worker_process(home, "--lease-seconds", "2", "--checkpoint-every", "5")
    _wait_for("a checkpoint", lambda: _events(rt, job_id, "checkpoint"), worker)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)

    killed = _job(rt, job_id)
    assert killed.status == "running" and killed.attempts == 1 and killed.adapter_id is None
    with rt.session() as session:
        assert session.exec(select(Adapter)).first() is None
    assert not (home.path / "adapters").exists() or not any((home.path / "adapters").iterdir())
    assert (home.path / "work" / job_id / "checkpoints" / "checkpoint.pt").is_file()
    checkpointed = max(e.data["step"] for e in _events(rt, job_id, "checkpoint"))

    # While the dead worker's lease runs, nobody may take the job.
    assert claim_next_job(rt=rt, owner="worker:other") is None
    time.sleep(2.2)
    done = home.cli("worker", "--once", "--lease-seconds", "2", "--checkpoint-every", "5", token=home.admin)
    [job] = done["data"]
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 2
    starts = [e.data for e in _events(rt, job_id, "start")]
    assert starts[0]["resumed_from"] == 0
    assert starts[1]["resumed_from"] >= checkpointed > 0  # resumed, not restarted
    assert [e.kind for e in _events(rt, job_id, "reclaimed")] == ["reclaimed"]
    actions = _actions(rt, job_id)
    assert actions.count("job.started") == 1 and actions.count("job.reclaimed") == 1
    assert actions[-1] == "job.succeeded"
    with rt.session() as session:
        assert len(list(session.exec(select(Adapter)))) == 1
    assert not (home.path / "work" / job_id).exists()  # the work directory goes with the job's end

    # The whole story, streamed: logs -f returns at once for an ended job, and exits 0 for a success.
    logs = home.cli("jobs", "logs", job_id, "-f", token=home.alice)["data"]
    kinds = [e["kind"] for e in logs]
    assert {"verified", "checkpoint", "reclaimed", "step", "succeeded"} <= set(kinds)


def test_cancel_stops_a_running_job_and_is_logged(home: Home) -> None:
    rt = runtime_of(home)
    job_id = queued_job(home, *LONG)
    # A person following the job from the start: `logs -f` in its own process, polling as it streams.
    env = {**os.environ, **home.cli.env, "FTGATE_TOKEN": home.alice}
    follower = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli.main", "jobs", "logs", job_id, "-f", "--poll", "0.2", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    worker = _worker_process(home, "--lease-seconds", "1")
    _wait_for("training steps", lambda: _events(rt, job_id, "step"), worker)
    asked = home.cli("jobs", "cancel", job_id, token=home.alice)
    assert asked["status"] == "running" and asked["cancel_requested_by"] == "alice"
    out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err.decode()

    job = _job(rt, job_id)
    assert job.status == "cancelled" and job.adapter_id is None and job.error == "cancelled by alice"
    steps = [e.data["step"] for e in _events(rt, job_id, "step")]
    assert max(steps) < 400  # stopped part-way
    with rt.session() as session:
        assert session.exec(select(Adapter)).first() is None
    assert not (home.path / "work" / job_id).exists()
    actions = _actions(rt, job_id)
    assert actions[-2:] == ["job.cancel_requested", "job.cancelled"]
    # The follower saw the run as it happened and stopped by itself when the job ended: exit 1, as the
    # job did not succeed, with every event in order.
    streamed, _ = follower.communicate(timeout=60)
    assert follower.returncode == 1
    kinds = [e["kind"] for e in json.loads(streamed)["data"]]
    assert kinds[0] == "verified" and "step" in kinds and "cancel_requested" in kinds
    assert kinds[-1] == "cancelled"  # steps may still land between the request and the stop
    assert kinds == [e.kind for e in _events(rt, job_id)]


@pytest.mark.parametrize(
    "who, ok, code",
    [
        ("alice", True, None),  # the submitting team
        ("admin", True, None),  # runs the workers
        ("mallory", False, "forbidden"),  # another team
        ("carol", False, "forbidden"),  # auditors change nothing
    ],
)
def test_cancel_a_queued_job(home: Home, who: str, ok: bool, code: str | None) -> None:
    rt = runtime_of(home)
    job_id = queued_job(home, "--max-steps", "2")
    result = home.cli("jobs", "cancel", job_id, token=getattr(home, who), ok=ok)
    if not ok:
        assert result["error"]["code"] in (code, "not_found")
        assert _job(rt, job_id).status == "queued"
        return
    assert result["status"] == "cancelled"
    assert claim_next_job(rt=rt, owner="worker:test") is None  # a cancelled job is never trained
    assert _actions(rt, job_id)[-1] == "job.cancelled"
    again = home.cli("jobs", "cancel", job_id, token=home.alice, ok=False)
    assert again["error"]["code"] == "conflict"


def test_expired_leases_are_reclaimed_then_fail_after_max_attempts(home: Home) -> None:
    rt = runtime_of(home)
    job_id = queued_job(home, "--max-steps", "2")
    first = claim_next_job(rt=rt, owner="worker:a", lease_seconds=0.2, max_attempts=2)
    assert first is not None and first.id == job_id and first.attempts == 1
    assert claim_next_job(rt=rt, owner="worker:b", lease_seconds=0.2, max_attempts=2) is None  # lease held
    time.sleep(0.3)
    second = claim_next_job(rt=rt, owner="worker:b", lease_seconds=0.2, max_attempts=2)
    assert second is not None and second.id == job_id and second.attempts == 2
    assert second.lease_owner == "worker:b"
    time.sleep(0.3)
    assert claim_next_job(rt=rt, owner="worker:c", lease_seconds=0.2, max_attempts=2) is None
    job = _job(rt, job_id)
    assert job.status == "failed" and job.lease_owner is None
    assert (
        job.error is not None and "lease expired on attempt 2 of 2" in job.error and "worker:b" in job.error
    )
    assert _actions(rt, job_id)[-3:] == ["job.started", "job.reclaimed", "job.failed"]
    home.cli("audit", "verify", token=home.carol)


def test_a_cancel_asked_of_a_dead_worker_closes_the_job_when_its_lease_expires(home: Home) -> None:
    rt = runtime_of(home)
    job_id = queued_job(home, "--max-steps", "2")
    assert claim_next_job(rt=rt, owner="worker:dead", lease_seconds=0.2) is not None
    home.cli("jobs", "cancel", job_id, token=home.alice)
    time.sleep(0.3)
    assert claim_next_job(rt=rt, owner="worker:next", lease_seconds=0.2) is None
    job = _job(rt, job_id)
    assert job.status == "cancelled" and job.error is not None and "worker:dead" in job.error


def test_cancel_and_events_over_http(home: Home) -> None:
    from fastapi.testclient import TestClient

    from gateway.api.app import create_app

    job_id = queued_job(home, "--max-steps", "2")
    client = TestClient(create_app(runtime=runtime_of(home)))

    def post(token: str) -> Any:
        return client.post(f"/v1/jobs/{job_id}/cancel", headers={"Authorization": f"Bearer {token}"})

    assert post(home.mallory).status_code in (403, 404)  # another team's job
    r = post(home.alice)
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    again = post(home.alice)
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    events = client.get(
        f"/v1/jobs/{job_id}/events", params={"after": 0}, headers={"Authorization": f"Bearer {home.alice}"}
    ).json()
    assert [e["kind"] for e in events["data"]] == ["cancelled"]
