"""Content-addressed blob store: a file's name is the SHA-256 of its bytes."""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from ftgate_core.files import file_sha256, removed_on_failure
from gateway.errors import IntegrityError, NotFound

_CHUNK = 1 << 20
TEMP_PREFIX = ".tmp-"
# A temporary younger than this is never swept: its writer may not have locked it yet.
SWEEP_MIN_AGE_S = 60.0


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
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held until closed: `sweep` leaves it alone
        with removed_on_failure(tmp):
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)
        return sha256, True

    def writer(self) -> BlobWriter:
        """A blob written piece by piece: nothing is in the store until `commit()`."""
        self.root.mkdir(parents=True, exist_ok=True)
        return BlobWriter(self)

    def sweep(self, *, min_age_s: float = SWEEP_MIN_AGE_S) -> int:
        """Remove the temporaries of writers that died (a process killed mid-upload); returns how many.

        A live writer holds an exclusive `flock` on its temporary until it commits or discards it, in
        whatever process; a temporary no one holds, and older than `min_age_s`, has no writer left.
        Called when `ftgate serve` and `ftgate worker` start.
        """
        if not self.root.is_dir():
            return 0
        removed = 0
        now = time.time()
        for path in [*self.root.glob(TEMP_PREFIX + "*"), *self.root.glob(f"sha256/*/{TEMP_PREFIX}*")]:
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue  # committed or discarded meanwhile
            try:
                if now - os.fstat(fd).st_mtime < min_age_s:
                    continue
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live writer
            else:
                path.unlink(missing_ok=True)
                removed += 1
            finally:
                os.close(fd)
        return removed

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


class BlobWriter:
    """Writes a blob to a temp file in the store, hashing as it goes; `commit` names it by its hash.

    Used as a context manager, a writer left without `commit` (an error, an interrupt) is discarded.
    """

    def __init__(self, store: BlobStore) -> None:
        self._store = store
        self._digest = hashlib.sha256()
        self.size = 0
        self._committed = False
        fd, tmp = tempfile.mkstemp(dir=store.root, prefix=TEMP_PREFIX)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held until closed: `sweep` leaves it alone
        self._tmp = Path(tmp)
        self._file: IO[bytes] | None = os.fdopen(fd, "wb", buffering=_CHUNK)

    def write(self, data: bytes) -> None:
        if self._file is None:
            raise ValueError("blob writer is already committed or discarded")
        self._file.write(data)
        self._digest.update(data)
        self.size += len(data)

    @property
    def sha256(self) -> str:
        """The hash of everything written so far: the name `commit` will give it."""
        return self._digest.hexdigest()

    def commit(self) -> tuple[str, bool]:
        """Move the blob into place; return (sha256, created). Renamed whole: never half a blob."""
        if self._file is None:
            raise ValueError("blob writer is already committed or discarded")
        sha256 = self.sha256
        target = self._store.path(sha256)
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
            if target.exists():
                self.discard()
                return sha256, False
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(self._tmp, 0o444)
            os.replace(self._tmp, target)
            self._committed = True
        except BaseException:
            self.discard()
            raise
        return sha256, True

    def discard(self) -> None:
        """Throw away what was written; safe to call twice, or after `commit`."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if not self._committed:  # after the rename the temp name may be someone else's
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.discard()
