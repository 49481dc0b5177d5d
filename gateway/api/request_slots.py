"""Request slots: how many API requests the server works on at once, lookups apart from the rest.

The interpreter runs one thread at a time. With anyio's forty request threads all busy, each request
had a fortieth of it: a list that takes 3 ms alone took hundreds under load, the event loop (which reads
every request and answers `/healthz`) waited its turn among forty, and each of a sync endpoint's steps
(its dependencies, the endpoint, the response's validation) queued again for a thread behind all the
others. Cheap reads waited behind uploads, reviews and exports that are slower and, on SQLite, take
turns at the database's single writer anyway.

So every API request takes a slot of its kind once its body has been read (a slow upload holds none
while its bytes arrive) and before anything else, on the event loop, where waiting costs nothing and
holds no thread, lock or connection (`deps.TransactionalRoute`):
- lookups (endpoints marked `@lookup`: lists, shows, events and `me`; they change nothing, hand out no
  content and are cheap): `FTGATE_LOOKUP_SLOTS` at once;
- everything else (changes, uploads, downloads, exports, proofs, verification): `FTGATE_WORK_SLOTS`,
  one by default: each competes with the lookups for the interpreter, and on SQLite changes take turns
  at the single writer anyway.
A lookup never waits behind work, and a flood of lookups cannot take the slots work needs: when the
server is saturated, the queue forms in front of the changes, and lists and status polls stay quick.
Each kind is served in order of arrival. At most `FTGATE_MAX_WAITING_REQUESTS` of a kind wait; the next one is
answered at once with 503 and Retry-After instead of joining an unbounded queue.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from enum import StrEnum
from typing import Any, TypeVar

import anyio

from gateway.errors import ServerBusy
from gateway.settings import Settings

RETRY_AFTER_S = 1
_MARK = "__ftgate_request_kind__"

F = TypeVar("F", bound=Callable[..., Any])


class Kind(StrEnum):
    LOOKUP = "lookup"
    WORK = "work"


def lookup(endpoint: F) -> F:
    """Mark an endpoint as a lookup: it changes nothing, hands out no content, and is cheap."""
    setattr(endpoint, _MARK, Kind.LOOKUP)
    return endpoint


def kind_of(endpoint: Callable[..., Any]) -> Kind:
    return getattr(endpoint, _MARK, Kind.WORK)


class RequestSlots:
    """The slots of each kind of request, and how many may wait for one."""

    def __init__(self, *, lookups: int, work: int, waiting: int) -> None:
        self.waiting = waiting
        self._slots = {Kind.LOOKUP: anyio.CapacityLimiter(lookups), Kind.WORK: anyio.CapacityLimiter(work)}

    @classmethod
    def from_settings(cls, settings: Settings) -> RequestSlots:
        return cls(
            lookups=settings.lookup_slots, work=settings.work_slots, waiting=settings.max_waiting_requests
        )

    @asynccontextmanager
    async def slot(self, kind: Kind) -> AsyncIterator[None]:
        """Hold a slot of `kind` for the block; `ServerBusy` when too many are waiting for one already."""
        slots = self._slots[kind]
        if slots.available_tokens < 1 and slots.statistics().tasks_waiting >= self.waiting:
            raise ServerBusy(
                f"the server has {self.waiting} requests of this kind waiting already; try again shortly",
                retry_after=RETRY_AFTER_S,
            )
        holder = object()  # one slot per request, whichever task runs it
        await slots.acquire_on_behalf_of(holder)
        try:
            yield
        finally:
            slots.release_on_behalf_of(holder)

    def statistics(self, kind: Kind) -> tuple[int, int]:
        """(requests holding a slot of `kind`, requests waiting for one)."""
        stats = self._slots[kind].statistics()
        return stats.borrowed_tokens, stats.tasks_waiting
