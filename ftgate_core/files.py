"""Files: hashing one, creating one only its owner may read, and not leaving a partial one behind."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
# 1 MiB reads: large enough to keep hashing I/O-bound, small enough that a multi-gigabyte weight file
# never sits in memory.
CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of one file's bytes, read in chunks (equals `sha256sum path`)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def create_private(path: Path, data: bytes) -> None:
    """Write a new file readable by its owner only (0600), whole; `FileExistsError` if the path exists.

    The bytes go to a temporary beside it (created 0600), are synced, and the temporary is then linked
    into place: there is no moment at which the file exists with wider permissions or with part of its
    bytes, an existing file is never overwritten, and a process that loses a race to create it (two
    workers making the same key) reads the winner's whole file.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.link(tmp, path)
    finally:
        os.unlink(tmp)


def private_dir(path: Path) -> None:
    """Create the directory (and its parents) if missing, and make it the owner's alone."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    path.chmod(PRIVATE_DIR)


@contextmanager
def removed_on_failure(path: Path | str | None) -> Iterator[None]:
    """Remove `path` (a file, or a directory and all in it) if the block raises anything, an interrupt
    included, and re-raise: what was half written never stays behind. None removes nothing."""
    try:
        yield
    except BaseException:
        if path is not None:
            remove(Path(path))
        raise


def remove(path: Path) -> None:
    """Remove a file or a directory tree, if it is there; never raises."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with suppress(OSError):
            path.unlink(missing_ok=True)


__all__ = [
    "CHUNK",
    "PRIVATE_DIR",
    "PRIVATE_FILE",
    "create_private",
    "file_sha256",
    "private_dir",
    "remove",
    "removed_on_failure",
]
