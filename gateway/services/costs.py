"""What a training job is expected to cost in GPU-hours, and what its team has committed this month.

The estimate is arithmetic on what is known at submit time, before any tokenizer or GPU is touched:

    tokens per epoch  = min(redacted bytes / BYTES_PER_TOKEN, records x max_seq_len)
    planned tokens    = min(epochs x tokens per epoch, max_steps x batch_size x max_seq_len)
    FLOPs             = FLOPS_PER_PARAMETER_TOKEN x base model parameters x planned tokens
    GPU-hours         = FLOPs / (gpu_effective_tflops x 10^12 x 3600)

Six FLOPs per parameter and token is the usual forward + backward count for training (Kaplan et al.,
2020). LoRA skips the frozen weights' gradients, so this over-states its cost by up to a third: an
estimate that a budget is held to should err high. Bytes of redacted JSONL over four (English BPE runs
at about four characters a token; the JSON keys add more) errs high too. The policy (`ftgate.training`)
compares the result with the team's monthly budget and auto-approve limit; the stored decision input
keeps the figures, so `policy replay` sees what the decision saw.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from gateway.models import Dataset, Job, JobStatus
from trainer.config import TrainConfig

BYTES_PER_TOKEN = 4
FLOPS_PER_PARAMETER_TOKEN = 6


def estimate_job(
    *, dataset: Dataset, parameters: int | None, config: TrainConfig, gpu_effective_tflops: float
) -> dict[str, Any]:
    """The job's planned tokens, FLOPs and GPU-hours; `gpu_hours` is None if the model size is unknown."""
    by_bytes = math.ceil((dataset.redacted_bytes or 0) / BYTES_PER_TOKEN)
    tokens_per_epoch = min(by_bytes, dataset.records * config.max_seq_len)
    by_epochs = math.ceil(config.epochs * tokens_per_epoch)
    by_steps = config.max_steps * config.batch_size * config.max_seq_len
    tokens = min(by_epochs, by_steps)
    estimate: dict[str, Any] = {
        "tokens": tokens,
        "parameters": parameters,
        "flops": None,
        "gpu_hours": None,
        "gpu_effective_tflops": gpu_effective_tflops,
    }
    if parameters:
        flops = FLOPS_PER_PARAMETER_TOKEN * parameters * tokens
        estimate["flops"] = float(flops)
        estimate["gpu_hours"] = flops / (gpu_effective_tflops * 1e12 * 3600)
    return estimate


def month_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m")


def team_usage(
    *, session: Session, team: str, now: datetime, exclude_job: str | None = None
) -> dict[str, Any]:
    """GPU-hours the team's jobs admitted this calendar month (UTC) have committed.

    A job turned down, or cancelled before any worker claimed it, spent nothing; one that ran, even one
    that failed, did. `exclude_job` leaves one job out: the worker's re-check of a job must not count the
    job against itself.
    """
    month = month_of(now)
    used = 0.0
    for job in session.exec(select(Job).where(col(Job.team) == team)):
        if job.id == exclude_job or month_of(_aware(job.created_at)) != month:
            continue
        if job.status == JobStatus.rejected or (job.status == JobStatus.cancelled and job.attempts == 0):
            continue
        used += job.estimated_gpu_hours or 0.0
    return {"month": month, "gpu_hours": used}


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back naive; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
