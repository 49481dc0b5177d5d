"""FastAPI dependencies: the runtime, a session per request, the caller, and the scan workers."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from gateway.models import User
from gateway.runtime import Runtime
from gateway.scan_worker import ScanWorkers
from gateway.services.users import authenticate

bearer = HTTPBearer(auto_error=False, description="An ftgate token (ftgate users add prints one).")


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_scan_workers(request: Request) -> ScanWorkers:
    return request.app.state.scan_workers


ScanWorkersDep = Annotated[ScanWorkers, Depends(get_scan_workers)]


def get_session(rt: RuntimeDep) -> Iterator[Session]:
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


class TransactionalRoute(APIRoute):
    """A route whose request transaction ends on the thread that ran the endpoint, before the response.

    A generator dependency's ending (`get_session`'s commit) runs later, on another request thread: a
    request that held SQLite's write lock, a PostgreSQL row lock or a pooled connection then waited for
    a free thread while every thread ran a request waiting for that lock or connection, and nothing
    moved until a timeout (30 s, then 503). Committed where the endpoint ran, nothing is held between.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _ends_its_transaction(endpoint), **kwargs)


def get_current_user(
    rt: RuntimeDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> User:
    # In a transaction of its own: the request's session takes a connection only once the service needs
    # one, so an upload holds none while its file is scanned.
    with rt.session() as session:
        return authenticate(rt=rt, session=session, token=credentials.credentials if credentials else None)


CurrentUser = Annotated[User, Depends(get_current_user)]
