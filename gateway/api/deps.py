"""FastAPI dependencies: the runtime, a session per request, the caller, and the scan workers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

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


def get_session(rt: RuntimeDep) -> Iterator[Session]:
    with rt.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_current_user(
    rt: RuntimeDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> User:
    # In a transaction of its own: the request's session takes a connection only once the service needs
    # one, so an upload holds none while its file is scanned.
    with rt.session() as session:
        return authenticate(rt=rt, session=session, token=credentials.credentials if credentials else None)


CurrentUser = Annotated[User, Depends(get_current_user)]
