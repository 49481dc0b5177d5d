"""A request's transaction ends on the thread that ran its endpoint, before the request's dependencies
end (`deps.TransactionalRoute`): nothing holds a lock or a connection while it waits for a thread.

No `from __future__ import annotations` here: FastAPI reads the test routes' annotations as objects."""

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException
from fastapi.testclient import TestClient
from ftgate_testing import Home
from sqlmodel import col, select

from gateway.api.deps import RuntimeDep, SessionDep, TransactionalRoute
from gateway.api.request_slots import RequestSlots
from gateway.models import Role, User
from gateway.runtime import Runtime

SEEN: dict[str, Any] = {}


def look_when_ending(rt: RuntimeDep, session: SessionDep) -> Iterator[None]:
    """Ends before `get_session` does: what another connection sees then, and whether a transaction
    is still open on the request's session."""
    try:
        yield
    finally:
        with rt.session() as other:
            SEEN["committed"] = other.exec(select(User).where(col(User.name) == "zoe")).first() is not None
        SEEN["open"] = session.in_transaction()


Looked = Annotated[None, Depends(look_when_ending)]
router = APIRouter(route_class=TransactionalRoute)


@router.post("/zoe")
def add_zoe(session: SessionDep, _: Looked) -> dict[str, str]:
    session.add(User(name="zoe", role=Role.submitter, team="default"))
    session.flush()  # SQLite's write lock, held until the transaction ends
    return {"added": "zoe"}


@router.post("/zoe-then-fail")
def add_zoe_then_fail(session: SessionDep, _: Looked) -> dict[str, str]:
    session.add(User(name="zoe", role=Role.submitter, team="default"))
    session.flush()
    raise HTTPException(409, "refused")


def client(home: Home) -> TestClient:
    app = FastAPI()
    app.state.runtime = Runtime(home.settings())
    app.state.request_slots = RequestSlots(lookups=4, work=1, waiting=10)
    app.include_router(router)
    return TestClient(app)


def test_a_request_commits_where_its_endpoint_ran_before_its_dependencies_end(home: Home) -> None:
    SEEN.clear()
    assert client(home).post("/zoe").status_code == 200
    assert SEEN == {"committed": True, "open": False}


def test_a_failed_request_rolls_back_where_its_endpoint_ran(home: Home) -> None:
    SEEN.clear()
    assert client(home).post("/zoe-then-fail").status_code == 409
    assert SEEN == {"committed": False, "open": False}
