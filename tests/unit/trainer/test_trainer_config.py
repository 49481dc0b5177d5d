"""TrainConfig: bounds that name the field, and LoRA settings passed through to peft."""

from __future__ import annotations

from typing import Any

import pytest
from peft import LoraConfig, TaskType
from pydantic import ValidationError

from trainer.config import TrainConfig


def test_defaults() -> None:
    config = TrainConfig()
    assert (config.max_steps, config.epochs, config.learning_rate) == (30, 1.0, 2e-4)
    assert (config.lora_r, config.lora_alpha, config.lora_dropout) == (8, 16, 0.05)
    assert (config.target_modules, config.seed, config.max_seq_len, config.batch_size) == (None, 0, 512, 1)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("max_steps", 0, "greater than or equal to 1"),
        ("epochs", 0, "greater than 0"),
        ("epochs", -1.5, "greater than 0"),
        ("learning_rate", 0, "greater than 0"),
        ("learning_rate", 1.5, "less than or equal to 1"),
        ("lora_r", 0, "greater than or equal to 1"),
        ("lora_alpha", 0, "greater than or equal to 1"),
        ("lora_dropout", -0.1, "greater than or equal to 0"),
        ("lora_dropout", 1.0, "less than 1"),
        ("target_modules", [], "at least one module"),
        ("target_modules", ["q_proj", " "], "must not be blank"),
        ("target_modules", "q_proj", "valid list"),
        ("max_seq_len", 15, "greater than or equal to 16"),
        ("batch_size", 0, "greater than or equal to 1"),
        ("seed", "abc", "valid integer"),
    ],
)
def test_bad_value_names_the_field(field: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TrainConfig(**{field: value})
    errors = caught.value.errors()
    assert [error["loc"] for error in errors] == [(field,)]
    assert field in str(caught.value)
    assert message in str(caught.value)


def test_unknown_field_is_refused() -> None:
    with pytest.raises(ValidationError, match="lora_rank"):
        TrainConfig(lora_rank=4)  # type: ignore[call-arg]


def test_config_is_frozen() -> None:
    config = TrainConfig()
    with pytest.raises(ValidationError, match="frozen"):
        config.max_steps = 5  # type: ignore[misc]


def test_every_field_has_help_text() -> None:
    assert all(info.description for info in TrainConfig.model_fields.values())


def test_json_round_trip() -> None:
    config = TrainConfig(max_steps=3, target_modules=["q_proj"], seed=7)
    assert TrainConfig.model_validate_json(config.model_dump_json()) == config


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"lora_r": 4, "lora_alpha": 8, "lora_dropout": 0.0},
        {
            "lora_r": 16,
            "lora_alpha": 32,
            "lora_dropout": 0.1,
            "target_modules": ["q_proj", "k_proj", "v_proj"],
        },
    ],
)
def test_to_lora_config_passes_settings_through(settings: dict[str, Any]) -> None:
    config = TrainConfig(**settings)
    lora = config.to_lora_config()
    assert isinstance(lora, LoraConfig)
    assert lora.task_type == TaskType.CAUSAL_LM
    assert (lora.r, lora.lora_alpha, lora.lora_dropout) == (
        config.lora_r,
        config.lora_alpha,
        config.lora_dropout,
    )
    # peft keeps target modules as a set; None means "peft picks the default for the architecture".
    expected = None if config.target_modules is None else set(config.target_modules)
    assert lora.target_modules == expected
