"""The input contract and the one error shape (issue 12, items 1 and 2), over HTTP and the CLI.

Hostile values (too long, control characters, integers past 64 bits, ids that cannot be ids) are refused
with 422 before anything is stored, in one RFC 9457 problem shape that names the field and the rule and
never echoes the value; FastAPI's own 404, 405 and 422 and an unexpected error take the same shape; the
OpenAPI document lists every status an operation answered here. The CLI refuses the same values with the
same messages, never prints a traceback, and writes `-o` files whole or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ftgate_testing import EXAMPLE, Home, upload
from sqlalchemy import func
from sqlmodel import select

from audit.models import AuditEntry
from gateway.api.app import create_app
from gateway.contract import INT64_MAX
from gateway.models import Approval, BaseModelEntry, Dataset, User
from gateway.runtime import Runtime
from gateway.services.users import init_home
from gateway.settings import REPO_ROOT, Settings

PROBLEM = "application/problem+json"
MARK = "Zq7-hostile"  # in every refused value: the answer must not echo it


class Api:
    def __init__(self, client: TestClient, rt: Runtime, tokens: dict[str, str]) -> None:
        self.client, self.rt, self.tokens = client, rt, tokens
        self.openapi = client.get("/openapi.json").json()

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def counts(self) -> dict[str, int]:
        with self.rt.session() as session:
            return {
                model.__name__: session.exec(select(func.count()).select_from(model)).one()
                for model in (User, BaseModelEntry, Dataset, Approval, AuditEntry)
            }

    def documented(self, method: str, template: str, status: int) -> bool:
        operation = self.openapi["paths"][template][method.lower()]
        return str(status) in operation["responses"]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    home = tmp_path_factory.mktemp("contract") / "home"
    rt = Runtime(Settings(home=home, policy_dir=REPO_ROOT / "policies"))
    tokens = {"admin": init_home(rt=rt)["token"]}
    client = TestClient(create_app(runtime=rt), raise_server_exceptions=False)
    for name, role in (("alice", "submitter"), ("bob", "approver")):
        r = client.post(
            "/v1/users",
            headers={"Authorization": f"Bearer {tokens['admin']}"},
            json={"name": name, "role": role},
        )
        assert r.status_code == 201, r.text
        tokens[name] = r.json()["token"]
    yield Api(client, rt, tokens)
    rt.engine.dispose()


def assert_problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    problem = r.json()
    assert problem["type"] == f"urn:ftgate:problem:{code}" and problem["code"] == code
    assert problem["status"] == status and problem["title"] and problem["detail"]
    assert "Traceback" not in r.text
    return problem


LINE = "\n"
# (who, method, path template, path values, JSON body or form, the field the error must name)
HOSTILE: dict[str, tuple[str, str, str, dict[str, str], dict[str, Any], str]] = {
    "user name of 100 characters": (
        "admin",
        "POST",
        "/v1/users",
        {},
        {"name": MARK + "u" * 90, "role": "submitter"},
        "body.name",
    ),
    "user name with a line break": (
        "admin",
        "POST",
        "/v1/users",
        {},
        {"name": f"a{LINE}{MARK}", "role": "submitter"},
        "body.name",
    ),
    "user name with a space": (
        "admin",
        "POST",
        "/v1/users",
        {},
        {"name": f"Ann {MARK}", "role": "submitter"},
        "body.name",
    ),
    "team of 1,000 characters": (
        "admin",
        "POST",
        "/v1/users",
        {},
        {"name": "t1", "role": "submitter", "team": MARK * 100},
        "body.team",
    ),
    "unknown role of 500 characters": (
        "admin",
        "POST",
        "/v1/users",
        {},
        {"name": "r1", "role": MARK * 50},
        "body.role",
    ),
    "model name of 500 characters": (
        "admin",
        "POST",
        "/v1/models",
        {},
        {"name": MARK * 50, "path": "/tmp"},
        "body.name",
    ),
    "model path of 10,000 characters": (
        "admin",
        "POST",
        "/v1/models",
        {},
        {"name": "m1", "path": "/" + MARK * 1000},
        "body.path",
    ),
    "model path with a NUL": (
        "admin",
        "POST",
        "/v1/models",
        {},
        {"name": "m2", "path": f"/tmp/{MARK}\x00x"},
        "body.path",
    ),
    "job cursor past 64 bits": (
        "alice",
        "GET",
        "/v1/jobs/{job_id}/events?after=" + str(INT64_MAX + 1),
        {"job_id": "job_0123456789abcdef"},
        {},
        "query.after",
    ),
    "negative job cursor": (
        "alice",
        "GET",
        "/v1/jobs/{job_id}/events?after=-1",
        {"job_id": "job_0123456789abcdef"},
        {},
        "query.after",
    ),
    "dataset id of 5,000 characters": (
        "alice",
        "GET",
        "/v1/datasets/{dataset_id}",
        {"dataset_id": MARK * 500},
        {},
        "path.dataset_id",
    ),
    "job id with characters no id has": (
        "alice",
        "GET",
        "/v1/jobs/{job_id}",
        {"job_id": f"job_{MARK}"},
        {},
        "path.job_id",
    ),
    "note of 4,001 characters": (
        "bob",
        "POST",
        "/v1/datasets/{dataset_id}/approve",
        {"dataset_id": "ds_0123456789abcdef"},
        {"note": MARK + "n" * 3991},
        "body.note",
    ),
    "note with an escape character": (
        "bob",
        "POST",
        "/v1/datasets/{dataset_id}/approve",
        {"dataset_id": "ds_0123456789abcdef"},
        {"note": f"ok \x1b[31m{MARK}"},
        "body.note",
    ),
    "note with a bidi override": (
        "bob",
        "POST",
        "/v1/datasets/{dataset_id}/reject",
        {"dataset_id": "ds_0123456789abcdef"},
        {"note": f"fine \u202e{MARK}"},
        "body.note",
    ),
    "blank note": (
        "bob",
        "POST",
        "/v1/datasets/{dataset_id}/reject",
        {"dataset_id": "ds_0123456789abcdef"},
        {"note": "   "},
        "body.note",
    ),
    "base model with spaces": (
        "alice",
        "POST",
        "/v1/jobs",
        {},
        {"dataset_id": "ds_0123456789abcdef", "base_model": f"a {MARK}"},
        "body.base_model",
    ),
    "time of 1,000 characters": ("admin", "GET", "/v1/audit/state?at=" + MARK * 100, {}, {}, "query.at"),
    "export format with a slash": (
        "admin",
        "GET",
        "/v1/adapters/{adapter_id}/lineage?format=../" + MARK,
        {"adapter_id": "ad_0123456789abcdef"},
        {},
        "query.format",
    ),
}
UPLOADS: dict[str, tuple[dict[str, str], str]] = {
    "dataset name of 201 characters": ({"name": MARK + "d" * 190}, "body.name"),
    "dataset name with a NUL": ({"name": f"chats\x00{MARK}"}, "body.name"),
    "dataset name on two lines": ({"name": f"chats{LINE}{MARK}"}, "body.name"),
    "purpose of 101 characters": ({"purpose": MARK + "p" * 90}, "body.purpose"),
    "licence with a tab": ({"licence": f"MIT\t{MARK}"}, "body.licence"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_values_are_refused_with_422_naming_the_field_and_nothing_is_stored(
    api: Api, case: str
) -> None:
    who, method, template, values, body, field = HOSTILE[case]
    before = api.counts()
    path = template.format(**values)
    r = api.client.request(method, path, headers=api.headers(who), json=body or None)
    problem = assert_problem(r, 422, "invalid_input")
    assert field in [e["field"] for e in problem["errors"]], problem
    assert MARK not in r.text, "the refused value is echoed"
    assert api.counts() == before
    assert api.documented(method, template.split("?")[0], 422)


@pytest.mark.parametrize("case", list(UPLOADS))
def test_hostile_upload_fields_are_refused_before_the_file_is_read(api: Api, case: str) -> None:
    fields, field = UPLOADS[case]
    before = api.counts()
    form = {"name": "chats", "purpose": "style", "classification": "internal", **fields}
    files = {"file": ("d.jsonl", EXAMPLE.read_bytes())}
    r = api.client.post("/v1/datasets", headers=api.headers("alice"), files=files, data=form)
    problem = assert_problem(r, 422, "invalid_input")
    assert [e["field"] for e in problem["errors"]] == [field]
    assert MARK not in r.text
    assert api.counts() == before
    assert not [p for p in api.rt.settings.blob_dir.rglob("*") if p.is_file()]
    assert not [p for p in api.rt.settings.incoming_dir.rglob("*") if p.is_file()]


def test_lists_still_answer_after_the_refusals(api: Api) -> None:
    for path in ("/v1/users", "/v1/datasets", "/v1/jobs", "/v1/models"):
        who = "admin" if path in ("/v1/users", "/v1/models") else "alice"
        r = api.client.get(path, headers=api.headers(who))
        assert r.status_code == 200, r.text


def test_framework_errors_take_the_problem_shape(api: Api) -> None:
    r = api.client.get("/v1/no-such-thing", headers=api.headers("alice"))
    assert_problem(r, 404, "not_found")
    r = api.client.delete("/v1/users", headers=api.headers("admin"))
    assert_problem(r, 405, "method_not_allowed")
    assert r.headers["allow"]
    r = api.client.post(
        "/v1/users",
        headers={**api.headers("admin"), "content-type": "application/json"},
        content=b'{"name": "Zq7-hostile',
    )
    problem = assert_problem(r, 422, "invalid_input")
    assert problem["errors"] and MARK not in r.text
    r = api.client.get("/v1/users")
    assert_problem(r, 401, "unauthenticated")
    assert r.headers["www-authenticate"] == "Bearer"
    assert "--token" not in r.text  # API messages name no CLI flags
    r = api.client.get("/v1/users", headers=api.headers("alice"))
    problem = assert_problem(r, 403, "forbidden")
    assert problem["details"]["reasons"]
    r = api.client.get("/v1/jobs/job_0123456789abcdef", headers=api.headers("alice"))
    assert_problem(r, 404, "not_found")


def test_an_unexpected_error_is_a_500_problem_without_its_message(api: Api, tmp_path: Path) -> None:
    app = create_app(runtime=api.rt)

    def broken() -> None:
        raise RuntimeError(f"a message holding what the request carried: {MARK}")

    app.add_api_route("/v1/broken", broken)
    r = TestClient(app, raise_server_exceptions=False).get("/v1/broken")
    problem = assert_problem(r, 500, "internal_error")
    assert MARK not in r.text and "RuntimeError" not in problem["detail"]


def test_openapi_documents_the_problem_shape_for_every_operation(api: Api) -> None:
    schemas = api.openapi["components"]["schemas"]
    assert {"type", "title", "status", "detail", "code"} <= set(schemas["Problem"]["required"])
    assert "HTTPValidationError" not in schemas  # FastAPI's own 422 body is never answered
    for template, operations in api.openapi["paths"].items():
        for method, operation in operations.items():
            statuses = {"422", "500"} | ({"401", "403", "503"} if template.startswith("/v1/") else set())
            if "{" in template:
                statuses.add("404")
            assert statuses <= set(operation["responses"]), (method, template)
            for status in statuses:
                content = operation["responses"][status]["content"]
                assert list(content) == [PROBLEM], (method, template, status)


# -- the CLI ----------------------------------------------------------------------------------------


def test_cli_refuses_the_same_values_with_the_same_rule(home: Home) -> None:
    refused = home.cli("users", "add", MARK + "u" * 90, "--role", "submitter", token=home.admin, ok=False)
    assert refused["error"]["code"] == "invalid_input"
    assert [e["field"] for e in refused["error"]["details"]["errors"]] == ["name"]
    assert MARK not in json.dumps(refused) and MARK not in home.cli.last_stderr
    refused = home.cli("models", "add", "m1", "/" + MARK * 1000, token=home.admin, ok=False)
    assert [e["field"] for e in refused["error"]["details"]["errors"]] == ["path"]
    assert MARK not in json.dumps(refused)
    assert "Traceback" not in home.cli.last_stderr
    listed = home.cli("users", "list", token=home.admin)
    assert all(len(u["name"]) <= 64 for u in listed["data"])


@pytest.mark.parametrize("target", ["dir", "missing", "empty", "device"])
def test_cli_output_files_are_whole_or_absent(home: Home, tmp_path: Path, target: str) -> None:
    ds = upload(home)
    out = tmp_path / "out"
    out.mkdir()
    path = {"dir": str(out), "missing": str(out / "missing" / "x.jsonl"), "empty": "", "device": "/dev/full"}[
        target
    ]
    refused = home.cli("datasets", "download", ds["id"], "-o", path, token=home.bob, ok=False)
    assert refused["error"]["code"] == "invalid_input", refused
    assert "Traceback" not in home.cli.last_stderr
    assert list(out.iterdir()) == []  # no stray temporary
    written = home.cli("datasets", "download", ds["id"], "-o", str(out / "d.jsonl"), token=home.bob)
    assert (out / "d.jsonl").stat().st_size == written["bytes"]
    assert sorted(p.name for p in out.iterdir()) == ["d.jsonl"]


def limited_app(tmp_path: Path, **limits: int) -> tuple[Runtime, TestClient, dict[str, str]]:
    """A fresh home served with the given limits; its admin's headers."""
    rt = Runtime(Settings(home=tmp_path / "home", policy_dir=REPO_ROOT / "policies", **limits))
    admin = {"Authorization": f"Bearer {init_home(rt=rt)['token']}"}
    return rt, TestClient(create_app(runtime=rt), raise_server_exceptions=False), admin


