"""One LoRA fine-tuning run: a plain PyTorch loop around a peft model.

No HF Trainer: the loop is short, every source of randomness is seeded here (adapter initialisation,
dropout, data order), and nothing runs that the caller did not ask for, so the same seed, data and
base model give the same adapter bytes on CPU.

Data parallelism: started by a launcher with WORLD_SIZE > 1 (`trainer.accel.launch_command`), every
process runs this same function. `batch_size` is then the batch of each process, and one optimiser
step takes a global batch of `batch_size` x processes records, drawn by `batch_order` from the seed
exactly as a single process with that batch size would draw it; rank r trains on its r-th slice.
Each rank's loss is its share of the global batch's mean token loss (its summed token losses over
the global batch's token count, times the number of processes, since DDP averages the gradients
over processes), so a step follows the gradient a single process computes for the whole global batch:
without dropout the adapter is that run's, up to float rounding. Dropout masks are drawn per process
(seeded by seed and rank), so with dropout the run is reproducible but not the single-process one.
Losses, token counts and the evaluation are combined over ranks, so events show global figures;
only rank 0 emits events and writes checkpoints and the adapter, while the others wait for it.
"""

from __future__ import annotations

import json
import math
import platform
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
from trainer.data import IGNORE_INDEX, Example, load_training_data
from trainer.digests import sha256_file
from trainer.errors import OutputDirError, TrainerError
from trainer.models import BaseModelRef, load_model, load_tokenizer

if TYPE_CHECKING:
    import torch
    from peft import PeftModel

EventSink = Callable[[dict[str, Any]], None]

ADAPTER_WEIGHTS = "adapter_model.safetensors"
ADAPTER_CONFIG = "adapter_config.json"
TRAIN_CONFIG = "train_config.json"
METRICS = "metrics.json"
SAMPLES = "samples.json"
EVAL_RECORDS = 8  # records in the before/after loss check: enough to see a change, cheap on CPU
SAMPLE_NEW_TOKENS = 48


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


def split_eval(
    examples: Sequence[Example], config: TrainConfig
) -> tuple[tuple[Example, ...], tuple[Example, ...], bool]:
    """Split into (training, evaluation, held_out): a seeded choice of records is held out of training.

    With `eval_fraction` 0, or a single record, nothing is held out and evaluation uses the first
    training records (held_out is False, so the metrics say the eval loss is in-sample).
    """
    if config.eval_fraction == 0 or len(examples) < 2:
        return tuple(examples), tuple(examples[:EVAL_RECORDS]), False
    count = min(EVAL_RECORDS, len(examples) - 1, max(1, round(config.eval_fraction * len(examples))))
    # Its own generator, offset from the batch-order one, so the two choices are independent.
    chosen = set(random.Random(f"eval:{config.seed}").sample(range(len(examples)), count))
    train_set = tuple(e for i, e in enumerate(examples) if i not in chosen)
    eval_set = tuple(e for i, e in enumerate(examples) if i in chosen)
    return train_set, eval_set, True


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


