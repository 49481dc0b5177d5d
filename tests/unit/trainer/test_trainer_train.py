"""train(): the files it writes and their digests, its events, determinism, cancellation."""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from peft import PeftModel
from safetensors.torch import load_file

from trainer.config import TrainConfig
from trainer.data import Example
from trainer.errors import DataError, OutputDirError
from trainer.evaluation import split_eval
from trainer.models import BaseModelRef, load_base_model
from trainer.train import TrainResult, batch_order, planned_steps, train

FAST: dict[str, Any] = {"max_steps": 4, "max_seq_len": 64}

# peft calls a transformers API that transformers 5 deprecates; nothing this project can change.
pytestmark = pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")


class Cancelled(Exception):
    """Raised by an on_event callback to stop a run, as the gateway worker does."""


@pytest.fixture(scope="module")
def run(tiny_model: BaseModelRef, tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainResult, list[dict]]:
    """One short training run on the tiny model, shared by the checks that only read its output."""
    root = tmp_path_factory.mktemp("run")
    data = root / "data.jsonl"
    data.write_text(
        "\n".join(
            json.dumps({"prompt": f"Count to {n}.", "completion": " ".join(str(i) for i in range(1, n + 1))})
            for n in range(1, 6)
        ),
        encoding="utf-8",
    )
    events: list[dict[str, Any]] = []
    result = train(TrainConfig(**FAST, epochs=2), data, tiny_model, root / "out", on_event=events.append)
    return result, events


def test_writes_the_adapter_and_its_record(run: tuple[TrainResult, list[dict]]) -> None:
    result, _ = run
    for name in ("adapter_model.safetensors", "adapter_config.json", "train_config.json", "metrics.json"):
        assert name in result.files
    written = sorted(
        p.relative_to(result.out_dir).as_posix() for p in result.out_dir.rglob("*") if p.is_file()
    )
    assert list(result.files) == written  # every file, sorted
    for name, digest in result.files.items():
        assert hashlib.sha256((result.out_dir / name).read_bytes()).hexdigest() == digest
    assert TrainConfig.model_validate_json((result.out_dir / "train_config.json").read_text()) == TrainConfig(
        **FAST, epochs=2
    )
    adapter_config = json.loads((result.out_dir / "adapter_config.json").read_text())
    assert adapter_config["base_model_name_or_path"] == "tiny-llama"  # the name, not a host path
    assert (adapter_config["r"], adapter_config["lora_alpha"]) == (8, 16)
    saved = json.loads((result.out_dir / "metrics.json").read_text())
    assert saved["metrics"] == result.metrics
    assert saved["versions"] == result.versions


def test_metrics_and_versions(run: tuple[TrainResult, list[dict]]) -> None:
    result, _ = run
    metrics = result.metrics
    assert metrics["steps"] == 4
    assert metrics["tokens"] > 0 and metrics["tokens_per_s"] > 0
    assert metrics["cpu_seconds"] > 0 and metrics["tokens_per_cpu_s"] > 0
    for key in ("loss_first", "loss_last", "eval_loss_before", "eval_loss_after"):
        assert math.isfinite(metrics[key]), key
    assert set(result.versions) == {"python", "torch", "transformers", "peft"}


def test_events_arrive_in_order(run: tuple[TrainResult, list[dict]]) -> None:
    result, events = run
    kinds = [event["event"] for event in events]
    assert kinds == ["start", "eval", "step", "step", "step", "step", "eval", "samples", "saved"]
    start = events[0]
    assert (start["steps"], start["records"], start["examples"], start["skipped"]) == (4, 5, 5, 0)
    # 10% of 5 records rounds to 0: still one record is held out, so the eval loss is out of sample.
    assert (start["train_examples"], start["eval_examples"], start["eval_held_out"]) == (4, 1, True)
    steps = [event for event in events if event["event"] == "step"]
    assert [event["step"] for event in steps] == [1, 2, 3, 4]
    for event in steps:
        assert event["steps"] == 4
        assert math.isfinite(event["loss"])
        assert event["tokens"] > 0 and event["tokens_per_s"] > 0 and event["eta_s"] >= 0
    assert steps[-1]["eta_s"] == 0
    assert [event["phase"] for event in events if event["event"] == "eval"] == ["before", "after"]
    assert events[-1]["files"] == result.files


def test_adapter_loads_back_into_peft(run: tuple[TrainResult, list[dict]], tiny_model: BaseModelRef) -> None:
    result, _ = run
    base, _ = load_base_model(tiny_model, device="cpu")
    model = PeftModel.from_pretrained(base, str(result.out_dir))
    saved = load_file(str(result.out_dir / "adapter_model.safetensors"))
    assert saved and all(".lora_A." in key or ".lora_B." in key for key in saved)
    # Training moved lora_B away from its zero initialisation.
    assert any(key.endswith("lora_B.weight") and tensor.abs().sum() > 0 for key, tensor in saved.items())
    loaded = {k: v for k, v in model.state_dict().items() if "lora_" in k}
    assert len(loaded) == len(saved)


def test_same_seed_same_adapter_bytes_other_seed_differs(
    tiny_model: BaseModelRef, chat_data: Path, tmp_path: Path
) -> None:
    def adapter_digest(seed: int, name: str) -> str:
        config = TrainConfig(**FAST, seed=seed, batch_size=2)
        return train(config, chat_data, tiny_model, tmp_path / name).files["adapter_model.safetensors"]

    first = adapter_digest(0, "a")
    assert adapter_digest(0, "b") == first
    assert adapter_digest(1, "c") != first


