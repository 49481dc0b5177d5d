"""Per-user limits on work that runs for a while in this process (scans of uploads)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from gateway.errors import TooBusy


class PerUserSlots:
    """At most `limit` pieces of one kind of work running at once for each user, in this process.

    One user's burst of uploads then cannot take every scan worker and database connection from the
    others: the next one is refused with `TooBusy` (HTTP 429 with `Retry-After`) instead of queueing.
    """

    def __init__(self, *, limit: int, what: str, retry_after: int) -> None:
        self.limit = limit
        self.what = what
        self.retry_after = retry_after
        self._running: Counter[str] = Counter()
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, user: str) -> Iterator[None]:
        """Run the block in one of `user`'s slots; `TooBusy` if they are all taken."""
        with self._lock:
            if self._running[user] >= self.limit:
                raise TooBusy(
                    f"{user} already has {self._running[user]} {self.what} running, the most the server "
                    "allows one user at once; try again when one has finished",
                    retry_after=self.retry_after,
                    details={"limit": self.limit},
                )
            self._running[user] += 1
        try:
            yield
        finally:
            with self._lock:
                self._running[user] -= 1
                if not self._running[user]:
                    del self._running[user]

    def running(self, user: str) -> int:
        with self._lock:
            return self._running[user]
