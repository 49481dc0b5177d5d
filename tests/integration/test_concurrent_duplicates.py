"""Two requests that create the same thing at once: both check that it is free, both insert, and the
later insert breaks a unique constraint. A first single sign-on of one person twice at once makes one
user and signs both in; any other such race answers 409 (not 500), keeping nothing of the loser.

The race is made deterministic: the other request runs, and commits, between this one's check and its
insert (inside `Session.add`, where the row is handed to the session)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ftgate_testing import Home
from sqlmodel import Session, col, select

from gateway.api.app import create_app
from gateway.models import User
from gateway.oidc import SsoIdentity
from gateway.runtime import Runtime
from gateway.services import users

FRANK = SsoIdentity(
    issuer="https://idp.example.test", subject="s-frank", name="frank", role="submitter", team="ml"
)


@pytest.fixture
def rt(home: Home) -> Runtime:
    return Runtime(home.settings())


Race = Callable[[str, Callable[[], None]], list[str]]


@pytest.fixture
def first_elsewhere(monkeypatch: pytest.MonkeyPatch) -> Iterator[Race]:
    """`race(name, other)`: when a `User` named `name` is handed to a session, `other()` runs first (once)."""
    real_add = Session.add

    def race(name: str, other: Callable[[], None]) -> list[str]:
        ran: list[str] = []

        def add(self: Session, instance: Any, *args: Any, **kwargs: Any) -> None:
            if isinstance(instance, User) and instance.name == name and not ran:
                ran.append(name)
                other()
            real_add(self, instance, *args, **kwargs)

        monkeypatch.setattr(Session, "add", add)
        return ran

    yield race


def user_rows(rt: Runtime, name: str) -> list[User]:
    with rt.session() as session:
        return list(session.exec(select(User).where(col(User.name) == name)))


def user_added_entries(home: Home, name: str) -> int:
    log = home.cli("audit", "log", "--limit", "1000", token=home.carol)["data"]
    return sum(1 for e in log if e["action"] == "user.added" and e["payload"].get("name") == name)


def test_two_first_sign_ins_of_one_person_at_once_make_one_user(
    home: Home, rt: Runtime, first_elsewhere: Race
) -> None:
    def other_request() -> None:
        with rt.session() as other:
            users.sso_user(other, FRANK)

    ran = first_elsewhere("frank", other_request)
    with rt.session() as session:
        signed_in = users.sso_user(session, FRANK)
        signed_in_id = signed_in.id
    assert ran == ["frank"]  # the other request did sign frank in first
    [row] = user_rows(rt, "frank")
    assert signed_in_id == row.id and row.issuer == FRANK.issuer and row.subject == FRANK.subject
    assert user_added_entries(home, "frank") == 1
    assert home.cli("audit", "verify", token=home.carol)["status"] == "verified"


def test_a_user_added_twice_at_once_answers_409_and_keeps_one(
    home: Home, rt: Runtime, first_elsewhere: Race
) -> None:
    client = TestClient(create_app(runtime=rt))
    admin = {"Authorization": f"Bearer {home.admin}"}
    body = {"name": "grace", "role": "submitter", "team": "default"}

    def other_admin() -> None:
        assert TestClient(create_app(runtime=Runtime(home.settings()))).post(
            "/v1/users", headers=admin, json=body
        ).status_code in (200, 201)

    ran = first_elsewhere("grace", other_admin)
    r = client.post("/v1/users", headers=admin, json=body)
    assert ran == ["grace"]
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "conflict" and "same moment" in r.json()["detail"]
    assert "grace" not in r.text  # nothing of the request echoed
    assert len(user_rows(rt, "grace")) == 1 and user_added_entries(home, "grace") == 1
    assert home.cli("audit", "verify", token=home.carol)["status"] == "verified"