def versions() -> dict[str, str]:
    """Versions of what decides the adapter's bytes."""
    import peft
    import torch
    import transformers

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
    }


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
    ranks: Ranks,
    device: torch.device,
) -> TrainResult:
    if checkpoint_every < 0:
        raise TrainerError(f"checkpoint_every must be 0 (never) or positive, got {checkpoint_every}")
    if checkpoint_every and checkpoint_dir is None:
        raise TrainerError("checkpoint_every needs a checkpoint_dir to write to")
    _check_out_dir(out_dir)
    if config.qlora:  # refused in seconds, not after the data is tokenised
        qlora_load_kwargs(device=device, gguf=base_model.gguf_file is not None)
    # Tokenizer and data first: a bad file fails in seconds, before the slow weight load.
    tokenizer = load_tokenizer(base_model)
    data = load_training_data(data_path, tokenizer, max_seq_len=config.max_seq_len)
    train_set, eval_set, held_out = split_eval(data.examples, config)
    steps = planned_steps(config, len(train_set), ranks.world)
    batches = batch_order(len(train_set), config.batch_size * ranks.world, steps, config.seed)
    pad_id = _pad_id(tokenizer)
    model = load_model(base_model, device=device, qlora=config.qlora)

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
            torch.manual_seed(_rank_seed(config.seed, ranks.rank))
            from torch.nn.parallel import DistributedDataParallel

            trained = DistributedDataParallel(
                peft_model, device_ids=[device.index] if device.type == "cuda" else None
            )
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
                **_parallel_fields(config, ranks),
            }
        )
        if progress is None or progress.eval_before is None:
            # Only a fresh run measures the base: a resumed one already holds trained weights.
            progress = Progress(step=0 if progress is None else progress.step)
            progress.eval_before = _eval_loss(peft_model, eval_set, pad_id, device, ranks)
        eval_before = progress.eval_before
        emit({"event": "eval", "phase": "before", "loss": eval_before, "records": len(eval_set)})

        def checkpoint(done: Progress) -> None:
            assert checkpoint_dir is not None
            rank_rng = _gather(rank_rng_state(device), ranks) if ranks.parallel else None
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
            _barrier(ranks)

        _optimise(
            trained,
            optimizer,
            train_set,
            batches,
            progress,
            pad_id,
            device,
            emit,
            checkpoint if checkpoint_every else None,
            checkpoint_every,
            ranks=ranks,
            per_rank=config.batch_size,
        )
        losses, tokens_seen, seconds = progress.losses, progress.tokens_seen, progress.seconds
        eval_after = _eval_loss(peft_model, eval_set, pad_id, device, ranks)
        emit({"event": "eval", "phase": "after", "loss": eval_after, "records": len(eval_set)})
        # Rank 0 alone: only its samples are written, and generation needs no other rank.
        samples = (
            _generate_samples(peft_model, tokenizer, eval_set[: config.sample_generations], pad_id, device)
            if ranks.main
            else []
        )
        if samples:
            emit({"event": "samples", "held_out": held_out, "samples": samples})

    metrics: dict[str, Any] = {
        "steps": steps,
        "records": data.records,
        "examples": len(data.examples),
        "skipped": data.skipped,
        "tokens": tokens_seen,
        "seconds": seconds,
        "tokens_per_s": tokens_seen / seconds if seconds > 0 else 0.0,
        "cpu_seconds": progress.attempt_cpu_seconds,
        "tokens_per_cpu_s": (
            progress.attempt_tokens / progress.attempt_cpu_seconds
            if progress.attempt_cpu_seconds > 0
            else 0.0
        ),
        "loss_first": losses[0],
        "loss_last": losses[-1],
        "eval_loss_before": eval_before,
        "eval_loss_after": eval_after,
        "eval_records": len(eval_set),
        "eval_held_out": held_out,
        "train_examples": len(train_set),
        "trainable_params": trainable,
        "device": str(device),
        **_parallel_fields(config, ranks),
    }
    found = versions()
    files: dict[str, str] = {}
    if ranks.main:
        files = _write_outputs(peft_model, config, base_model, out_dir, metrics, found, samples)
        emit({"event": "saved", "out_dir": str(out_dir), "files": files})
    if ranks.parallel:
        # The other ranks wait here for rank 0's files, and return what it wrote.
        files = _broadcast(files, ranks)
    return TrainResult(out_dir=out_dir, files=files, metrics=metrics, versions=found)


def _ignore(event: dict[str, Any]) -> None:
    del event


def _parallel_fields(config: TrainConfig, ranks: Ranks) -> dict[str, Any]:
    """What a data-parallel run adds to its start event and metrics; nothing for a single process."""
    if not ranks.parallel:
        return {}
    return {"processes": ranks.world, "global_batch_size": config.batch_size * ranks.world}