def test_bodies_over_their_limit_are_refused_with_413_while_they_stream(tmp_path: Path) -> None:
    rt, client, admin = limited_app(tmp_path, max_upload_bytes=50_000, max_request_bytes=2_000)
    settings = rt.settings
    r = client.post("/v1/users", headers=admin, json={"name": "alice", "role": "submitter"})
    alice = {"Authorization": f"Bearer {r.json()['token']}"}
    with rt.session() as session:
        entries = session.exec(select(func.count()).select_from(AuditEntry)).one()

    # Content-Length says it: refused before a byte is read.
    r = client.post(
        "/v1/users", headers=admin, json={"name": "bob", "role": "submitter", "team": "t" * 5_000}
    )
    assert "FTGATE_MAX_REQUEST_BYTES" in assert_problem(r, 413, "too_large")["detail"]

    # No length (chunked): counted as it arrives.
    def chunks(head: bytes, piece: bytes, count: int) -> Iterator[bytes]:
        yield head
        for _ in range(count):
            yield piece

    r = client.post(
        "/v1/users",
        headers={**admin, "content-type": "application/json"},
        content=chunks(b"", b" " * 1000, 100),
    )
    assert_problem(r, 413, "too_large")
    record = b'{"prompt": "a", "completion": "b"}\n'
    form = {"name": "big", "purpose": "style", "classification": "internal"}
    r = client.post("/v1/datasets", headers=alice, files={"file": ("d.jsonl", record * 3_000)}, data=form)
    assert "FTGATE_MAX_UPLOAD_BYTES" in assert_problem(r, 413, "too_large")["detail"]
    head = b'--B\r\nContent-Disposition: form-data; name="file"; filename="d.jsonl"\r\n\r\n'
    r = client.post(
        "/v1/datasets",
        headers={**alice, "content-type": "multipart/form-data; boundary=B"},
        content=chunks(head, record * 30, 200),
    )
    assert_problem(r, 413, "too_large")

    # Nothing of them was kept, and a body under the limit still goes through.
    assert not [p for p in settings.blob_dir.rglob("*") if p.is_file()]
    assert not [p for p in settings.incoming_dir.rglob("*") if p.is_file()]
    with rt.session() as session:
        assert session.exec(select(func.count()).select_from(AuditEntry)).one() == entries
        assert session.exec(select(func.count()).select_from(Dataset)).one() == 0
    r = client.post(
        "/v1/datasets", headers=alice, files={"file": ("d.jsonl", EXAMPLE.read_bytes())}, data=form
    )
    assert r.status_code == 202, r.text
    rt.engine.dispose()


