"""Data parallelism inside one run: the collectives `trainer.train` uses and the sharded step.

Started by a launcher with WORLD_SIZE > 1 (`trainer.accel.launch_command`), every process runs the
same `trainer.train.train`. `batch_size` is then the batch of each process, and one optimiser step
takes a global batch of `batch_size` x processes records, drawn by `batch_order` from the seed exactly
as a single process with that batch size would draw it; rank r trains on its r-th slice
(`shard_step`). Each rank's loss is its share of the global batch's mean token loss (its summed token
losses over the global batch's token count, times the number of processes, since DDP averages the
gradients over processes), so a step follows the gradient a single process computes for the whole
global batch: without dropout the adapter is that run's, up to float rounding. Dropout masks are drawn
per process (seeded by `rank_seed`), so with dropout the run is reproducible but not the
single-process one. Losses, token counts and the evaluation are combined over ranks, so events show
global figures; only rank 0 emits events and writes checkpoints and the adapter, while the others
wait for it (`barrier`, `broadcast`).

Joining and leaving the process group, and which device a rank uses, are `trainer.accel`'s.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from trainer.accel import Ranks, autocast
from trainer.data import Example, collate
from trainer.errors import TrainerError

if TYPE_CHECKING:
    import torch

    from trainer.config import TrainConfig


def parallel_fields(config: TrainConfig, ranks: Ranks) -> dict[str, Any]:
    """What a data-parallel run adds to its start event and metrics; nothing for a single process."""
    if not ranks.parallel:
        return {}
    return {"processes": ranks.world, "global_batch_size": config.batch_size * ranks.world}


def rank_seed(seed: int, rank: int) -> int:
    """The seed of one rank's dropout masks: distinct per rank and fixed by the run's seed."""
    # Hashed rather than seed + rank so that seed 1 rank 0 and seed 0 rank 1 do not share masks.
    digest = hashlib.sha256(f"dropout:{seed}:{rank}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def wrap(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """The model under DistributedDataParallel, which averages the ranks' gradients in backward."""
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def gather(value: Any, ranks: Ranks) -> list[Any]:
    """Every rank's `value`, by rank, on every rank."""
    import torch.distributed as dist

    found: list[Any] = [None] * ranks.world
    dist.all_gather_object(found, value)
    return found


def broadcast(value: Any, ranks: Ranks) -> Any:
    """Rank 0's `value` on every rank."""
    import torch.distributed as dist

    box = [value if ranks.main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(ranks: Ranks) -> None:
    """Wait for every rank; nothing to wait for in a single process."""
    if ranks.parallel:
        import torch.distributed as dist

        dist.barrier()


def all_sum(values: Sequence[float], device: torch.device) -> list[float]:
    """Element-wise sum over ranks (float64: token counts stay exact)."""
    import torch
    import torch.distributed as dist

    # NCCL reduces tensors on the rank's GPU, gloo on the CPU.
    tensor = torch.tensor(list(values), dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return [float(v) for v in tensor.tolist()]


def shard_step(
    model: torch.nn.Module,
    records: Sequence[Example],
    ranks: Ranks,
    per_rank: int,
    pad: int,
    device: torch.device,
    step: int,
) -> tuple[float, int]:
    """Forward and backward of this rank's slice of a global batch; return its mean loss and tokens.

    The returned figures are the global batch's, the same on every rank.
    """
    shard = records[ranks.rank * per_rank : (ranks.rank + 1) * per_rank]
    # The last batch of an epoch can leave a rank without records. It still runs a forward and
    # backward (on a record it then weighs zero), since DDP's gradient averaging needs every rank.
    batch = collate(shard or records[:1], pad, device)
    # Tokens the loss is taken over (the labels after transformers' one-position shift) and tokens
    # processed, counted on the host: reading them back from the device would cost two syncs a step.
    label_tokens = sum(record.trainable_tokens for record in shard)
    tokens = sum(len(record.input_ids) for record in shard)
    global_labels, global_tokens = all_sum([label_tokens, tokens], device)
    with autocast(device):
        # num_items_in_batch=1: transformers sums the token losses instead of averaging them.
        summed = model(**batch, use_cache=False, num_items_in_batch=1).loss
    if not shard:
        summed = summed * 0.0
    [global_sum] = all_sum([float(summed.detach().item())], device)
    mean = global_sum / global_labels if global_labels else math.nan
    if not math.isfinite(mean):
        # Every rank sees the same global figure, so they all stop here together.
        raise TrainerError(f"training diverged: loss is {mean} at step {step}")
    # DDP divides the summed gradients by the world size; multiplying by it here makes the update the
    # gradient of the global batch's mean token loss.
    (summed * (ranks.world / global_labels)).backward()
    return mean, int(global_tokens)
