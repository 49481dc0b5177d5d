"""Training checkpoints: enough state to resume a run as if it had never stopped.

A checkpoint holds the LoRA weights, the optimiser state, torch's random state (dropout draws from
it), the step reached and the running totals. Batch order needs nothing: `batch_order` derives it
from the seed alone, so a resumed run skips the batches already done. On CPU a run resumed from a
checkpoint writes the same adapter bytes as one that ran straight through.

Under data parallelism (`trainer.accel.Ranks`) rank 0 writes the one checkpoint, holding every
rank's random state, and each rank restores its own; a checkpoint only resumes a run with the same
number of processes, since that number decides the global batch and so the batches themselves.

The file is written to a temporary name and renamed over the old one, so a process killed mid-write
(kill -9, a lost node) leaves the previous checkpoint intact rather than half a new one.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainer.errors import TrainerError

if TYPE_CHECKING:
    import torch
    from peft import PeftModel

CHECKPOINT_FILE = "checkpoint.pt"
FORMAT = 1


class CheckpointError(TrainerError):
    """A checkpoint exists but cannot be used for this run."""


@dataclass
class Progress:
    """Where a run stands: what a checkpoint restores besides the tensors."""

    step: int = 0  # optimiser steps completed
    losses: list[float] = field(default_factory=list)
    tokens_seen: int = 0
    seconds: float = 0.0  # training time across every attempt, for tokens/s
    eval_before: float | None = None
    # This attempt only, never checkpointed: what the loop cost here, for throughput per CPU-second.
    attempt_tokens: int = 0
    attempt_cpu_seconds: float = 0.0


def run_fingerprint(*, config: dict[str, Any], data_sha256: str, base_model: str) -> str:
    """Identity of a run: a checkpoint only resumes the run whose settings, data and base it came from."""
    blob = json.dumps(
        {"config": config, "data": data_sha256, "base_model": base_model}, sort_keys=True
    ).encode()
    return hashlib.sha256(blob).hexdigest()


def save_checkpoint(
    directory: Path,
    *,
    model: PeftModel,
    optimizer: torch.optim.Optimizer,
    progress: Progress,
    fingerprint: str,
    world_size: int = 1,
    rank_rng: list[dict[str, Any]] | None = None,
) -> Path:
    """Write the checkpoint atomically; return its path.

    Under data parallelism `rank_rng` holds each rank's random state (`rank_rng_state`), by rank.
    """
    import torch
    from peft import get_peft_model_state_dict

    directory.mkdir(parents=True, exist_ok=True)
    state = {
        "format": FORMAT,
        "fingerprint": fingerprint,
        "step": progress.step,
        "losses": list(progress.losses),
        "tokens_seen": progress.tokens_seen,
        "seconds": progress.seconds,
        "eval_before": progress.eval_before,
        # clone: the saved tensors must not alias live parameters while torch.save writes them
        "lora": {
            k: v.detach().cpu().clone()
            for k, v in get_peft_model_state_dict(model, save_embedding_layers=False).items()
        },
        "optimizer": optimizer.state_dict(),
        "rng_cpu": torch.get_rng_state(),
        "rng_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "world_size": world_size,
    }
    if rank_rng is not None:
        if len(rank_rng) != world_size:
            raise CheckpointError(f"{len(rank_rng)} random states for {world_size} processes")
        state["rank_rng"] = rank_rng
    final = directory / CHECKPOINT_FILE
    partial = directory / (CHECKPOINT_FILE + ".partial")
    with partial.open("wb") as handle:
        torch.save(state, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, final)
    return final


def load_checkpoint(
    directory: Path,
    *,
    model: PeftModel,
    optimizer: torch.optim.Optimizer,
    fingerprint: str,
    total_steps: int,
    world_size: int = 1,
    rank: int = 0,
) -> Progress | None:
    """Restore model, optimiser and random state from `directory`; None when there is no checkpoint.

    Under data parallelism every rank calls this and restores its own random state.
    """
    import torch
    from peft import set_peft_model_state_dict

    path = directory / CHECKPOINT_FILE
    if not path.is_file():
        return None
    try:
        # weights_only: a checkpoint is data, never code to unpickle.
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises a zoo of types for a damaged file
        raise CheckpointError(f"checkpoint {path} cannot be read: {error}") from error
    if state.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path} has format {state.get('format')!r}, expected {FORMAT}")
    if state.get("fingerprint") != fingerprint:
        # Resuming someone else's weights would register an adapter the approval never covered.
        raise CheckpointError(
            f"checkpoint {path} belongs to another run: "
            f"expected {fingerprint}, found {state.get('fingerprint')}"
        )
    written_by = int(state.get("world_size", 1))  # checkpoints from before data parallelism: one process
    if written_by != world_size:
        raise CheckpointError(
            f"checkpoint {path} was written by a run of {written_by} process(es) and this run has "
            f"{world_size}: the global batch differs, so it cannot resume; run with {written_by} or "
            "delete the checkpoint"
        )
    step = int(state["step"])
    if not 0 < step <= total_steps:
        raise CheckpointError(f"checkpoint {path} is at step {step}, outside 1..{total_steps}")
    set_peft_model_state_dict(model, state["lora"])
    optimizer.load_state_dict(state["optimizer"])
    if world_size > 1:
        restore_rank_rng_state(state["rank_rng"][rank])
    else:
        torch.set_rng_state(state["rng_cpu"])
        if state["rng_cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng_cuda"])
    return Progress(
        step=step,
        losses=[float(x) for x in state["losses"]],
        tokens_seen=int(state["tokens_seen"]),
        seconds=float(state["seconds"]),
        eval_before=None if state["eval_before"] is None else float(state["eval_before"]),
    )


def rank_rng_state(device: torch.device) -> dict[str, Any]:
    """This process's torch random state: the CPU generator and, on a GPU, its own device's."""
    import torch

    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rank_rng_state(state: dict[str, Any]) -> None:
    """Undo `rank_rng_state` in the process that resumes that rank."""
    import torch

    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"], torch.cuda.current_device())
