"""Every JSON route documents its body as a named model (issue 15, item 6): a route that returns an
untyped dict shows in /openapi.json as an untitled schema, and fails here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gateway.api.app import create_app
from gateway.services.audit import export_media_types
from gateway.settings import Settings

# Routes that serve a document of another standard (OpenLineage, CycloneDX, in-toto, ...) per
# `format`: they name each media type instead of one model.
DOCUMENT_ROUTES = {("get", "/v1/adapters/{adapter_id}/lineage")}


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("openapi") / "home"
    return create_app(Settings(home=home)).openapi()


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            yield method, path, operation


def _success_schemas(operation: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any] | None]]:
    for code, response in operation["responses"].items():
        if code.startswith("2"):
            for media_type, content in response.get("content", {}).items():
                yield code, media_type, content.get("schema")


def test_every_json_success_response_names_its_model(spec: dict[str, Any]) -> None:
    untyped = [
        f"{method.upper()} {path}: {code} {schema}"
        for method, path, operation in _operations(spec)
        if (method, path) not in DOCUMENT_ROUTES
        for code, media_type, schema in _success_schemas(operation)
        if media_type == "application/json" and (schema is None or "$ref" not in schema)
    ]
    assert untyped == [], "give these routes a response_model (gateway/models.py):\n" + "\n".join(untyped)


def test_the_walk_sees_the_typed_routes(spec: dict[str, Any]) -> None:
    # Guards the test above against passing on an empty walk.
    refs = {
        (method, path): schema["$ref"].rsplit("/", 1)[-1]
        for method, path, operation in _operations(spec)
        for _, media_type, schema in _success_schemas(operation)
        if media_type == "application/json" and schema and "$ref" in schema
    }
    assert refs[("get", "/healthz")] == "HealthPublic"
    assert refs[("get", "/v1/audit/verify")] == "LogVerificationPublic"
    assert len(refs) > 40


def test_the_submit_route_documents_both_shapes(spec: dict[str, Any]) -> None:
    responses = spec["paths"]["/v1/jobs"]["post"]["responses"]
    assert responses["201"]["content"]["application/json"]["schema"]["$ref"].endswith("/JobSubmittedPublic")
    assert responses["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/DryRunPublic")


@pytest.mark.parametrize("method, path", sorted(DOCUMENT_ROUTES))
def test_document_routes_name_their_media_types(spec: dict[str, Any], method: str, path: str) -> None:
    content = spec["paths"][path][method]["responses"]["200"]["content"]
    assert set(content) == set(export_media_types().values())
    assert all("title" not in c["schema"] for c in content.values())
