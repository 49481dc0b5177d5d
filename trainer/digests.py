"""SHA-256 helpers shared by the model registry and the adapter writer."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ftgate_core.files import CHUNK as _CHUNK
from ftgate_core.files import file_sha256 as sha256_file  # one file's hash: the one every package uses

__all__ = ["sha256_file", "sha256_files"]


def sha256_files(root: Path, names: list[str]) -> str:
    """Hex SHA-256 over several files under `root`, in the order given.

    Each file contributes its UTF-8 name, a NUL, its size as 8 big-endian bytes, then its bytes; the
    name and size keep the digest unambiguous (renaming a file or moving bytes between files changes it).
    """
    digest = hashlib.sha256()
    for name in names:
        path = root / name
        digest.update(name.encode("utf-8") + b"\0")
        digest.update(path.stat().st_size.to_bytes(8, "big"))
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()
