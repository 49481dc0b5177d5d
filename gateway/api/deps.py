"""FastAPI dependencies: the runtime, a session per request, the caller, and the scan workers; and
the route class every API router uses (request slots, and the transaction ended in-thread)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from gateway.api.request_slots import Kind, RequestSlots, kind_of
from gateway.models import User
from gateway.runtime import Runtime
from gateway.scan_worker import ScanWorkers
from gateway.services.users import authenticate

bearer = HTTPBearer(auto_error=False, description="An ftgate token (ftgate users add prints one).")


# The dependencies that do no I/O are `async`: they run on the event loop, where a sync one would take
# a trip through the request threads.
async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_scan_workers(request: Request) -> ScanWorkers:
    return request.app.state.scan_workers


ScanWorkersDep = Annotated[ScanWorkers, Depends(get_scan_workers)]


async def get_session(rt: RuntimeDep) -> AsyncIterator[Session]:
    """The request's session. Opening one takes no connection (that waits for its first query), and by
    the time this ends `TransactionalRoute` has committed or rolled it back on the endpoint's thread, so
    neither end does I/O on the event loop."""
    with rt.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def _ends_its_transaction(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """`endpoint` (a sync one), committing its request's session on the thread it runs on, or rolling
    it back if it raises; `get_session`'s own ending then has nothing left to do."""
    if inspect.iscoroutinefunction(endpoint):
        return endpoint

    @functools.wraps(endpoint)  # FastAPI reads the signature and annotations through __wrapped__
    def run(*args: Any, **kwargs: Any) -> Any:
        sessions = [value for value in kwargs.values() if isinstance(value, Session)]
        try:
            result = endpoint(*args, **kwargs)
        except BaseException:
            for session in sessions:
                session.rollback()
            raise
        for session in sessions:
            session.commit()
        return result

    return run


def _takes_a_slot(kind: Kind) -> Callable[[Request], AsyncIterator[None]]:
    async def slot(request: Request) -> AsyncIterator[None]:
        slots: RequestSlots = request.app.state.request_slots
        async with slots.slot(kind):
            yield

    return slot


class TransactionalRoute(APIRoute):
    """A route whose request takes a slot of its kind (`request_slots`) once its body is read, and whose
    transaction ends on the thread that ran the endpoint, before the response.

    The slot is the route's first dependency, scoped to the function: FastAPI reads the body before it
    (a slow upload holds no slot while its bytes arrive), takes it before the caller is identified,
    and gives it back once the response is built, before it is sent.

    A generator dependency's ending (`get_session`'s commit) ran later, on another request thread: a
    request that held SQLite's write lock, a PostgreSQL row lock or a pooled connection then waited for
    a free thread while every thread ran a request waiting for that lock or connection, and nothing
    moved until a timeout (30 s, then 503). Committed where the endpoint ran, nothing is held between.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        slot = Depends(_takes_a_slot(kind_of(endpoint)), scope="function")
        kwargs["dependencies"] = [slot, *(kwargs.get("dependencies") or [])]
        super().__init__(path, _ends_its_transaction(endpoint), **kwargs)


def get_current_user(
    rt: RuntimeDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> User:
    # In a transaction of its own: the request's session takes a connection only once the service needs
    # one, so an upload holds none while its file is scanned.
    with rt.session() as session:
        return authenticate(rt=rt, session=session, token=credentials.credentials if credentials else None)


CurrentUser = Annotated[User, Depends(get_current_user)]
