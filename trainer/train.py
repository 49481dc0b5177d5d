"""One LoRA fine-tuning run: a plain PyTorch loop around a peft model.

No HF Trainer: the loop is short, every source of randomness is seeded here (adapter initialisation,
dropout, data order), and nothing runs that the caller did not ask for, so the same seed, data and
base model give the same adapter bytes on CPU.

This module holds the run's order of work and the optimiser loop; its seams live beside it:
`trainer.distributed` (data parallelism under a launcher, WORLD_SIZE > 1: the collectives and the
sharded step), `trainer.evaluation` (held-out split, eval loss, samples) and `trainer.output` (the
adapter and the run's record, with their digests).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainer.accel import Ranks, autocast, process_group, qlora_load_kwargs, rank_device
from trainer.checkpoint import (
    Progress,
    load_checkpoint,
    rank_rng_state,
    run_fingerprint,
    save_checkpoint,
)
from trainer.config import TrainConfig
from trainer.data import Example, TrainingData, collate, load_training_data, pad_id
from trainer.digests import sha256_file
from trainer.distributed import barrier, broadcast, gather, parallel_fields, rank_seed, shard_step, wrap
from trainer.errors import TrainerError
from trainer.evaluation import eval_loss, generate_samples, split_eval
from trainer.models import BaseModelRef, load_model, load_tokenizer
from trainer.output import check_out_dir, versions, write_outputs

if TYPE_CHECKING:
    import torch

EventSink = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class TrainResult:
    """What a run wrote and measured."""

    out_dir: Path
    files: dict[str, str] = field(default_factory=dict)  # relative name -> sha256, sorted by name
    metrics: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)


def planned_steps(config: TrainConfig, examples: int, processes: int = 1) -> int:
    """Optimiser steps for `examples` records: max_steps or `epochs` passes, whichever is fewer.

    With several processes a step takes `batch_size` records on each of them.
    """
    steps_per_epoch = math.ceil(examples / (config.batch_size * processes))
    # Rounded first so that float noise (0.1 * 30 = 3.0000000000000004) cannot add a step.
    by_epochs = math.ceil(round(config.epochs * steps_per_epoch, 6))
    return max(1, min(config.max_steps, by_epochs))


def batch_order(examples: int, batch_size: int, steps: int, seed: int) -> list[list[int]]:
    """Indices of the examples in each step's batch: a fresh seeded shuffle per epoch."""
    rng = random.Random(seed)  # its own generator: the order depends on the seed alone
    batches: list[list[int]] = []
    while len(batches) < steps:
        order = list(range(examples))
        rng.shuffle(order)
        for start in range(0, examples, batch_size):
            batches.append(order[start : start + batch_size])
    return batches[:steps]


def train(
    config: TrainConfig,
    data_path: Path,
    base_model: BaseModelRef,
    out_dir: Path,
    on_event: EventSink | None = None,
    *,
    checkpoint_dir: Path | None = None,
    checkpoint_every: int = 0,
    data_sha256: str | None = None,
    base_cache_dir: Path | None = None,
    base_sha256: str | None = None,
) -> TrainResult:
    """Fine-tune a LoRA adapter on `base_model` with the JSONL records at `data_path`; write it to `out_dir`.

    `on_event` receives `start`, `eval` (before/after), one `step` per optimiser step, `checkpoint` and
    `saved`; an exception raised by it stops the run and propagates (the caller uses that to cancel).
    `out_dir` must be absent or empty: `files` lists every file in it, and nothing is written there
    until training ends.

    With `checkpoint_dir`, a checkpoint found there is resumed (it must come from the same settings,
    data and base model), and with `checkpoint_every` > 0 one is written every that many steps.
    `data_sha256` is the caller's digest of `data_path`, when it has just verified one (the worker
    does), so that a large file is not read a second time; without it the file is hashed here.
    With `base_cache_dir`, a GGUF base is de-quantised once and read from that cache afterwards
    (`trainer.basecache`), keyed by `base_sha256` (the caller's verified digest of the GGUF file) or,
    without it, the digest computed here.

    Under a launcher (WORLD_SIZE > 1) the run is data-parallel (see the module docstring): `on_event`
    is called on rank 0 only, and every rank returns once rank 0 has written the adapter, with the files
    rank 0 wrote (its metrics are its own: the global figures, its own timings).
    """
    ranks = Ranks.from_env()
    device = rank_device(ranks)
    with process_group(ranks, device):
        return _train(
            config,
            Path(data_path),
            base_model,
            Path(out_dir),  # a str from a caller works too
            (on_event or _ignore) if ranks.main else _ignore,
            checkpoint_dir=checkpoint_dir,
            checkpoint_every=checkpoint_every,
            data_sha256=data_sha256,
            base_cache_dir=base_cache_dir,
            base_sha256=base_sha256,
            ranks=ranks,
            device=device,
        )


