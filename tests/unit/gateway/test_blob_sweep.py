"""The blob store's sweep removes only what a dead writer left (issue 12, item 7)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from gateway.store.blobs import TEMP_PREFIX, BlobStore


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_live_writers_temporary_is_left_and_a_dead_ones_is_removed(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    with store.writer() as live:
        live.write(b"redacted records so far")
        (live_tmp,) = store.root.glob(TEMP_PREFIX + "*")
        _age(live_tmp, 3600)
        dead = store.root / f"{TEMP_PREFIX}left-by-a-killed-upload"
        dead.write_bytes(b"half a file")
        _age(dead, 3600)
        assert store.sweep() == 1  # the one no process holds
        assert live_tmp.exists() and not dead.exists()
        sha256, created = live.commit()
    assert created and store.open_verified(sha256).read_bytes() == b"redacted records so far"


def test_a_young_temporary_is_left_for_its_writer(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    store.root.mkdir(parents=True)
    young = store.root / f"{TEMP_PREFIX}just-made"
    young.write_bytes(b"")
    assert store.sweep() == 0  # made a moment ago: its writer may not have locked it yet
    assert young.exists()
    assert store.sweep(min_age_s=0) == 1
    assert BlobStore(tmp_path / "nowhere").sweep() == 0
