"""Checkpoints: a run stopped part-way and resumed writes the same adapter as one that never stopped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from trainer.checkpoint import CHECKPOINT_FILE, CheckpointError
from trainer.config import TrainConfig
from trainer.errors import TrainerError
from trainer.models import BaseModelRef
from trainer.train import train

pytestmark = pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")

CONFIG = TrainConfig(max_steps=6, max_seq_len=64, epochs=3)


class Killed(Exception):
    """Stands in for the process dying: raised from on_event, it stops the run where it is."""


def _stop_at(step: int, events: list[dict[str, Any]]) -> Any:
    def on_event(event: dict[str, Any]) -> None:
        events.append(event)
        if event["event"] == "step" and event["step"] == step:
            raise Killed

    return on_event


def _weights(out: Path) -> bytes:
    return (out / "adapter_model.safetensors").read_bytes()


def test_resumed_run_writes_the_same_adapter(
    tiny_model: BaseModelRef, chat_data: Path, tmp_path: Path
) -> None:
    plain = train(CONFIG, chat_data, tiny_model, tmp_path / "plain")
    straight = train(
        CONFIG,
        chat_data,
        tiny_model,
        tmp_path / "straight",
        checkpoint_dir=tmp_path / "ck1",
        checkpoint_every=2,
    )
    # Writing checkpoints must not disturb the run (no extra random draws, no changed state).
    assert _weights(plain.out_dir) == _weights(straight.out_dir)

    first: list[dict[str, Any]] = []
    with pytest.raises(Killed):
        train(
            CONFIG,
            chat_data,
            tiny_model,
            tmp_path / "never",
            _stop_at(5, first),
            checkpoint_dir=tmp_path / "ck2",
            checkpoint_every=2,
        )
    assert [e["step"] for e in first if e["event"] == "checkpoint"] == [2, 4]
    assert not (tmp_path / "never").exists()  # nothing of an unfinished run is written as an adapter

    second: list[dict[str, Any]] = []
    resumed = train(
        CONFIG,
        chat_data,
        tiny_model,
        tmp_path / "resumed",
        second.append,
        checkpoint_dir=tmp_path / "ck2",
        checkpoint_every=2,
    )
    assert second[0]["event"] == "start" and second[0]["resumed_from"] == 4
    assert [e["step"] for e in second if e["event"] == "step"] == [5, 6]
    assert _weights(resumed.out_dir) == _weights(plain.out_dir)
    assert resumed.metrics["steps"] == 6
    assert resumed.metrics["eval_loss_before"] == plain.metrics["eval_loss_before"]
    assert resumed.metrics["loss_last"] == pytest.approx(plain.metrics["loss_last"])


@pytest.mark.parametrize(
    "change",
    [{"seed": 1}, {"learning_rate": 1e-3}, {"lora_r": 4}],
)
def test_a_checkpoint_of_another_run_is_refused(
    tiny_model: BaseModelRef, chat_data: Path, tmp_path: Path, change: dict[str, Any]
) -> None:
    with pytest.raises(Killed):
        train(
            CONFIG,
            chat_data,
            tiny_model,
            tmp_path / "a",
            _stop_at(3, []),
            checkpoint_dir=tmp_path / "ck",
            checkpoint_every=2,
        )
    other = CONFIG.model_copy(update=change)
    with pytest.raises(CheckpointError, match="belongs to another run"):
        train(other, chat_data, tiny_model, tmp_path / "b", checkpoint_dir=tmp_path / "ck")
    assert not (tmp_path / "b").exists()


def test_a_damaged_checkpoint_fails_clearly(
    tiny_model: BaseModelRef, chat_data: Path, tmp_path: Path
) -> None:
    (tmp_path / "ck").mkdir()
    (tmp_path / "ck" / CHECKPOINT_FILE).write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot be read"):
        train(CONFIG, chat_data, tiny_model, tmp_path / "out", checkpoint_dir=tmp_path / "ck")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"checkpoint_every": -1}, "checkpoint_every must be"),
        ({"checkpoint_every": 2}, "needs a checkpoint_dir"),
    ],
)
def test_bad_checkpoint_settings(
    tiny_model: BaseModelRef, chat_data: Path, tmp_path: Path, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(TrainerError, match=message):
        train(CONFIG, chat_data, tiny_model, tmp_path / "out", **kwargs)
