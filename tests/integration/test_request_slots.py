"""Request slots (gateway/api/request_slots.py): lookups are never held up by other work, work waits its
turn for its own slots, and a full queue is refused at once with 503 and Retry-After.

The real app and its real routes; the work slot is taken from the test, on the server's event loop,
through the test client's portal, so that what waits and what does not is known, not timed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from ftgate_testing import Home

from gateway.api.app import create_app
from gateway.api.deps import TransactionalRoute
from gateway.api.request_slots import Kind, RequestSlots, kind_of
from gateway.api.routes import adapters, datasets, jobs, lineage, policy, users
from gateway.runtime import Runtime


@pytest.fixture
def served(home: Home) -> Iterator[tuple[TestClient, RequestSlots]]:
    rt = Runtime(home.settings(lookup_slots=2, work_slots=1, max_waiting_requests=1))
    app = create_app(runtime=rt)
    with TestClient(app) as client:
        yield client, app.state.request_slots


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def until(condition: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def in_thread(call: Any) -> tuple[threading.Thread, list[httpx.Response]]:
    answers: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: answers.append(call()), daemon=True)
    thread.start()
    return thread, answers


def test_lookups_are_answered_while_work_waits_for_its_slot(
    served: tuple[TestClient, RequestSlots], home: Home
) -> None:
    client, slots = served
    assert client.portal is not None
    with client.portal.wrap_async_context_manager(slots.slot(Kind.WORK)):  # the one work slot, taken
        waiting, answers = in_thread(
            lambda: client.post(
                "/v1/jobs", headers=auth(home.alice), json={"dataset_id": "ds_0000000000000000"}
            )
        )
        until(lambda: slots.statistics(Kind.WORK) == (1, 1))  # the submission waits for the slot
        for path in ("/v1/datasets", "/v1/jobs", "/v1/me", "/v1/datasets/ds_0000000000000000"):
            r = client.get(path, headers=auth(home.alice))
            assert r.status_code in (200, 404), r.text  # answered, not queued behind the work
        assert slots.statistics(Kind.LOOKUP) == (0, 0)
        assert not answers  # still waiting
    waiting.join(10)
    assert answers and answers[0].status_code == 404  # its turn came: the dataset does not exist
    assert slots.statistics(Kind.WORK) == (0, 0)


def test_a_full_queue_is_refused_at_once_with_503_and_retry_after(
    served: tuple[TestClient, RequestSlots], home: Home
) -> None:
    client, slots = served
    assert client.portal is not None
    note = {"note": "fine"}
    with client.portal.wrap_async_context_manager(slots.slot(Kind.WORK)):
        waiting, answers = in_thread(
            lambda: client.post("/v1/datasets/ds_0000000000000000/approve", headers=auth(home.bob), json=note)
        )
        until(lambda: slots.statistics(Kind.WORK) == (1, 1))  # one waits: the most this server queues
        r = client.post("/v1/datasets/ds_0000000000000001/approve", headers=auth(home.bob), json=note)
        assert r.status_code == 503
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["retry-after"] == "1"
        body = r.json()
        assert body["code"] == "server_busy" and body["status"] == 503
        assert "waiting" in body["detail"]
    waiting.join(10)
    assert answers and answers[0].status_code == 404
    # Nothing was kept of the refused request: the log has no entry for it.
    r = client.get("/v1/audit/entries", headers=auth(home.carol), params={"limit": 200})
    assert "ds_0000000000000001" not in r.text


def test_a_request_that_fails_gives_its_slot_back(
    served: tuple[TestClient, RequestSlots], home: Home
) -> None:
    client, slots = served
    for _ in range(3):  # with one work slot, a slot kept by a failure would hold up the next for good
        r = client.post("/v1/jobs", headers=auth(home.alice), json={"dataset_id": "ds_0000000000000000"})
        assert r.status_code == 404
        r = client.post("/v1/jobs", headers=auth("not-a-token"), json={})
        assert r.status_code == 401
    assert slots.statistics(Kind.WORK) == (0, 0)
    assert slots.statistics(Kind.LOOKUP) == (0, 0)


def test_only_reads_of_metadata_are_lookups() -> None:
    lookups, work = set(), set()
    for module in (adapters, datasets, jobs, lineage, policy, users):
        for route in module.router.routes:
            assert isinstance(route, TransactionalRoute)
            (lookups if kind_of(route.endpoint) is Kind.LOOKUP else work).add(
                (tuple(sorted(route.methods)), route.path)
            )
    assert lookups and work
    assert all(methods == ("GET",) for methods, _ in lookups)  # a lookup changes nothing
    paths = {path for _, path in lookups}
    assert {"/v1/datasets", "/v1/datasets/{dataset_id}", "/v1/jobs", "/v1/jobs/{job_id}", "/v1/me"} <= paths
    # Content and verification are work: they can be long, and a lookup must never wait for them.
    for path in (
        "/v1/datasets/{dataset_id}/download",
        "/v1/audit/verify",
        "/v1/adapters/{adapter_id}/lineage",
    ):
        assert path not in paths
    assert (("POST",), "/v1/datasets") in work
