"""The worker: claim a queued job, re-check everything, train, register the adapter.

Right before `trainer.train` is called the worker copies the redacted data into the job's work
directory, hashes the copy, and compares it with the hash the approval and the policy decision were
bound to; it also re-asks the training policy and re-hashes the base weights. Any mismatch fails the
job with the reason, in the log.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from sqlmodel import Session, col, select

from audit import log as audit_log
from audit.canonical import canonical_json, sha256_hex
from audit.signing import sign
from gateway.errors import FtgateError, IntegrityError, PolicyDenied
from gateway.models import Adapter, Dataset, Job, JobEvent, JobStatus, User, new_id
from gateway.runtime import Runtime
from gateway.services.authz import authorize
from gateway.services.catalog import get_model, model_ref
from gateway.services.decisions import record_decision
from gateway.services.jobs import parse_config, training_input
from gateway.store.blobs import file_sha256
from trainer.models import weights_sha256
from trainer.train import train

log = structlog.get_logger()

LEASE = timedelta(hours=6)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_next_job(*, rt: Runtime, owner: str) -> Job | None:
    """Move the oldest queued job to running under this worker's lease, with its log entry."""
    with rt.session() as session:
        query = select(Job).where(col(Job.status) == JobStatus.queued).order_by(col(Job.created_at)).limit(1)
        if rt.engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        job = session.exec(query).first()
        if job is None:
            return None
        now = datetime.now(UTC)
        job.status, job.lease_owner, job.lease_expires, job.started_at = (
            JobStatus.running,
            owner,
            now + LEASE,
            now,
        )
        session.add(job)
        audit_log.append(
            session,
            actor=owner,
            action="job.started",
            subject=job.id,
            payload={"job_id": job.id, "worker": owner},
        )
    return job


def _event(rt: Runtime, job_id: str, kind: str, data: dict[str, Any]) -> None:
    with rt.session() as session:
        session.add(JobEvent(job_id=job_id, kind=kind, data=data))


def _fail(rt: Runtime, job_id: str, owner: str, error: BaseException) -> None:
    message = error.message if isinstance(error, FtgateError) else f"{type(error).__name__}: {error}"
    with rt.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
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
                "code": getattr(error, "code", type(error).__name__),
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
        session=session, actor=submitter, dataset=dataset, base_model=job.base_model, config=config
    )
    decision = rt.policy.decide("ftgate.training", policy_input)
    row = record_decision(session=session, actor=owner, decision=decision, input=policy_input)
    if not decision.allow:
        session.commit()  # keep the refusing decision on the record
        raise PolicyDenied(
            "policy no longer allows this job: " + "; ".join(r.message for r in decision.reasons),
            details={"decision_id": row.id},
        )
    entry = get_model(session=session, name=job.base_model)
    ref = model_ref(entry)
    actual = weights_sha256(ref)
    if actual != entry.weights_sha256:
        raise IntegrityError(
            f"base model {entry.name} weights changed: expected {entry.weights_sha256}, computed {actual}"
        )
    return dataset, ref, row.id, actual


ProgressHook = Callable[[str, dict[str, Any]], None]


def run_job(*, rt: Runtime, job: Job, owner: str, progress: ProgressHook | None = None) -> Job:
    """Train one claimed job to completion or failure; never leaves a partial adapter registered."""
    adapter_id = new_id("ad")
    out_dir = rt.settings.adapter_dir / adapter_id
    work = Path(tempfile.mkdtemp(prefix=f"ftgate-{job.id}-"))
    try:
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
        config = parse_config(job.config)
        last_step_row = 0.0

        def on_event(event: dict[str, Any]) -> None:
            # Step events become rows for `jobs logs`, at most a few a second so a fast GPU does not
            # spend its time in the database; the last step is always kept.
            nonlocal last_step_row
            kind = str(event.get("event", "event"))
            if progress is not None and kind == "step":
                progress(job.id, event)
            is_last = event.get("step") == event.get("steps")
            if kind == "step" and not is_last and time.monotonic() - last_step_row < 0.5:
                return
            last_step_row = time.monotonic()
            _event(rt, job.id, kind, event)

        result = train(config, data_copy, ref, out_dir, on_event)
        files = {name: file_sha256(out_dir / name) for name in sorted(result.files)}
        if files != dict(sorted(result.files.items())):
            raise IntegrityError("adapter files changed between training and registration")
        with rt.session() as session:
            entry = get_model(session=session, name=job.base_model)
            manifest = {
                "adapter_id": adapter_id,
                "job_id": job.id,
                "dataset_id": dataset.id,
                "redacted_sha256": job.approved_sha256,
                "base_model": entry.name,
                "base_weights_sha256": entry.weights_sha256,
                "files": files,
            }
            manifest_bytes = canonical_json(manifest)
            adapter = Adapter(
                id=adapter_id,
                job_id=job.id,
                dataset_id=dataset.id,
                team=job.team,
                base_model=entry.name,
                path=str(out_dir.resolve()),
                files=files,
                manifest_sha256=sha256_hex(manifest_bytes),
                signature=sign(rt.signing_key, manifest_bytes),
                metrics=result.metrics,
            )
            session.add(adapter)
            stored = session.get(Job, job.id)
            assert stored is not None
            stored.status, stored.adapter_id, stored.finished_at = (
                JobStatus.succeeded,
                adapter_id,
                datetime.now(UTC),
            )
            stored.lease_owner = None
            session.add(stored)
            session.add(JobEvent(job_id=job.id, kind="succeeded", data={"adapter_id": adapter_id}))
            audit_log.append(
                session,
                actor=owner,
                action="adapter.registered",
                subject=adapter_id,
                payload={
                    **manifest,
                    "manifest_sha256": adapter.manifest_sha256,
                    "signature": adapter.signature,
                    "config": job.config,
                    "metrics": result.metrics,
                    "versions": result.versions,
                },
            )
            audit_log.append(
                session,
                actor=owner,
                action="job.succeeded",
                subject=job.id,
                payload={"job_id": job.id, "adapter_id": adapter_id},
            )
        log.info("job.succeeded", job_id=job.id, adapter_id=adapter_id)
        return stored
    except BaseException as exc:
        shutil.rmtree(out_dir, ignore_errors=True)
        _fail(rt, job.id, owner, exc)
        if not isinstance(exc, Exception):
            raise
        with rt.session() as session:
            failed = session.get(Job, job.id)
        assert failed is not None
        return failed
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_worker(
    *,
    rt: Runtime,
    actor: User,
    once: bool = False,
    poll_seconds: float = 2.0,
    progress: ProgressHook | None = None,
) -> list[Job]:
    """Process queued jobs; with `once`, process at most one and return."""
    authorize(rt=rt, actor=actor, action="worker.run", resource_type="job")
    owner = f"worker:{actor.name}@{worker_id()}"
    done: list[Job] = []
    while True:
        job = claim_next_job(rt=rt, owner=owner)
        if job is not None:
            done.append(run_job(rt=rt, job=job, owner=owner, progress=progress))
        if once:
            return done
        if job is None:
            time.sleep(poll_seconds)
