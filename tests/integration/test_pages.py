"""Every list comes in pages (issue 13, item 6): `limit` rows after the row `after` names, oldest first,
and the `next` to pass for the following page; the same through the CLI and the API."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from ftgate_testing import Home, upload

from gateway.api.app import create_app
from gateway.runtime import Runtime


def walk(get: Any, limit: int) -> list[list[str]]:
    """The ids of each page, following `next` until the last."""
    pages, after = [], None
    while True:
        page = get(limit, after)
        assert page["count"] == len(page["data"]) <= limit
        pages.append([row.get("id") or row["name"] for row in page["data"]])
        after = page["next"]
        if after is None:
            return pages


def test_users_and_datasets_page_through_the_api_and_the_cli(home: Home) -> None:
    client = TestClient(create_app(runtime=Runtime(home.settings())))
    admin = {"Authorization": f"Bearer {home.admin}"}
    everyone = client.get("/v1/users", headers=admin).json()
    assert everyone["next"] is None and everyone["count"] == 6  # admin and the five people

    def over_http(limit: int, after: str | None) -> Any:
        params = {"limit": limit, **({"after": after} if after else {})}
        r = client.get("/v1/users", headers=admin, params=params)
        assert r.status_code == 200, r.text
        return r.json()

    pages = walk(over_http, 4)
    assert [len(p) for p in pages] == [4, 2]
    assert sum(pages, []) == [u["id"] for u in everyone["data"]]  # each once, in order

    def over_cli(limit: int, after: str | None) -> Any:
        return home.cli(
            "users", "list", "--limit", str(limit), *(["--after", after] if after else []), token=home.admin
        )

    assert walk(over_cli, 5) == [[u["id"] for u in everyone["data"][:5]], [everyone["data"][5]["id"]]]

    first, second = upload(home), upload(home, name="chats two")
    page = home.cli("datasets", "list", "--limit", "1", token=home.alice)
    assert [d["id"] for d in page["data"]] == [first["id"]] and page["next"] == first["id"]
    page = home.cli("datasets", "list", "--limit", "1", "--after", page["next"], token=home.alice)
    assert [d["id"] for d in page["data"]] == [second["id"]] and page["next"] is None
    models = home.cli("models", "list", "--limit", "1", token=home.alice)  # in the order registered
    assert models["count"] == 1 and models["next"] == models["data"][0]["name"]
    rest = home.cli("models", "list", "--after", models["next"], token=home.alice)
    assert "tiny-llama" in [m["name"] for m in models["data"] + rest["data"]] and rest["next"] is None


@pytest.mark.parametrize(
    "params, field",
    [
        ({"limit": 0}, "query.limit"),
        ({"limit": 1001}, "query.limit"),
        ({"after": "no such row"}, "query.after"),
        ({"after": "usr_0000000000000000"}, "after"),  # well formed, names nothing
    ],
)
def test_a_bad_page_request_is_a_422_naming_the_parameter(
    home: Home, params: dict[str, Any], field: str
) -> None:
    client = TestClient(create_app(runtime=Runtime(home.settings())))
    r = client.get("/v1/users", headers={"Authorization": f"Bearer {home.admin}"}, params=params)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in r.json()["errors"]] == [field]
