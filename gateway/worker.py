"""The worker: claim a queued job, re-check everything, train, register the adapter.

Right before `trainer.train` is called the worker copies the redacted data into the job's work
directory, hashes the copy, and compares it with the hash the approval and the policy decision were
bound to; it also re-asks the training policy and re-hashes the base weights. Any mismatch fails the
job with the reason, in the log.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from sqlmodel import Session, col, select

from audit import log as audit_log
from audit.errors import AuditError
from ftgate_core.files import file_sha256
from gateway.errors import FtgateError, IntegrityError, PolicyDenied
from gateway.leases import (
    DEFAULT_LEASE_SECONDS,
    DEFAULT_MAX_ATTEMPTS,
    Heartbeat,
    JobCancelled,
    LeaseLost,
    claim,
)
from gateway.models import Dataset, Job, JobEvent, JobStatus, PolicyDecisionRecord, User, new_id
from gateway.runtime import Runtime
from gateway.services import tokens
from gateway.services.adapters import register_adapter
from gateway.services.authz import authorize
from gateway.services.catalog import get_model, model_ref
from gateway.services.decisions import record_decision, refuse
from gateway.services.jobs import parse_config, training_input
from gateway.services.model_card import CARD_FILE, model_card
from trainer.accel import cuda_device_count
from trainer.errors import TrainerError
from trainer.models import weights_sha256
from trainer.run import train_launched
from trainer.train import train

log = structlog.get_logger()

DEFAULT_CHECKPOINT_EVERY = 10  # steps; a crash loses at most this much work


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def train_processes(rt: Runtime) -> int:
    """Training processes per job: FTGATE_TRAIN_PROCESSES if set, else one per GPU (one without a GPU)."""
    return rt.settings.train_processes or max(1, cuda_device_count())


def claim_next_job(
    *,
    rt: Runtime,
    owner: str,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> Job | None:
    """Lease the oldest queued (or abandoned) job to this worker, with its log entry; see `gateway.leases`."""
    return claim(rt=rt, owner=owner, lease_seconds=lease_seconds, max_attempts=max_attempts)


def work_dir(rt: Runtime, job_id: str) -> Path:
    """Where a job's data copy and checkpoints live; kept across attempts so a reclaimed job resumes."""
    return rt.settings.home / "work" / job_id


def _event(rt: Runtime, job_id: str, kind: str, data: dict[str, Any]) -> None:
    with rt.session() as session:
        session.add(JobEvent(job_id=job_id, kind=kind, data=data))


def _described(error: BaseException) -> tuple[str, str]:
    """The message and code a failed job records. The gateway's own errors say what went wrong in their
    message; any other (the trainer's, the audit package's, a bug) is prefixed with its class, which says
    where it came from ("TrainerError: training processes exited ..."), and a trainer's error is coded
    by its class too, as failed jobs always were."""
    if isinstance(error, (AuditError, TrainerError)) or not isinstance(error, FtgateError):
        code = error.code if isinstance(error, AuditError) else type(error).__name__
        return f"{type(error).__name__}: {error}", code
    return error.message, error.code


def _fail(rt: Runtime, job_id: str, owner: str, error: BaseException) -> None:
    message, code = _described(error)
    with rt.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        if job.lease_owner != owner or job.status != JobStatus.running:
            # Another worker took the job over after this one stalled; the job is theirs to finish.
            log.warning("job.failed_after_lease_lost", job_id=job_id, error=message)
            return
        job.status, job.error, job.finished_at, job.lease_owner = (
            JobStatus.failed,
            message,
            datetime.now(UTC),
            None,
        )
        session.add(job)
        session.add(JobEvent(job_id=job_id, kind="failed", data={"error": message}))
        audit_log.append(
            session,
            actor=owner,
            action="job.failed",
            subject=job_id,
            payload={
                "job_id": job_id,
                "error": message,
                "code": code,
            },
        )
    log.warning("job.failed", job_id=job_id, error=message)


