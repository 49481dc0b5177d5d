"""The de-quantised base cache: entries are verified before use, written privately, and bounded.

These use the tiny Llama (a real transformers model) as the cached model; the GGUF path end to end,
de-quantiser included, is tested on the real SmolLM2 GGUF in tests/integration/test_trainer_smollm2.py.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, PreTrainedModel

from trainer import basecache
from trainer.models import BaseModelRef

DIGESTS = [f"{n:064x}" for n in range(1, 5)]


@pytest.fixture(scope="module")
def model(tiny_model: BaseModelRef) -> PreTrainedModel:
    return AutoModelForCausalLM.from_pretrained(str(tiny_model.path), dtype=torch.float32)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_stored_entry_is_private_verified_and_loads_the_same_weights(
    model: PreTrainedModel, tmp_path: Path
) -> None:
    cache = tmp_path / "home" / "cache" / "base-models"
    name = basecache.entry_name(DIGESTS[0], "float32")
    entry = basecache.store(model, cache, name)

    assert basecache.read_entry(cache, name) is not None
    assert [mode(d) for d in (tmp_path / "home", cache.parent, cache, entry)] == [0o700] * 4
    assert all(mode(f) == 0o600 for f in entry.iterdir())
    manifest = json.loads((entry / basecache.MANIFEST).read_text())
    assert set(manifest["files"]) == {p.name for p in entry.iterdir()} - {basecache.MANIFEST}
    assert not [p for p in cache.iterdir() if p.name.startswith(".tmp-")]
    loaded = basecache.load(cache, name, dtype=torch.float32)
    assert loaded is not None
    expected, found = model.state_dict(), loaded.state_dict()
    assert found.keys() == expected.keys()
    assert all(torch.equal(found[key], expected[key]) for key in expected)
    assert loaded.config.to_dict() | {"_name_or_path": ""} == model.config.to_dict() | {"_name_or_path": ""}


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda e: _flip_last_byte(e / "model.safetensors"), id="weights altered"),
        pytest.param(lambda e: (e / "config.json").write_text("{}"), id="config altered"),
        pytest.param(lambda e: (e / "model.safetensors").unlink(), id="weights missing"),
        pytest.param(lambda e: (e / "extra.bin").write_bytes(b"x"), id="file added"),
        pytest.param(lambda e: (e / basecache.MANIFEST).write_text("not json"), id="manifest broken"),
        pytest.param(lambda e: (e / basecache.MANIFEST).unlink(), id="manifest missing"),
    ],
)
def test_an_altered_entry_is_never_used_and_is_removed(
    model: PreTrainedModel, tmp_path: Path, tamper: object
) -> None:
    name = basecache.entry_name(DIGESTS[0], "float32")
    entry = basecache.store(model, tmp_path, name)
    tamper(entry)  # type: ignore[operator]

    assert basecache.load(tmp_path, name, dtype=torch.float32) is None
    assert not entry.exists()  # so the next load rebuilds it from the GGUF


def test_a_manifest_copied_from_another_entry_does_not_vouch_for_this_one(
    model: PreTrainedModel, tmp_path: Path
) -> None:
    first = basecache.store(model, tmp_path, basecache.entry_name(DIGESTS[0], "float32"))
    second_name = basecache.entry_name(DIGESTS[1], "float32")
    first.rename(tmp_path / second_name)  # right files, but recorded under another base's digest

    assert basecache.read_entry(tmp_path, second_name) is None


def test_the_cache_keeps_the_most_recently_used_entries(model: PreTrainedModel, tmp_path: Path) -> None:
    names = [basecache.entry_name(digest, "float32") for digest in DIGESTS[:3]]
    basecache.store(model, tmp_path, names[0], keep=2)
    basecache.store(model, tmp_path, names[1], keep=2)
    assert basecache.read_entry(tmp_path, names[0]) is not None  # used: now the most recent
    basecache.store(model, tmp_path, names[2], keep=2)

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([names[0], names[2]])


@pytest.mark.parametrize("digest", ["", "../" + "a" * 61, "A" * 64, "a" * 63])
def test_entry_names_are_hex_digests_only(digest: str) -> None:
    with pytest.raises(ValueError):
        basecache.entry_name(digest, "float32")


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_tokenizer_entry_loads_the_same_tokenizer_and_never_evicts_weights(
    model: PreTrainedModel, tiny_model: BaseModelRef, tmp_path: Path
) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model.path), local_files_only=True)
    weights = basecache.store(model, tmp_path, basecache.entry_name(DIGESTS[0], "float32"), keep=1)
    names = [basecache.entry_name(digest, basecache.TOKENIZER) for digest in DIGESTS[:2]]
    entry = basecache.store_tokenizer(tokenizer, tmp_path, names[0], keep=1)
    assert mode(entry) == 0o700 and all(mode(p) == 0o600 for p in entry.iterdir())

    loaded = basecache.load_tokenizer(tmp_path, names[0])
    assert loaded is not None
    text = "Hello there, how are you today? 12345 ünïcödé"
    assert loaded(text)["input_ids"] == tokenizer(text)["input_ids"]
    assert loaded.chat_template == tokenizer.chat_template
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # the reading copy is gone

    basecache.store_tokenizer(tokenizer, tmp_path, names[1], keep=1)  # keep=1 per kind
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([weights.name, names[1]])


def test_an_altered_tokenizer_entry_is_removed_not_used(tiny_model: BaseModelRef, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model.path), local_files_only=True)
    name = basecache.entry_name(DIGESTS[0], basecache.TOKENIZER)
    entry = basecache.store_tokenizer(tokenizer, tmp_path, name)
    victim = max((p for p in entry.iterdir() if p.name != basecache.MANIFEST), key=lambda p: p.stat().st_size)
    _flip_last_byte(victim)
    assert basecache.load_tokenizer(tmp_path, name) is None
    assert not entry.exists()
