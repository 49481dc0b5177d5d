"""What a run leaves behind: the adapter, its settings, metrics and samples, each file with its SHA-256."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainer.digests import sha256_file
from trainer.errors import OutputDirError, TrainerError

if TYPE_CHECKING:
    from peft import PeftModel

    from trainer.config import TrainConfig
    from trainer.models import BaseModelRef

ADAPTER_WEIGHTS = "adapter_model.safetensors"
ADAPTER_CONFIG = "adapter_config.json"
TRAIN_CONFIG = "train_config.json"
METRICS = "metrics.json"
SAMPLES = "samples.json"


def check_out_dir(out_dir: Path) -> None:
    """Refuse an output directory that exists and is not empty: every file in it is the run's."""
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise OutputDirError(f"output directory {out_dir} is not empty")


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


def write_outputs(
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