def _recheck(*, rt: Runtime, session: Session, job: Job, owner: str) -> tuple[Dataset, Any, str, str]:
    """Policy and hashes once more, just before training; raises on any mismatch."""
    dataset = session.get(Dataset, job.dataset_id)
    submitter = session.exec(select(User).where(col(User.name) == job.submitter)).first()
    if dataset is None or submitter is None:
        raise IntegrityError("the job's dataset or submitter no longer exists")
    if dataset.redacted_sha256 != job.approved_sha256:
        raise IntegrityError(
            f"dataset content changed since the job was allowed: expected {job.approved_sha256}, "
            f"found {dataset.redacted_sha256}"
        )
    config = parse_config(job.config)
    policy_input = training_input(
        rt=rt,
        session=session,
        actor=submitter,
        dataset=dataset,
        base_model=job.base_model,
        config=config,
        job_id=job.id,
    )
    decision = rt.policy.decide("ftgate.training", policy_input)
    refused = ""
    if not decision.allow:
        refused = "policy no longer allows this job: " + "; ".join(r.message for r in decision.reasons)
    elif decision.review and job.reviewed_by is None:
        refused = "policy now holds this job for review and nobody signed it off: " + "; ".join(
            r.message for r in decision.review
        )
    if refused:  # the refusing decision stays on the record (`decisions.refuse`)
        refuse(
            session=session,
            actor=owner,
            decision=decision,
            input=policy_input,
            error=lambda row: PolicyDenied(refused, details={"decision_id": row.id}),
        )
    row = record_decision(session=session, actor=owner, decision=decision, input=policy_input)
    entry = get_model(session=session, name=job.base_model)
    ref = model_ref(entry)
    actual = weights_sha256(ref)
    if actual != entry.weights_sha256:
        raise IntegrityError(
            f"base model {entry.name} weights changed: expected {entry.weights_sha256}, computed {actual}"
        )
    return dataset, ref, row.id, actual


ProgressHook = Callable[[str, dict[str, Any]], None]


def run_job(
    *,
    rt: Runtime,
    job: Job,
    owner: str,
    progress: ProgressHook | None = None,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
) -> Job:
    """Train one claimed job to completion, failure or cancellation; never registers a partial adapter.

    The job's work directory survives a crash: a worker that reclaims the job resumes from the last
    checkpoint there. The adapter is written to the work directory first and moved into the adapter
    store only when training has finished and the lease is still this worker's.
    """
    adapter_id = new_id("ad")
    out_dir = rt.settings.adapter_dir / adapter_id
    work = work_dir(rt, job.id)
    staging = work / "adapter"
    done = False  # the job reached an end here: its work directory can go
    # From the claim on, not just while training: re-hashing a large base model can outlast a lease.
    heartbeat = Heartbeat(rt=rt, job_id=job.id, owner=owner, lease_seconds=lease_seconds)
    heartbeat.start()
    try:
        work.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(staging, ignore_errors=True)  # what a killed attempt may have half written
        checked = _check_inputs(rt=rt, job=job, owner=owner, work=work)
        ref, data_copy, actual = checked.ref, checked.data_copy, checked.data_sha256
        base_sha256 = checked.base_sha256
        config = parse_config(job.config)
        on_event = _StepEvents(rt=rt, job_id=job.id, heartbeat=heartbeat, progress=progress)

        processes = train_processes(rt)
        if processes > 1:
            # Data-parallel, one process per GPU under torchrun; its events reach on_event as they
            # would in-process, and a cancel or lost lease stops every process (checked while the
            # processes are silent too, e.g. loading the model).
            result = train_launched(
                config,
                data_copy,
                ref,
                staging,
                on_event,
                processes=processes,
                checkpoint_dir=work / "checkpoints",
                checkpoint_every=checkpoint_every,
                base_cache_dir=rt.settings.base_cache_dir,
                base_sha256=base_sha256,
                idle=heartbeat.check,
            )
        else:
            result = train(
                config,
                data_copy,
                ref,
                staging,
                on_event,
                checkpoint_dir=work / "checkpoints",
                checkpoint_every=checkpoint_every,
                data_sha256=actual,  # verified just above: the trainer need not read the file again
                base_cache_dir=rt.settings.base_cache_dir,
                base_sha256=base_sha256,
            )
        heartbeat.beat()
        heartbeat.check()  # a cancel that arrived during the last steps still wins
        files = _place_adapter(
            staging=staging,
            out_dir=out_dir,
            card=model_card(
                adapter_id=adapter_id,
                job_id=job.id,
                config=config.model_dump(mode="json"),
                metrics=result.metrics,
                **checked.card_facts,
            ),
            trained=result.files,
        )
        stored = register_adapter(
            rt=rt,
            job_id=job.id,
            owner=owner,
            adapter_id=adapter_id,
            out_dir=out_dir,
            files=files,
            metrics=result.metrics,
            versions=result.versions,
        )
        log.info("job.succeeded", job_id=job.id, adapter_id=adapter_id)
        done = True
        return stored
    except JobCancelled as exc:
        shutil.rmtree(out_dir, ignore_errors=True)
        done = _cancelled(rt, job.id, owner, exc.by)
        return _reload(rt, job.id)
    except LeaseLost:
        # Not ours any more: leave the job row and the work directory to the worker that holds it.
        shutil.rmtree(out_dir, ignore_errors=True)
        log.warning("job.lease_lost", job_id=job.id, worker=owner)
        return _reload(rt, job.id)
    except BaseException as exc:
        shutil.rmtree(out_dir, ignore_errors=True)
        if not isinstance(exc, Exception):
            # Interrupted (Ctrl-C, SystemExit): hand the job back with its checkpoints for another try.
            _release(rt, job.id, owner, type(exc).__name__)
            raise
        _fail(rt, job.id, owner, exc)
        done = True
        return _reload(rt, job.id)
    finally:
        heartbeat.stop()
        if done:
            shutil.rmtree(work, ignore_errors=True)


