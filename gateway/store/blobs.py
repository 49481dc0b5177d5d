"""Content-addressed blob store: a file's name is the SHA-256 of its bytes."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from gateway.errors import IntegrityError, NotFound

_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / "sha256" / sha256[:2] / sha256

    def put(self, data: bytes) -> tuple[str, bool]:
        """Store bytes; return (sha256, created). Written to a temp file and renamed: never half a blob."""
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(sha256)
        if target.exists():
            return sha256, False
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha256, True

    def remove(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    def open_verified(self, sha256: str) -> Path:
        """The blob's path after re-hashing it: raises IntegrityError if its bytes changed."""
        path = self.path(sha256)
        if not path.exists():
            raise NotFound(f"blob {sha256} is missing from the store")
        actual = file_sha256(path)
        if actual != sha256:
            raise IntegrityError(
                f"stored data does not match its hash: expected {sha256}, computed {actual}",
                details={"expected": sha256, "computed": actual},
            )
        return path
