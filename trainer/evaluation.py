"""What a run measures besides its training loss: the held-out split, eval loss and sample completions."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from trainer.accel import Ranks, autocast
from trainer.data import IGNORE_INDEX, Example, collate
from trainer.distributed import gather
from trainer.errors import TrainerError

if TYPE_CHECKING:
    import torch
    from peft import PeftModel

    from trainer.config import TrainConfig

EVAL_RECORDS = 8  # records in the before/after loss check: enough to see a change, cheap on CPU
SAMPLE_NEW_TOKENS = 48


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


def eval_loss(
    model: PeftModel,
    examples: Sequence[Example],
    pad: int,
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
                loss = model(**collate([example], pad, device), use_cache=False).loss
            mine[index] = float(loss.item())
    model.train(was_training)
    losses = mine
    if ranks.parallel:
        losses = {i: value for part in gather(mine, ranks) for i, value in part.items()}
    total, count = 0.0, 0
    for index, example in enumerate(examples):
        total += losses[index] * example.trainable_tokens
        count += example.trainable_tokens
    loss = total / count
    if not math.isfinite(loss):
        # A broken base model or adapter must fail the run, not be registered with a NaN metric.
        raise TrainerError(f"evaluation loss is {loss}")
    return loss


def generate_samples(
    model: PeftModel, tokenizer: Any, examples: Sequence[Example], pad: int, device: torch.device
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
                    pad_token_id=pad,
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