def _rank_seed(seed: int, rank: int) -> int:
    # Distinct per rank and fixed by the seed; hashed rather than seed + rank so that seed 1 rank 0
    # and seed 0 rank 1 do not share dropout masks.
    import hashlib

    digest = hashlib.sha256(f"dropout:{seed}:{rank}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _gather(value: Any, ranks: Ranks) -> list[Any]:
    """Every rank's `value`, by rank, on every rank."""
    import torch.distributed as dist

    found: list[Any] = [None] * ranks.world
    dist.all_gather_object(found, value)
    return found


def _broadcast(value: Any, ranks: Ranks) -> Any:
    """Rank 0's `value` on every rank."""
    import torch.distributed as dist

    box = [value if ranks.main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def _barrier(ranks: Ranks) -> None:
    if ranks.parallel:
        import torch.distributed as dist

        dist.barrier()


def _all_sum(values: Sequence[float], device: torch.device) -> list[float]:
    """Element-wise sum over ranks (float64: token counts stay exact)."""
    import torch
    import torch.distributed as dist

    # NCCL reduces tensors on the rank's GPU, gloo on the CPU.
    tensor = torch.tensor(list(values), dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return [float(v) for v in tensor.tolist()]


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise OutputDirError(f"output directory {out_dir} is not empty")


def _pad_id(tokenizer: Any) -> int:
    # Padded positions are masked out of attention and loss, so any id will do; pad, else end of text.
    for candidate in (tokenizer.pad_token_id, tokenizer.eos_token_id):
        if candidate is not None:
            return int(candidate)
    return 0


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
    pad_id: int,
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
            step_loss, tokens = _shard_step(
                model, [examples[i] for i in indices], ranks, per_rank, pad_id, device, step
            )
        else:
            records = [examples[i] for i in indices]
            with autocast(device):
                loss = model(**_collate(records, pad_id, device), use_cache=False).loss
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


def _shard_step(
    model: torch.nn.Module,
    records: Sequence[Example],
    ranks: Ranks,
    per_rank: int,
    pad_id: int,
    device: torch.device,
    step: int,
) -> tuple[float, int]:
    """Forward and backward of this rank's slice of a global batch; return its mean loss and tokens.

    The returned figures are the global batch's, the same on every rank.
    """
    shard = records[ranks.rank * per_rank : (ranks.rank + 1) * per_rank]
    # The last batch of an epoch can leave a rank without records. It still runs a forward and
    # backward (on a record it then weighs zero), since DDP's gradient averaging needs every rank.
    batch = _collate(shard or records[:1], pad_id, device)
    # Tokens the loss is taken over (the labels after transformers' one-position shift) and tokens
    # processed, counted on the host: reading them back from the device would cost two syncs a step.
    label_tokens = sum(record.trainable_tokens for record in shard)
    tokens = sum(len(record.input_ids) for record in shard)
    global_labels, global_tokens = _all_sum([label_tokens, tokens], device)
    with autocast(device):
        # num_items_in_batch=1: transformers sums the token losses instead of averaging them.
        summed = model(**batch, use_cache=False, num_items_in_batch=1).loss
    if not shard:
        summed = summed * 0.0
    [global_sum] = _all_sum([float(summed.detach().item())], device)
    mean = global_sum / global_labels if global_labels else math.nan
    if not math.isfinite(mean):
        # Every rank sees the same global figure, so they all stop here together.
        raise TrainerError(f"training diverged: loss is {mean} at step {step}")
    # DDP divides the summed gradients by the world size; multiplying by it here makes the update the
    # gradient of the global batch's mean token loss.
    (summed * (ranks.world / global_labels)).backward()
    return mean, int(global_tokens)


def _collate(examples: Sequence[Example], pad_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Right-pad a batch; padding is masked from attention and labelled -100."""
    import torch

    width = max(len(example.input_ids) for example in examples)
    input_ids, labels, attention = [], [], []
    for example in examples:
        pad = width - len(example.input_ids)
        input_ids.append(list(example.input_ids) + [pad_id] * pad)
        labels.append(list(example.labels) + [IGNORE_INDEX] * pad)
        attention.append([1] * len(example.input_ids) + [0] * pad)
    return {
        "input_ids": torch.tensor(input_ids, dtype=torch.long, device=device),
        "labels": torch.tensor(labels, dtype=torch.long, device=device),
        "attention_mask": torch.tensor(attention, dtype=torch.long, device=device),
    }


def _eval_loss(
    model: PeftModel,
    examples: Sequence[Example],
    pad_id: int,
    device: torch.device,
    ranks: Ranks = Ranks(),  # noqa: B008 - frozen, so one shared default is safe
) -> float:
    """Mean loss per trained token over `examples`, without dropout or gradients.

    Under data parallelism each rank evaluates every world-th record and the per-record losses are
    gathered, then summed in record order on every rank: all ranks get the single-process figure.
    """
    import torch

    was_training = model.training
    model.eval()
    mine: dict[int, float] = {}
    with torch.no_grad():
        for index, example in enumerate(examples):
            if index % ranks.world != ranks.rank:
                continue
            # One record at a time: transformers averages over a batch's tokens, and the weighting
            # below must be per token across records of different lengths.
            with autocast(device):
                loss = model(**_collate([example], pad_id, device), use_cache=False).loss
            mine[index] = float(loss.item())
    model.train(was_training)
    losses = mine
    if ranks.parallel:
        losses = {i: value for part in _gather(mine, ranks) for i, value in part.items()}
    total, count = 0.0, 0
    for index, example in enumerate(examples):
        total += losses[index] * example.trainable_tokens
        count += example.trainable_tokens
    loss = total / count
    if not math.isfinite(loss):
        # A broken base model or adapter must fail the run, not be registered with a NaN metric.
        raise TrainerError(f"evaluation loss is {loss}")
    return loss


def _generate_samples(
    model: PeftModel, tokenizer: Any, examples: Sequence[Example], pad_id: int, device: torch.device
) -> list[dict[str, Any]]:
    """Greedy completions of each example's prompt (everything before its first trained token)."""
    import torch

    was_training = model.training
    model.eval()
    samples = []
    with torch.no_grad():
        for example in examples:
            # Position of the first label: the prompt is the context up to the assistant's answer.
            cut = next((i for i, label in enumerate(example.labels) if label != IGNORE_INDEX), None)
            if not cut:
                continue
            prompt = torch.tensor([example.input_ids[:cut]], dtype=torch.long, device=device)
            with autocast(device):
                output = model.generate(
                    input_ids=prompt,
                    attention_mask=torch.ones_like(prompt),
                    max_new_tokens=SAMPLE_NEW_TOKENS,
                    do_sample=False,  # greedy: the same adapter gives the same samples
                    pad_token_id=pad_id,
                )
            answer = example.labels[cut:]
            samples.append(
                {
                    "prompt": tokenizer.decode(example.input_ids[:cut], skip_special_tokens=False),
                    "reference": tokenizer.decode(
                        [t for t in answer if t != IGNORE_INDEX], skip_special_tokens=True
                    ),
                    "generated": tokenizer.decode(output[0, prompt.shape[1] :], skip_special_tokens=True),
                }
            )
    model.train(was_training)
    return samples


def _write_outputs(
    model: PeftModel,
    config: TrainConfig,
    base_model: BaseModelRef,
    out_dir: Path,
    metrics: dict[str, Any],
    found_versions: dict[str, str],
    samples: list[dict[str, Any]],
) -> dict[str, str]:
    """Save the adapter and the run's record; return every file in `out_dir` with its SHA-256."""
    out_dir.mkdir(parents=True, exist_ok=True)
    # save_embedding_layers=False: the vocabulary is never resized here, and peft's "auto" check would
    # look the base model's name up on the Hub.
    model.save_pretrained(str(out_dir), safe_serialization=True, save_embedding_layers=False)
    stabilise_adapter_config(out_dir / ADAPTER_CONFIG)
    _write_json(out_dir / TRAIN_CONFIG, config.model_dump(mode="json"))
    _write_json(
        out_dir / METRICS,
        {
            "base_model": {"name": base_model.name, "gguf_file": base_model.gguf_file},
            "metrics": metrics,
            "versions": found_versions,
        },
    )
    if samples:
        _write_json(out_dir / SAMPLES, {"samples": samples})
    for required in (ADAPTER_WEIGHTS, ADAPTER_CONFIG):
        if not (out_dir / required).is_file():
            raise TrainerError(f"peft did not write {required} to {out_dir}")
    names = sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*") if p.is_file())
    return {name: sha256_file(out_dir / name) for name in names}


def stabilise_adapter_config(path: Path) -> None:
    """Sort the lists peft writes from Python sets, so the file's bytes do not depend on the process.

    peft keeps `target_modules` (and similar fields) as a set and writes it in iteration order, which
    for strings changes with PYTHONHASHSEED: the same run in two processes would give two adapter
    hashes. Sorted, the bytes follow from the settings alone; peft reads the list back as a set.
    """
    if not path.is_file():
        return
    document = json.loads(path.read_text(encoding="utf-8"))
    for key in ("target_modules", "modules_to_save", "exclude_modules", "trainable_token_indices"):
        value = document.get(key)
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            document[key] = sorted(value)
    # peft's own layout: indent 2, sorted keys.
    path.write_text(json.dumps(document, indent=2, sort_keys=True), encoding="utf-8")


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")
