"""Rows written in batches, off the request path: the decisions that allowed metadata reads.

A server that commits one row per authorized GET makes every read queue behind the database's writer
(SQLite has one). `BatchedRows` holds such rows in memory and a background thread inserts them, in one
transaction per batch, every `interval` seconds; `close()` (the server's shutdown, or the interpreter's
exit) writes what is left. Only rows whose loss in a crash costs no evidence belong here: a decision
row of a read that changed nothing. Writes, and reads of content (downloads, exports, proofs), keep
their row in the request's own transaction.

It never drops a row: when the thread falls behind (`max_pending` rows waiting, a database that is
down), new rows are written with the request again, and a failed batch is put back to be tried again.
Without `buffered` (the CLI: one command, one transaction) every row is written with the request.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager

import structlog
from sqlmodel import Session, SQLModel

from gateway.db import add_at_commit

log = structlog.get_logger(__name__)

DEFAULT_INTERVAL = 1.0  # seconds between batches
DEFAULT_MAX_PENDING = 10_000  # rows held at most; beyond, rows are written with their request


class BatchedRows:
    """Insert rows in batches from a background thread (see the module doc)."""

    def __init__(
        self,
        session_scope: Callable[[], AbstractContextManager[Session]],
        *,
        buffered: bool,
        interval: float = DEFAULT_INTERVAL,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        self.buffered = buffered
        self._session_scope = session_scope
        self._interval = interval
        self._max_pending = max_pending
        self._pending: list[SQLModel] = []
        self._lock = threading.Lock()
        self._flushing = threading.Lock()  # one batch at a time, so rows keep their order
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, row: SQLModel, session: Session) -> None:
        """Queue `row`; or add it to the caller's `session` when not buffered or when the queue is full."""
        if not self.buffered:
            add_at_commit(session, row)
            return
        with self._lock:
            if len(self._pending) >= self._max_pending or self._stop.is_set():
                add_at_commit(session, row)
                return
            self._pending.append(row)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="batched-rows", daemon=True)
                self._thread.start()
                atexit.register(self.close)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def flush(self) -> int:
        """Write every queued row now, in one transaction; returns how many were written."""
        with self._flushing:
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return 0
            try:
                with self._session_scope() as session:
                    session.add_all(batch)
            except Exception as exc:
                log.warning("store.batch_not_written", rows=len(batch), error=type(exc).__name__)
                with self._lock:
                    # Tried again with the next batch; the queue stays bounded, so requests write their
                    # own rows meanwhile.
                    self._pending[:0] = batch
                return 0
            return len(batch)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()

    def close(self) -> None:
        """Stop the thread and write what is left (idempotent)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        self.flush()
