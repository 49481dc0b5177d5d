"""SHA-256 helpers shared by the model registry and the adapter writer."""

from __future__ import annotations

import hashlib
from pathlib import Path

# 1 MiB reads: large enough to keep hashing I/O-bound, small enough that a multi-gigabyte
# weight file never sits in memory.
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of one file's bytes, read in chunks (equals `sha256sum path`)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


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