def test_a_token_over_its_rate_gets_429_with_retry_after(tmp_path: Path) -> None:
    rt, client, admin = limited_app(tmp_path, rate_limit_per_minute=60, rate_limit_burst=5)
    with rt.session() as session:
        entries = session.exec(select(func.count()).select_from(AuditEntry)).one()
    answers = [client.get("/v1/users", headers=admin) for _ in range(8)]
    assert [r.status_code for r in answers] == [200] * 5 + [429] * 3
    problem = assert_problem(answers[-1], 429, "rate_limited")
    assert (
        1 <= int(answers[-1].headers["retry-after"]) <= 2 and problem["details"]["retry_after_seconds"] >= 1
    )
    # Another token has its own bucket; /healthz is never limited; a refused request wrote nothing.
    r = client.get("/v1/users", headers={"Authorization": "Bearer ftg_someone_else"})
    assert r.status_code == 401
    assert all(client.get("/healthz").status_code == 200 for _ in range(10))
    with rt.session() as session:
        assert session.exec(select(func.count()).select_from(AuditEntry)).one() == entries
    assert api_documents_429(client)
    # The console: each session its own bucket (not its address's), and the packaged files unlimited.
    assert all(client.get("/ui/static/console.css").status_code == 200 for _ in range(10))
    one, two = ({"Cookie": f"ftgate_session={n}.x"} for n in ("one", "two"))
    answers = [client.get("/ui/login", headers=one).status_code for _ in range(7)]
    assert answers == [200] * 5 + [429] * 2
    assert client.get("/ui/login", headers=two).status_code == 200
    rt.engine.dispose()


def api_documents_429(client: TestClient) -> bool:
    paths = client.get("/openapi.json").json()["paths"]
    return all(
        "429" in op["responses"]
        for path, ops in paths.items()
        if path.startswith("/v1/")
        for op in ops.values()
    )
