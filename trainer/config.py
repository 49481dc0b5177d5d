"""The training configuration: validated in one place, saved as JSON beside the adapter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    from peft import LoraConfig


class TrainConfig(BaseModel):
    """Settings for one LoRA fine-tuning run.

    LoRA settings are passed through to `peft.LoraConfig` unchanged (see `to_lora_config`); everything
    else drives the plain PyTorch loop in `trainer.train`.
    """

    # frozen: train_config.json must be exactly what ran, and a frozen model cannot be changed behind
    # the validators' back after it was checked.
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_steps: int = Field(
        default=30,
        ge=1,
        description="Upper bound on optimiser steps; training stops at max_steps or epochs, "
        "whichever comes first.",
    )
    epochs: float = Field(
        default=1.0,
        gt=0,
        description="Passes over the training records (may be fractional); training stops at max_steps "
        "or epochs, whichever comes first.",
    )
    learning_rate: float = Field(
        default=2e-4, gt=0, le=1, description="AdamW learning rate, constant for the whole run."
    )
    lora_r: int = Field(
        default=8, ge=1, description="LoRA rank: the inner dimension of the low-rank update (peft `r`)."
    )
    lora_alpha: int = Field(
        default=16,
        ge=1,
        description="LoRA scaling numerator; the update is scaled by lora_alpha / lora_r "
        "(peft `lora_alpha`).",
    )
    lora_dropout: float = Field(
        default=0.05,
        ge=0,
        lt=1,
        description="Dropout on the LoRA branch input during training (peft `lora_dropout`).",
    )
    target_modules: list[str] | None = Field(
        default=None,
        description="Module names to adapt, e.g. ['q_proj', 'v_proj']; null means peft's default for "
        "the architecture (peft `target_modules`).",
    )
    seed: int = Field(
        default=0,
        description="Seed for adapter initialisation, dropout and data order; the same seed, data and "
        "base model give the same adapter bytes on CPU.",
    )
    max_seq_len: int = Field(
        default=512, ge=16, description="Tokens kept per record; longer records are cut at the end."
    )
    batch_size: int = Field(default=1, ge=1, description="Records per optimiser step.")
    eval_fraction: float = Field(
        default=0.1,
        ge=0,
        le=0.5,
        description="Share of the records held out of training (seeded choice, at least 1, at most 8) to "
        "measure eval loss before and after and to prompt sample generations; 0 evaluates on training "
        "records instead. A file of one record is never split.",
    )
    qlora: bool = Field(
        default=False,
        description="QLoRA: load the base weights in 4-bit NF4 (bitsandbytes, CUDA only) and train LoRA on "
        "top in bf16; refused on CPU, without bitsandbytes, or for a GGUF base.",
    )
    sample_generations: int = Field(
        default=3,
        ge=0,
        le=8,
        description="Held-out prompts the tuned model completes (greedy, up to 48 new tokens), "
        "written to samples.json.",
    )

    @field_validator("target_modules")
    @classmethod
    def _target_modules_named(cls, value: list[str] | None) -> list[str] | None:
        # An empty list would make peft fail deep inside with a message about the model, not the field.
        if value is None:
            return None
        if not value:
            raise ValueError("must name at least one module, or be null for peft's default")
        if any(not name.strip() for name in value):
            raise ValueError("module names must not be blank")
        return value

    def to_lora_config(self) -> LoraConfig:
        """The peft `LoraConfig` for a causal language model with these settings."""
        # Imported here so that validating a config (the gateway does it at submit time) does not load torch.
        from peft import LoraConfig, TaskType

        return LoraConfig(
            task_type=TaskType.CAUSAL_LM,
            r=self.lora_r,
            lora_alpha=self.lora_alpha,
            lora_dropout=self.lora_dropout,
            target_modules=list(self.target_modules) if self.target_modules is not None else None,
        )