def test_training_leaves_the_callers_random_state_alone(
    tiny_model: BaseModelRef, chat_data: Path, tmp_path: Path
) -> None:
    random.seed(99)
    torch.manual_seed(99)
    expected = (random.random(), torch.rand(2))
    random.seed(99)
    torch.manual_seed(99)
    train(TrainConfig(max_steps=1, max_seq_len=64), chat_data, tiny_model, tmp_path / "out")
    assert random.random() == expected[0]
    assert torch.equal(torch.rand(2), expected[1])


def test_an_exception_from_on_event_cancels_and_writes_nothing(
    tiny_model: BaseModelRef, chat_data: Path, tmp_path: Path
) -> None:
    def cancel_at_step_two(event: dict[str, Any]) -> None:
        if event["event"] == "step" and event["step"] == 2:
            raise Cancelled

    out = tmp_path / "out"
    with pytest.raises(Cancelled):
        train(TrainConfig(**FAST), chat_data, tiny_model, out, on_event=cancel_at_step_two)
    assert not out.exists() or not any(out.iterdir())


def test_refuses_a_non_empty_output_dir(tiny_model: BaseModelRef, chat_data: Path, tmp_path: Path) -> None:
    (tmp_path / "stale.txt").write_text("left over")
    with pytest.raises(OutputDirError, match="not empty"):
        train(TrainConfig(**FAST), chat_data, tiny_model, tmp_path)


def test_bad_data_fails_before_training(tiny_model: BaseModelRef, tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text('{"messages": [{"role": "user", "content": "no answer"}]}\n', encoding="utf-8")
    events: list[dict[str, Any]] = []
    with pytest.raises(DataError):
        train(TrainConfig(**FAST), data, tiny_model, tmp_path / "out", on_event=events.append)
    assert events == []


@pytest.mark.parametrize(
    "settings, examples, expected",
    [
        ({"max_steps": 30}, 10, 10),  # one epoch of 10 records
        ({"max_steps": 5}, 10, 5),  # max_steps first
        ({"max_steps": 30, "epochs": 2.5}, 4, 10),
        ({"max_steps": 30, "batch_size": 3}, 10, 4),  # the last batch is short
        ({"max_steps": 30, "epochs": 0.1}, 30, 3),  # no extra step from float noise
        ({"max_steps": 30, "epochs": 0.01}, 10, 1),  # at least one step
    ],
)
def test_planned_steps(settings: dict[str, Any], examples: int, expected: int) -> None:
    assert planned_steps(TrainConfig(**settings), examples) == expected


def test_batch_order_is_a_seeded_shuffle_per_epoch() -> None:
    batches = batch_order(5, 2, steps=6, seed=3)
    assert batches == batch_order(5, 2, steps=6, seed=3)
    assert batches != batch_order(5, 2, steps=6, seed=4)
    assert [len(b) for b in batches] == [2, 2, 1, 2, 2, 1]
    assert sorted(sum(batches[:3], [])) == list(range(5))  # each epoch sees every record once
    assert sorted(sum(batches[3:], [])) == list(range(5))


@pytest.mark.parametrize(
    "fraction, examples, expected",
    [
        (0.1, 5, (4, 1, True)),  # at least one record held out
        (0.25, 8, (6, 2, True)),
        (0.5, 40, (32, 8, True)),  # at most EVAL_RECORDS
        (0.5, 2, (1, 1, True)),  # never everything
        (0.1, 1, (1, 1, False)),  # one record: nothing to hold out, in-sample eval
        (0.0, 12, (12, 8, False)),  # switched off: the first training records
    ],
)
def test_split_eval(fraction: float, examples: int, expected: tuple[int, int, bool]) -> None:
    items = [Example(input_ids=(i, i + 1), labels=(-100, i + 1)) for i in range(examples)]
    config = TrainConfig(eval_fraction=fraction)
    train_set, eval_set, held_out = split_eval(items, config)
    assert (len(train_set), len(eval_set), held_out) == expected
    if held_out:
        assert not set(train_set) & set(eval_set)  # disjoint
        assert set(train_set) | set(eval_set) == set(items)
    assert split_eval(items, config) == (train_set, eval_set, held_out)  # seeded: the same every time
    assert len(set(train_set)) == len(train_set)


def test_samples_are_generated_from_held_out_prompts(run: tuple[TrainResult, list[dict]]) -> None:
    result, events = run
    [event] = [e for e in events if e["event"] == "samples"]
    saved = json.loads((result.out_dir / "samples.json").read_text())["samples"]
    assert saved == event["samples"] and len(saved) == 1  # one held-out record in this run
    [sample] = saved
    assert "<|im_start|>user" in sample["prompt"] and sample["prompt"].endswith("<|im_start|>assistant\n")
    assert sample["reference"] and isinstance(sample["generated"], str)
    assert "samples.json" in result.files


def test_adapter_config_bytes_do_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    # peft writes target_modules from a set: in two processes with different PYTHONHASHSEED the order,
    # and so the adapter's hash, would differ. Written and stabilised in two such processes: same bytes.
    script = (
        "import sys, pathlib\n"
        "from peft import LoraConfig\n"
        "from trainer.output import ADAPTER_CONFIG, stabilise_adapter_config\n"
        "out = pathlib.Path(sys.argv[1])\n"
        "modules = ['q_proj', 'v_proj', 'k_proj', 'o_proj', 'up_proj']\n"
        "LoraConfig(target_modules=modules).save_pretrained(out)\n"
        "stabilise_adapter_config(out / ADAPTER_CONFIG)\n"
    )
    written = []
    for seed in ("1", "2", "3"):
        out = tmp_path / seed
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run(
            [sys.executable, "-c", script, str(out)], env=env, check=True, cwd=Path(__file__).parents[3]
        )
        written.append((out / "adapter_config.json").read_bytes())
    assert written[0] == written[1] == written[2]
    assert json.loads(written[0])["target_modules"] == ["k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]