def _train(
    config: TrainConfig,
    data_path: Path,
    base_model: BaseModelRef,
    out_dir: Path,
    emit: EventSink,
    *,
    checkpoint_dir: Path | None,
    checkpoint_every: int,
    data_sha256: str | None,
    base_cache_dir: Path | None,
    base_sha256: str | None,
    ranks: Ranks,
    device: torch.device,
) -> TrainResult:
    if checkpoint_every < 0:
        raise TrainerError(f"checkpoint_every must be 0 (never) or positive, got {checkpoint_every}")
    if checkpoint_every and checkpoint_dir is None:
        raise TrainerError("checkpoint_every needs a checkpoint_dir to write to")
    check_out_dir(out_dir)
    if config.qlora:  # refused in seconds, not after the data is tokenised
        qlora_load_kwargs(device=device, gguf=base_model.gguf_file is not None)
    # Tokenizer and data first: a bad file fails in seconds, before the slow weight load.
    tokenizer = load_tokenizer(base_model, cache_dir=base_cache_dir, gguf_sha256=base_sha256)
    data = load_training_data(data_path, tokenizer, max_seq_len=config.max_seq_len)
    train_set, eval_set, held_out = split_eval(data.examples, config)
    steps = planned_steps(config, len(train_set), ranks.world)
    batches = batch_order(len(train_set), config.batch_size * ranks.world, steps, config.seed)
    pad = pad_id(tokenizer)
    model = load_model(
        base_model, device=device, qlora=config.qlora, cache_dir=base_cache_dir, gguf_sha256=base_sha256
    )

    from peft import get_peft_model

    # peft records the base model's name_or_path in adapter_config.json: give it the model's Hugging Face
    # id, so peft and transformers load the adapter anywhere (or, without one, the catalog name), never
    # where one host keeps its files (the adapter's bytes do not depend on that path).
    model.name_or_path = base_model.upstream or base_model.name
    model.config.name_or_path = base_model.upstream or base_model.name
    lora_config = config.to_lora_config()
    fingerprint = run_fingerprint(
        config=config.model_dump(mode="json"),
        data_sha256=data_sha256 or sha256_file(data_path),
        base_model=base_model.name,
    )
    import torch

    with _seeded(config.seed, device):
        peft_model = get_peft_model(model, lora_config)
        trainable, total = peft_model.get_nb_trainable_parameters()
        optimizer = torch.optim.AdamW(
            [p for p in peft_model.parameters() if p.requires_grad], lr=config.learning_rate
        )
        trained: torch.nn.Module = peft_model
        if ranks.parallel:
            # Every rank initialised the same adapter from the seed; from here each draws its own dropout.
            torch.manual_seed(rank_seed(config.seed, ranks.rank))
            trained = wrap(peft_model, device)
        progress: Progress | None = None
        if checkpoint_dir is not None:
            # After model and optimiser exist (their state is overwritten) and inside _seeded (the
            # restored random state is what the remaining steps' dropout draws from).
            progress = load_checkpoint(
                Path(checkpoint_dir),
                model=peft_model,
                optimizer=optimizer,
                fingerprint=fingerprint,
                total_steps=steps,
                world_size=ranks.world,
                rank=ranks.rank,
            )
        emit(
            {
                "event": "start",
                "steps": steps,
                "resumed_from": progress.step if progress is not None else 0,
                "records": data.records,
                "examples": len(data.examples),
                "train_examples": len(train_set),
                "eval_examples": len(eval_set),
                "eval_held_out": held_out,
                "skipped": data.skipped,
                "device": str(device),
                "trainable_params": trainable,
                "total_params": total,
                **parallel_fields(config, ranks),
            }
        )
        if progress is None or progress.eval_before is None:
            # Only a fresh run measures the base: a resumed one already holds trained weights.
            progress = Progress(step=0 if progress is None else progress.step)
            progress.eval_before = eval_loss(peft_model, eval_set, pad, device, ranks)
        emit({"event": "eval", "phase": "before", "loss": progress.eval_before, "records": len(eval_set)})

        def checkpoint(done: Progress) -> None:
            assert checkpoint_dir is not None
            rank_rng = gather(rank_rng_state(device), ranks) if ranks.parallel else None
            if ranks.main:
                save_checkpoint(
                    Path(checkpoint_dir),
                    model=peft_model,
                    optimizer=optimizer,
                    progress=done,
                    fingerprint=fingerprint,
                    world_size=ranks.world,
                    rank_rng=rank_rng,
                )
                emit({"event": "checkpoint", "step": done.step, "steps": steps})
            barrier(ranks)

        _optimise(
            trained,
            optimizer,
            train_set,
            batches,
            progress,
            pad,
            device,
            emit,
            checkpoint if checkpoint_every else None,
            checkpoint_every,
            ranks=ranks,
            per_rank=config.batch_size,
        )
        eval_after = eval_loss(peft_model, eval_set, pad, device, ranks)
        emit({"event": "eval", "phase": "after", "loss": eval_after, "records": len(eval_set)})
        # Rank 0 alone: only its samples are written, and generation needs no other rank.
        samples = (
            generate_samples(peft_model, tokenizer, eval_set[: config.sample_generations], pad, device)
            if ranks.main
            else []
        )
        if samples:
            emit({"event": "samples", "held_out": held_out, "samples": samples})

    metrics = _metrics(
        config=config,
        ranks=ranks,
        device=device,
        steps=steps,
        data=data,
        train_set=train_set,
        eval_set=eval_set,
        held_out=held_out,
        progress=progress,
        eval_after=eval_after,
        trainable=trainable,
    )
    found = versions()
    files: dict[str, str] = {}
    if ranks.main:
        files = write_outputs(peft_model, config, base_model, out_dir, metrics, found, samples)
        emit({"event": "saved", "out_dir": str(out_dir), "files": files})
    if ranks.parallel:
        # The other ranks wait here for rank 0's files, and return what it wrote.
        files = broadcast(files, ranks)
    return TrainResult(out_dir=out_dir, files=files, metrics=metrics, versions=found)


