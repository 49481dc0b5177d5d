"""A cache of de-quantised GGUF base weights, so that the second job on a base skips de-quantising.

Reading a GGUF base de-quantises every tensor (and parses the whole file's metadata) on each job. The
dense model that comes out is saved once, as safetensors with its config, in an entry named by the
GGUF file's SHA-256 and the dtype it was loaded in: `<cache_dir>/<gguf sha256>-<dtype>/`. Loading
the entry gives the same tensors, bit for bit, as de-quantising again (the tests check it).

An entry is never trusted as it lies: `manifest.json` records the SHA-256 of every file written;
each file is read once and hashed again before use, and the model is built from those very bytes.
An entry that is incomplete, altered or unreadable is removed and rebuilt from the GGUF. Entries are
written to a private temporary directory (0700, files 0600) and renamed into place, so a reader never
sees half an entry and two writers cannot mix theirs. The cache keeps the `keep` most recently used
entries (default 2: a SmolLM2-135M entry is ~540 MB in float32) and removes the others after each
write.

The base's tokenizer, which transformers also rebuilds from the GGUF's metadata on each job (seconds),
is kept the same way in an entry of its own, `<gguf sha256>-tokenizer`; eviction keeps `keep` entries
of each kind, so tokenizers never push weights out.

The trainer is told where the cache is (`cache_dir`); it never decides that itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainer.digests import sha256_file

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

MANIFEST = "manifest.json"
CONFIG = "config.json"
WEIGHTS = "model.safetensors"
FORMAT = 1
DEFAULT_KEEP = 2
TOKENIZER = "tokenizer"  # the kind of a tokenizer's entry: `<gguf sha256>-tokenizer`


def entry_name(gguf_sha256: str, dtype: str) -> str:
    """The directory name of one base's entry in one dtype (e.g. `...-float32`)."""
    if len(gguf_sha256) != 64 or any(c not in "0123456789abcdef" for c in gguf_sha256):
        raise ValueError(f"not a hex SHA-256: {gguf_sha256!r}")
    return f"{gguf_sha256}-{dtype}"


def read_entry(cache_dir: Path, name: str) -> dict[str, bytes] | None:
    """The entry's files, each read once and checked against its recorded SHA-256; else None.

    An entry that fails is removed. What is returned is the bytes that were hashed, so nothing can
    change between the check and their use (a model loaded from the files instead would be backed by
    a memory map of them, which a later write to the file would alter under the training run).
    """
    entry = cache_dir / name
    if not entry.is_dir():
        return None
    found: dict[str, bytes] = {}
    try:
        manifest = json.loads((entry / MANIFEST).read_bytes())
        files: dict[str, str] = manifest["files"]
        valid = (
            manifest.get("format") == FORMAT
            and manifest.get("name") == name
            and sorted(p.name for p in entry.iterdir() if p.name != MANIFEST) == sorted(files)
        )
        for file, digest in files.items() if valid else ():
            found[file] = (entry / file).read_bytes()
            valid = valid and hashlib.sha256(found[file]).hexdigest() == digest
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        valid = False
    if not valid:
        shutil.rmtree(entry, ignore_errors=True)
        return None
    os.utime(entry / MANIFEST)  # most recently used: the last to be evicted
    return found


def load(cache_dir: Path, name: str, *, dtype: torch.dtype) -> PreTrainedModel | None:
    """The cached model in `dtype`, from a verified entry; None when there is none (or it failed)."""
    files = read_entry(cache_dir, name)
    if files is None or CONFIG not in files or WEIGHTS not in files:
        return None
    from safetensors.torch import load as load_tensors
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING

    settings = json.loads(files[CONFIG])
    config = AutoConfig.for_model(settings.pop("model_type"), **settings)
    state = load_tensors(files.pop(WEIGHTS))  # tensors of their own, not views of the file
    model_class: Any = MODEL_FOR_CAUSAL_LM_MAPPING[type(config)]
    # No path: config and weights are the verified ones; transformers reads nothing from disk.
    return model_class.from_pretrained(None, config=config, state_dict=state, dtype=dtype)


def load_tokenizer(cache_dir: Path, name: str) -> PreTrainedTokenizerBase | None:
    """The cached tokenizer from a verified entry; None when there is none (or it failed).

    transformers reads a tokenizer from files only, so the verified bytes are written to a private
    temporary directory and read from there: what is loaded is what was hashed.
    """
    files = read_entry(cache_dir, name)
    if not files:
        return None
    from transformers import AutoTokenizer

    with tempfile.TemporaryDirectory(prefix=".read-", dir=cache_dir) as temporary:
        for file, data in files.items():
            descriptor = os.open(Path(temporary) / file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
        return AutoTokenizer.from_pretrained(temporary, local_files_only=True)


def store(model: PreTrainedModel, cache_dir: Path, name: str, *, keep: int = DEFAULT_KEEP) -> Path:
    """Save `model` as the entry `name` (atomically), then drop all but the `keep` most recent entries."""
    return _store(
        lambda path: model.save_pretrained(str(path), safe_serialization=True), cache_dir, name, keep
    )


def store_tokenizer(
    tokenizer: PreTrainedTokenizerBase, cache_dir: Path, name: str, *, keep: int = DEFAULT_KEEP
) -> Path:
    """Save `tokenizer` as the entry `name`, as `store` saves a model."""
    return _store(lambda path: tokenizer.save_pretrained(str(path)), cache_dir, name, keep)


def _store(save: Callable[[Path], Any], cache_dir: Path, name: str, keep: int) -> Path:
    for directory in reversed([cache_dir, *cache_dir.parents]):
        if not directory.exists():
            directory.mkdir(mode=0o700, exist_ok=True)  # private, the parents made here too
    temporary = Path(tempfile.mkdtemp(prefix=".tmp-", dir=cache_dir))  # 0700
    entry = cache_dir / name
    try:
        save(temporary)
        files: dict[str, str] = {}
        for path in sorted(temporary.iterdir()):
            path.chmod(0o600)
            files[path.name] = sha256_file(path)
        manifest: dict[str, Any] = {"format": FORMAT, "name": name, "files": files}
        descriptor = os.open(temporary / MANIFEST, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=2, sort_keys=True)
        try:
            os.rename(temporary, entry)
        except OSError:
            # Another process stored the same entry first: theirs is as good as this one.
            if read_entry(cache_dir, name) is None:
                raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    evict(cache_dir, keep=keep)
    return entry


def evict(cache_dir: Path, *, keep: int = DEFAULT_KEEP) -> None:
    """Remove all but the `keep` most recently used entries of each kind (weights in one dtype,
    tokenizers); a writer's temporary is left to it."""
    kinds: dict[str, list[tuple[float, Path]]] = {}
    for path in cache_dir.iterdir():
        manifest = path / MANIFEST
        if path.is_dir() and manifest.is_file():
            kind = path.name.partition("-")[2]  # after the digest: `float32`, `tokenizer`
            kinds.setdefault(kind, []).append((manifest.stat().st_mtime, path))
    for entries in kinds.values():
        entries.sort(reverse=True)
        for _, path in entries[keep:]:
            shutil.rmtree(path, ignore_errors=True)
