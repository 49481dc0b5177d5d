"""FastAPI dependencies: the runtime, a session per request, the caller, and the scan workers."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator
from typing import Annotated

from anyio import CapacityLimiter, to_thread
from fastapi import Depends, Request
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


# Threads that only end a request's transaction (commit or roll back, then close), apart from the
# threads that run requests: see `get_session`.
FINISHING_THREADS = 8
_finishing: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter]
_finishing = weakref.WeakKeyDictionary()


def _finishing_threads() -> CapacityLimiter:
    loop = asyncio.get_running_loop()
    limiter = _finishing.get(loop)
    if limiter is None:
        limiter = _finishing[loop] = CapacityLimiter(FINISHING_THREADS)
    return limiter


async def get_session(rt: RuntimeDep) -> AsyncGenerator[Session, None]:
    """The request's session: one transaction, committed when the request succeeds, else rolled back.

    The transaction ends on threads of its own. Ended on the threads that run requests (as a plain
    generator dependency is), a request that held a connection, or SQLite's write lock or a
    PostgreSQL row lock, waited for a free thread to commit, while every thread ran a request waiting
    for that connection or lock: under load nothing moved until a timeout, 30 s later, answered 503.
    Making the session costs nothing (it connects on its first query), so that is done here.
    """
    scope = rt.session()
    session = scope.__enter__()
    finish = _finishing_threads()
    try:
        yield session
    except Exception as exc:
        await to_thread.run_sync(scope.__exit__, type(exc), exc, exc.__traceback__, limiter=finish)
        raise
    except BaseException as exc:  # cancelled, or closed unfinished: roll back here, without waiting
        scope.__exit__(type(exc), exc, exc.__traceback__)
        raise
    else:
        await to_thread.run_sync(scope.__exit__, None, None, None, limiter=finish)


SessionDep = Annotated[Session, Depends(get_session)]


def get_current_user(
    rt: RuntimeDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> User:
    # In a transaction of its own: the request's session takes a connection only once the service needs
    # one, so an upload holds none while its file is scanned.
    with rt.session() as session:
        return authenticate(rt=rt, session=session, token=credentials.credentials if credentials else None)


CurrentUser = Annotated[User, Depends(get_current_user)]
