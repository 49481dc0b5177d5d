"""The worker's launched path: FTGATE_TRAIN_PROCESSES=2 trains a job in two gloo processes on CPU.

The same path a host with several GPUs takes (one process per GPU under torchrun): events streamed
into the job's log, the lease kept, a cancel that stops every process, a failure that names its cause.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ftgate_testing import Home, make_home, queued_job, runtime_of
from sqlmodel import col, select

from gateway.models import Adapter, Job, JobEvent
from gateway.runtime import Runtime
from trainer.models import BaseModelRef

pytestmark = pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")

SHORT = ["--max-steps", "3", "--max-seq-len", "64", "--seed", "1"]
LONG = ["--max-steps", "400", "--epochs", "10", "--max-seq-len", "256", "--seed", "1"]


def _events(rt: Runtime, job_id: str) -> list[JobEvent]:
    with rt.session() as session:
        query = select(JobEvent).where(col(JobEvent.job_id) == job_id).order_by(col(JobEvent.id))
        return list(session.exec(query))


def _job(rt: Runtime, job_id: str) -> Job:
    with rt.session() as session:
        job = session.get(Job, job_id)
    assert job is not None
    return job


def _trainers_of(job_id: str) -> str:
    """Processes still running with the job's work directory on their command line."""
    found = subprocess.run(["pgrep", "-f", f"work/{job_id}/"], capture_output=True, text=True)
    return found.stdout.strip()


def _worker_env(home: Home) -> dict[str, str]:
    """The environment of a worker process forced onto the two-process (gloo) path."""
    return {
        **os.environ,
        **home.cli.env,
        "FTGATE_TOKEN": home.admin,
        "FTGATE_TRAIN_PROCESSES": "2",
        "HF_HUB_OFFLINE": "1",
    }


def _worker_at_first_step(home: Home, rt: Runtime, job_id: str, *options: str) -> subprocess.Popen[bytes]:
    """`ftgate worker --once` as a process, returned once the job has logged a training step."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli.main", "worker", "--once", "--json", *options],
        env=_worker_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 180
    while not any(e.kind == "step" for e in _events(rt, job_id)):
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            out, err = worker.communicate()
            pytest.fail(f"no training step ({worker.returncode}):\n{out.decode()}\n{err.decode()[-3000:]}")
        time.sleep(0.1)
    return worker


def test_two_processes_train_a_queued_job_end_to_end(home: Home) -> None:
    rt = runtime_of(home)
    job_id = queued_job(home, *SHORT)
    home.cli.env["FTGATE_TRAIN_PROCESSES"] = "2"
    [job] = home.cli("worker", "--once", token=home.admin)["data"]
    assert job["status"] == "succeeded", job

    events = _events(rt, job_id)
    kinds = [e.kind for e in events]
    assert kinds[0] == "verified" and kinds[-1] == "succeeded"
    # Rank 0's events only, each once; the launcher's final line is a result, not an event.
    assert kinds.count("start") == 1 and kinds.count("saved") == 1 and "done" not in kinds
    start = next(e.data for e in events if e.kind == "start")
    assert (start["processes"], start["global_batch_size"]) == (2, 2)
    assert [e.data["step"] for e in events if e.kind == "step"][-1] == 3

    with rt.session() as session:
        adapter = session.exec(select(Adapter)).one()
    assert adapter.job_id == job_id and adapter.metrics["processes"] == 2
    assert "adapter_model.safetensors" in adapter.files
    for name, digest in adapter.files.items():
        import hashlib

        assert hashlib.sha256((Path(adapter.path) / name).read_bytes()).hexdigest() == digest
    assert not (home.path / "work" / job_id).exists()
    assert _trainers_of(job_id) == ""
    home.cli("audit", "verify", token=home.carol)


def test_cancel_stops_every_training_process(home: Home) -> None:
    rt = runtime_of(home)
    job_id = queued_job(home, *LONG)
    worker = _worker_at_first_step(home, rt, job_id, "--lease-seconds", "2")
    assert _trainers_of(job_id) != ""  # the launcher and its two processes are running
    home.cli("jobs", "cancel", job_id, token=home.alice)
    _, err = worker.communicate(timeout=120)
    assert worker.returncode == 0, err.decode()[-3000:]

    job = _job(rt, job_id)
    assert job.status == "cancelled" and job.error == "cancelled by alice" and job.adapter_id is None
    assert max(e.data["step"] for e in _events(rt, job_id) if e.kind == "step") < 400
    assert _trainers_of(job_id) == ""  # nothing trains on behind the worker's back
    with rt.session() as session:
        assert session.exec(select(Adapter)).first() is None


def test_a_failing_run_fails_the_job_with_the_trainers_reason(
    tmp_path: Path, policy_dir: Path, tiny_model: BaseModelRef
) -> None:
    model = tmp_path / "model"
    shutil.copytree(tiny_model.path, model)
    home = make_home(tmp_path / "home", policy_dir, model)
    rt = runtime_of(home)
    job_id = queued_job(home, *SHORT)
    # Not in the weights' hash, so the worker's checks pass and the training processes fail.
    (model / "chat_template.jinja").unlink()
    home.cli.env["FTGATE_TRAIN_PROCESSES"] = "2"
    [job] = home.cli("worker", "--once", token=home.admin, ok=False)["data"]  # exit 1: the job failed
    assert job["status"] == "failed"
    assert job["error"].startswith("TrainerError: training processes exited with code 1: error: ")
    assert "tokenizer has no chat template" in job["error"]
    assert _job(rt, job_id).adapter_id is None
    assert _trainers_of(job_id) == ""
    home.cli("audit", "verify", token=home.carol)


def test_a_killed_worker_leaves_no_training_process_behind(home: Home) -> None:
    rt = runtime_of(home)
    job_id = queued_job(home, *LONG)
    worker = _worker_at_first_step(home, rt, job_id)
    assert _trainers_of(job_id) != ""
    worker.kill()  # SIGKILL: the worker cannot stop anything itself
    worker.communicate(timeout=30)
    # Rank 0's next event meets a closed pipe and ends the run; the launcher then stops rank 1.
    deadline = time.monotonic() + 60
    while _trainers_of(job_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _trainers_of(job_id) == ""
    assert not (home.path / "work" / job_id / "adapter").exists()