@dataclass(frozen=True)
class _Checked:
    """What the checks right before training established: the base model and the verified data copy."""

    ref: Any
    data_copy: Path
    data_sha256: str
    base_sha256: str
    """The base weights' digest, re-checked: the de-quantised cache entry it names is this base's."""
    card_facts: dict[str, Any]
    """The model card's facts: the base, the dataset and the policy bundle that allowed the job."""


def _check_inputs(*, rt: Runtime, job: Job, owner: str, work: Path) -> _Checked:
    """Policy and hashes once more (`_recheck`), then the approved data copied into the work directory
    and the copy hashed: the trainer reads exactly what was approved. Logs `job.verified`."""
    with rt.session() as session:
        dataset, ref, decision_id, base_sha256 = _recheck(rt=rt, session=session, job=job, owner=owner)
        data_copy = work / "train.jsonl"
        shutil.copyfile(rt.blobs.path(job.approved_sha256), data_copy)
        actual = file_sha256(data_copy)
        if actual != job.approved_sha256:
            raise IntegrityError(
                "redacted data does not match its approval: "
                f"expected {job.approved_sha256}, computed {actual}"
            )
        verified = {
            "job_id": job.id,
            "decision_id": decision_id,
            "redacted_sha256": actual,
            "base_weights_sha256": base_sha256,
        }
        session.add(JobEvent(job_id=job.id, kind="verified", data=verified))
        audit_log.append(session, actor=owner, action="job.verified", subject=job.id, payload=verified)
        decided = session.get(PolicyDecisionRecord, decision_id)
        card_facts: dict[str, Any] = {
            "base": {"name": ref.name, "upstream": ref.upstream, "weights_sha256": base_sha256},
            "dataset": {
                "id": dataset.id,
                "redacted_sha256": actual,
                "licence": dataset.licence,
                "records": dataset.records,
                "redaction_config_sha256": (dataset.scan_report or {}).get("config_sha256"),
            },
            "policy_bundle_sha256": decided.bundle_sha256 if decided is not None else "unknown",
        }
    return _Checked(
        ref=ref, data_copy=data_copy, data_sha256=actual, base_sha256=base_sha256, card_facts=card_facts
    )


class _StepEvents:
    """The trainer's `on_event`: each event checks the lease first (raising there is how a cancel or a
    lost lease stops the trainer), then becomes a job row for `jobs logs`. Step events are kept at most
    every `STEP_ROW_INTERVAL_S`, so a fast GPU does not spend its time in the database; the last step
    is always kept."""

    STEP_ROW_INTERVAL_S = 0.5

    def __init__(
        self, *, rt: Runtime, job_id: str, heartbeat: Heartbeat, progress: ProgressHook | None
    ) -> None:
        self.rt, self.job_id, self.heartbeat, self.progress = rt, job_id, heartbeat, progress
        self.last_step_row = 0.0

    def __call__(self, event: dict[str, Any]) -> None:
        self.heartbeat.check()
        kind = str(event.get("event", "event"))
        if self.progress is not None and kind == "step":
            self.progress(self.job_id, event)
        is_last = event.get("step") == event.get("steps")
        if (
            kind == "step"
            and not is_last
            and time.monotonic() - self.last_step_row < self.STEP_ROW_INTERVAL_S
        ):
            return
        self.last_step_row = time.monotonic()
        _event(self.rt, self.job_id, kind, event)


