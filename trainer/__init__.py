"""Turning an approved job into adapter weights: a pure library (torch and peft, no gateway, no database).

    from trainer import TrainConfig, train, smollm2_gguf
    result = train(TrainConfig(max_steps=30), data_path, smollm2_gguf(), out_dir, on_event=print)

Importing this package does not import torch; that happens when a model is loaded or trained.
"""

from trainer.config import TrainConfig
from trainer.errors import BaseModelError, DataError, OutputDirError, TrainerError
from trainer.models import BaseModelRef, build_tiny_model, load_base_model, smollm2_gguf, weights_sha256
from trainer.train import TrainResult, train

__all__ = [
    "BaseModelError",
    "BaseModelRef",
    "DataError",
    "OutputDirError",
    "TrainConfig",
    "TrainResult",
    "TrainerError",
    "build_tiny_model",
    "load_base_model",
    "smollm2_gguf",
    "train",
    "weights_sha256",
]
