"""A request's transaction ends on threads of its own (`deps.get_session`), not on the threads that run
requests: a request that holds SQLite's write lock (or a PostgreSQL row lock, or a pooled connection)
can always commit, even while every request thread runs a request that waits for that lock."""

from __future__ import annotations

import anyio
import pytest
from anyio import to_thread
from ftgate_testing import Home
from sqlmodel import col, select

from gateway.api.deps import get_session
from gateway.models import Role, User
from gateway.runtime import Runtime


async def hold_every_request_thread() -> tuple[anyio.CapacityLimiter, list[object]]:
    limiter = to_thread.current_default_thread_limiter()
    borrowers = [object() for _ in range(int(limiter.total_tokens))]
    for borrower in borrowers:
        await limiter.acquire_on_behalf_of(borrower)
    return limiter, borrowers


@pytest.mark.parametrize("outcome", ["commit", "rollback"])
def test_a_transaction_ends_while_every_request_thread_is_busy(home: Home, outcome: str) -> None:
    rt = Runtime(home.settings())

    async def request() -> None:
        dependency = get_session(rt)
        session = await anext(dependency)

        def write() -> None:  # the endpoint: its write takes the database's write lock
            session.add(User(name="zed", role=Role.submitter, team="default"))
            session.flush()

        await to_thread.run_sync(write)
        limiter, borrowers = await hold_every_request_thread()
        try:
            with anyio.fail_after(60):  # a guard against hanging for ever, not a timing
                if outcome == "commit":
                    with pytest.raises(StopAsyncIteration):
                        await anext(dependency)
                else:
                    with pytest.raises(RuntimeError, match="refused"):
                        await dependency.athrow(RuntimeError("refused"))
        finally:
            for borrower in borrowers:
                limiter.release_on_behalf_of(borrower)

    anyio.run(request)
    with rt.session() as session:  # the lock is free again, and the write kept or not
        kept = session.exec(select(User).where(col(User.name) == "zed")).all()
        session.add(User(name="ann", role=Role.submitter, team="default"))
    assert len(kept) == (1 if outcome == "commit" else 0)