def _place_adapter(*, staging: Path, out_dir: Path, card: str, trained: dict[str, str]) -> dict[str, str]:
    """Put the model card in place of peft's template, move the adapter into the store, and re-hash it:
    the files' digests as they will be registered (`trained` is what the trainer hashed)."""
    card_bytes = card.encode("utf-8")
    (staging / CARD_FILE).write_bytes(card_bytes)
    expected = dict(sorted({**trained, CARD_FILE: hashlib.sha256(card_bytes).hexdigest()}.items()))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # One rename on the same filesystem: the adapter store never holds a half-copied adapter.
    os.replace(staging, out_dir)
    files = {name: file_sha256(out_dir / name) for name in expected}
    if files != expected:
        raise IntegrityError("adapter files changed between training and registration")
    return files


def _reload(rt: Runtime, job_id: str) -> Job:
    with rt.session() as session:
        job = session.get(Job, job_id)
    assert job is not None
    return job


def _cancelled(rt: Runtime, job_id: str, owner: str, by: str) -> bool:
    """Record that a running job stopped on request; False if the job is no longer this worker's."""
    with rt.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        if job.lease_owner != owner or job.status != JobStatus.running:
            return False
        message = f"cancelled by {by}"
        job.status, job.error, job.finished_at, job.lease_owner = (
            JobStatus.cancelled,
            message,
            datetime.now(UTC),
            None,
        )
        session.add(job)
        session.add(JobEvent(job_id=job_id, kind="cancelled", data={"by": by}))
        audit_log.append(
            session, actor=owner, action="job.cancelled", subject=job_id, payload={"job_id": job_id, "by": by}
        )
    log.info("job.cancelled", job_id=job_id, by=by)
    return True


def _release(rt: Runtime, job_id: str, owner: str, reason: str) -> None:
    """Put an interrupted job back in the queue, keeping its checkpoints, if this worker still holds it."""
    with rt.session() as session:
        job = session.get(Job, job_id)
        if job is None or job.lease_owner != owner or job.status != JobStatus.running:
            return
        job.status, job.lease_owner, job.lease_expires = JobStatus.queued, None, None
        session.add(job)
        session.add(JobEvent(job_id=job_id, kind="released", data={"worker": owner, "reason": reason}))
        audit_log.append(
            session,
            actor=owner,
            action="job.released",
            subject=job_id,
            payload={"job_id": job_id, "worker": owner, "reason": reason},
        )


def run_worker(
    *,
    rt: Runtime,
    actor: User,
    once: bool = False,
    poll_seconds: float = 2.0,
    progress: ProgressHook | None = None,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    token_id: str | None = None,
) -> list[Job]:
    """Process queued jobs; with `once`, process at most one and return.

    Before each claim the worker's credential is checked again (`tokens.recheck`: the user not disabled,
    the token `token_id` neither revoked nor expired), so a revoked worker stops taking jobs; the job it
    is running goes on to its end."""
    with rt.session() as session:
        authorize(rt=rt, session=session, actor=actor, action="worker.run", resource_type="job")
    owner = f"worker:{actor.name}@{worker_id()}"
    done: list[Job] = []
    while True:
        with rt.session() as session:
            tokens.recheck(session=session, user_id=actor.id, token_id=token_id)
        job = claim_next_job(rt=rt, owner=owner, lease_seconds=lease_seconds, max_attempts=max_attempts)
        if job is not None:
            done.append(
                run_job(
                    rt=rt,
                    job=job,
                    owner=owner,
                    progress=progress,
                    lease_seconds=lease_seconds,
                    checkpoint_every=checkpoint_every,
                )
            )
        if once:
            return done
        if job is None:
            time.sleep(poll_seconds)
