"""Files only their owner may read: keys and the directories that hold them.

A key is created in one step with `O_CREAT | O_EXCL` and mode 0600, so there is no moment at which it
exists with wider permissions (a write followed by chmod leaves one) and an existing key is never
overwritten.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def create_private(path: Path, data: bytes) -> None:
    """Write a new file readable by its owner only; `FileExistsError` if the path exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def private_dir(path: Path) -> None:
    """Create the directory (and its parents) if missing, and make it the owner's alone."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    path.chmod(PRIVATE_DIR)


__all__ = ["PRIVATE_DIR", "PRIVATE_FILE", "create_private", "private_dir"]
