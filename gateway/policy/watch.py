"""Noticing that the policy directory changed, for both backends: a snapshot of the signatures (mtime,
size, inode) of the directory, every bundle folder (entries added or removed) and every bundle file,
taken before the bundle is read, so a change made while it is read is seen next time. Checking it costs
some 30 microseconds, so every evaluation does.

A file modified within `RACY_WINDOW_NS` of the snapshot may change again within the same timestamp
tick, keeping its size: such a snapshot goes stale once the window has passed, and the bundle is read
once more (git's "racy clean" problem, solved the same way).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from gateway.policy.bundle import walk_bundle

# Coarser than any filesystem's timestamp tick (FAT: 2 s).
RACY_WINDOW_NS = 2_000_000_000

Signature = tuple[int, int, int] | None


def signature(path: str) -> Signature:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


@dataclass(frozen=True)
class Snapshot:
    """What the policy directory looked like when a bundle was read from it."""

    watched: tuple[tuple[str, Signature], ...]
    racy_until_ns: int | None

    @classmethod
    def take(cls, root: Path) -> Snapshot:
        started_ns = time.time_ns()
        watched = [(str(root), signature(str(root)))]
        if root.is_dir():
            for folder, names in walk_bundle(root):
                if folder != root:
                    watched.append((str(folder), signature(str(folder))))
                watched.extend((str(folder / n), signature(str(folder / n))) for n in names)
        newest = max((s[0] for _, s in watched if s is not None), default=0)
        racy = newest > started_ns - RACY_WINDOW_NS
        return cls(tuple(watched), started_ns + RACY_WINDOW_NS if racy else None)

    def stale(self) -> bool:
        """Whether the directory may have changed since: read the bundle again."""
        if self.racy_until_ns is not None and time.time_ns() > self.racy_until_ns:
            return True
        return any(signature(path) != sig for path, sig in self.watched)