def _metrics(
    *,
    config: TrainConfig,
    ranks: Ranks,
    device: torch.device,
    steps: int,
    data: TrainingData,
    train_set: Sequence[Example],
    eval_set: Sequence[Example],
    held_out: bool,
    progress: Progress,
    eval_after: float,
    trainable: int,
) -> dict[str, Any]:
    """The run's figures, as metrics.json and the worker's adapter record hold them."""
    seconds, cpu_seconds = progress.seconds, progress.attempt_cpu_seconds
    return {
        "steps": steps,
        "records": data.records,
        "examples": len(data.examples),
        "skipped": data.skipped,
        "tokens": progress.tokens_seen,
        "seconds": seconds,
        "tokens_per_s": progress.tokens_seen / seconds if seconds > 0 else 0.0,
        "cpu_seconds": cpu_seconds,
        "tokens_per_cpu_s": progress.attempt_tokens / cpu_seconds if cpu_seconds > 0 else 0.0,
        "loss_first": progress.losses[0],
        "loss_last": progress.losses[-1],
        "eval_loss_before": progress.eval_before,
        "eval_loss_after": eval_after,
        "eval_records": len(eval_set),
        "eval_held_out": held_out,
        "train_examples": len(train_set),
        "trainable_params": trainable,
        "device": str(device),
        **parallel_fields(config, ranks),
    }


def _ignore(event: dict[str, Any]) -> None:
    del event


@contextmanager
def _seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed python, numpy and torch for the block, then give the caller its random state back."""
    import numpy as np
    import torch

    python_state, numpy_state = random.getstate(), np.random.get_state()
    cuda_devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda_devices):
        random.seed(seed)
        np.random.seed(seed % 2**32)  # numpy takes 32-bit seeds only
        torch.manual_seed(seed)
        try:
            yield
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)


def _optimise(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    examples: Sequence[Example],
    batches: list[list[int]],
    progress: Progress,
    pad: int,
    device: torch.device,
    emit: EventSink,
    checkpoint: Callable[[Progress], None] | None,
    checkpoint_every: int,
    *,
    ranks: Ranks = Ranks(),  # noqa: B008 - frozen, so one shared default is safe
    per_rank: int = 1,
) -> None:
    """Run the optimiser steps after `progress.step`, updating `progress` (losses, tokens, seconds).

    Under data parallelism `model` is the DDP wrapper and `batches` hold global batches; the loss and
    tokens recorded are the global batch's.
    """
    model.train()
    # Rates are over this attempt only: time spent before a crash says nothing about this host's speed.
    session_tokens = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    seconds_before = progress.seconds
    first_step = progress.step + 1
    for step, indices in enumerate(batches, start=1):
        if step <= progress.step:
            continue  # done before the checkpoint this run resumed from
        if ranks.parallel:
            step_loss, tokens = shard_step(
                model, [examples[i] for i in indices], ranks, per_rank, pad, device, step
            )
        else:
            records = [examples[i] for i in indices]
            with autocast(device):
                loss = model(**collate(records, pad, device), use_cache=False).loss
            loss.backward()
            # One device sync per step, after backward is queued: a check before it would stall the GPU.
            step_loss = float(loss.item())
            if not math.isfinite(step_loss):
                # Stop before the optimiser applies the step, rather than save an adapter full of NaNs.
                raise TrainerError(f"training diverged: loss is {step_loss} at step {step}")
            # Every non-padding token the step processed, counted on the host rather than on the device.
            tokens = sum(len(record.input_ids) for record in records)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        session_tokens += tokens
        elapsed = time.perf_counter() - started
        progress.step = step
        progress.tokens_seen += tokens
        progress.losses.append(step_loss)
        progress.seconds = seconds_before + elapsed
        # Process CPU time (every thread, the caller's event handling included): steadier than wall
        # time on a shared host, and it charges a worker's bookkeeping to the run.
        progress.attempt_tokens, progress.attempt_cpu_seconds = (
            session_tokens,
            time.process_time() - cpu_started,
        )
        emit(
            {
                "event": "step",
                "step": step,
                "steps": len(batches),
                "loss": progress.losses[-1],
                "tokens": tokens,
                "tokens_per_s": session_tokens / elapsed if elapsed > 0 else 0.0,
                "eta_s": elapsed / (step - first_step + 1) * (len(batches) - step),
            }
        )
        if checkpoint is not None and step % checkpoint_every == 0:
            checkpoint(progress)
