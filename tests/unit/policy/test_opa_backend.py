"""The OPA backend against the OPA test double, over real HTTP: protocol, failing closed, bundle check."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

import gateway.policy
from gateway.errors import ConfigError
from gateway.policy import opa_backend
from gateway.policy.backends import backend_class, make_engine
from gateway.policy.bundle import PolicyBundle
from gateway.policy.engine import ENGINE_ERROR, Decision
from gateway.policy.opa_backend import OpaEngine
from gateway.settings import Settings

from .conftest import POLICY_DIR
from .opa_data_api import Fault, OpaDataApi, closed_port, serve
from .test_engine import DATASET_INPUT, TRAINING_INPUT, authz_input, write_package

SHA256 = PolicyBundle.load(POLICY_DIR).sha256


@pytest.fixture(scope="module")
def shared_server() -> Iterator[OpaDataApi]:
    with serve(POLICY_DIR) as server:
        yield server


@pytest.fixture
def server(shared_server: OpaDataApi) -> Iterator[OpaDataApi]:
    """The module's OPA double on the repository's policies, with no fault and an empty request log.

    A test may point it at other files (`reload`); it serves the repository's again afterwards.
    """
    shared_server.fault = None
    shared_server.requests.clear()
    shared_server.queries.clear()
    yield shared_server
    shared_server.fault = None
    if (shared_server.policy_dir, shared_server.include_tests) != (POLICY_DIR, True):
        shared_server.reload(POLICY_DIR, include_tests=True)


@pytest.fixture
def opa(server: OpaDataApi) -> Iterator[OpaEngine]:
    engine = OpaEngine(server.url, POLICY_DIR, timeout_s=0.5)
    yield engine
    engine.close()


def assert_engine_error(decision: Decision, error_type: str) -> None:
    assert decision.allow is False
    assert [r.code for r in decision.reasons] == [ENGINE_ERROR]
    assert f"({error_type})" in decision.reasons[0].message
    assert decision.engine == "opa"


# -- the protocol -------------------------------------------------------------------------------


def test_a_decision_is_one_post_to_the_data_api(server: OpaDataApi, opa: OpaEngine) -> None:
    server.requests.clear()
    server.queries.clear()
    decision = opa.decide("ftgate.training", TRAINING_INPUT)
    assert decision.allow
    assert decision.bundle_sha256 == SHA256
    assert decision.engine == "opa"
    assert decision.ms > 0
    assert server.requests == ["POST /v1/data/ftgate/training/decision"]
    assert server.queries == ["strict-builtin-errors=true"]  # built-in errors fail, not go undefined


def test_a_fact_is_read_from_its_rule_and_an_undefined_is_none(server: OpaDataApi, opa: OpaEngine) -> None:
    server.requests.clear()
    budget = opa.value("ftgate.training", "budget", TRAINING_INPUT)
    assert budget["gpu_hours_per_month"] == 100 and budget["remaining"] <= 100
    assert server.requests == ["POST /v1/data/ftgate/training/budget"]
    assert opa.value("ftgate.training", "no_such_rule", TRAINING_INPUT) is None
    with pytest.raises(ValueError):
        opa.value("ftgate.training", "decision", TRAINING_INPUT)  # decisions go through `decide`


def test_construction_checks_the_served_bundle(server: OpaDataApi) -> None:
    with capture_logs() as logs:
        engine = OpaEngine(server.url, POLICY_DIR)
    assert server.requests == [
        "GET /v1/policies",
        "GET /v1/data/ftgate/config",
        "GET /v1/data/ftgate/redaction",
    ]
    assert [e for e in logs if e["log_level"] in ("warning", "error")] == []
    engine.check()
    engine.close()


def test_the_check_is_cached(server: OpaDataApi, opa: OpaEngine) -> None:
    for _ in range(5):
        assert opa.decide("ftgate.dataset", DATASET_INPUT).allow
    assert server.requests.count("GET /v1/policies") == 1  # the one at construction


def test_evaluate_returns_the_raw_decision(opa: OpaEngine) -> None:
    assert opa.evaluate("ftgate.dataset", DATASET_INPUT) == {"allow": True, "reasons": []}


def test_decide_works_from_many_threads(opa: OpaEngine) -> None:
    results: list[bool] = []

    def ask() -> None:
        for _ in range(10):
            results.append(opa.decide("ftgate.training", TRAINING_INPUT).allow)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 40


def test_the_double_answers_as_opa_documents(server: OpaDataApi, opa: OpaEngine) -> None:
    # The shapes the backend relies on, straight from the client the backend uses.
    client = opa._client
    assert client.check_health()
    assert client.query_rule({"x": 1}, "ftgate.nothing", "decision") == {}  # undefined: no "result"
    assert client.get_data("ftgate/config/min_records") == {"result": 10}
    modules = client.policy_modules()
    assert {raw for _, raw in modules} >= {f.text for f in PolicyBundle.load(POLICY_DIR).policy_files}
    assert all(i.endswith(".rego") for i, _ in modules)
    response = client._session.post(f"{client.root_url}/data/ftgate/authz/decision", data=b"[1]")
    assert response.status_code == 400 and response.json()["code"] == "invalid_parameter"
    # Without input no deny rule fires, so the policies allow: why the backend sends only objects.
    without_input = client._session.post(f"{client.root_url}/data/ftgate/authz/allow", json={}).json()
    assert without_input == {
        "result": True,
        "warning": {"code": "api_usage_warning", "message": "'input' key missing from the request"},
    }


# -- failing closed -----------------------------------------------------------------------------


def test_server_down_denies() -> None:
    with capture_logs() as logs:
        engine = OpaEngine(f"http://127.0.0.1:{closed_port()}", POLICY_DIR)  # starts anyway
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["policy.opa_unreachable"]
    assert_engine_error(engine.decide("ftgate.authz", authz_input("admin", "users.add")), "OpaUnavailable")
    assert engine.bundle_sha256 == SHA256
    with pytest.raises(ConfigError, match="cannot ask OPA"):
        engine.check()


def test_server_too_slow_denies(server: OpaDataApi) -> None:
    engine = OpaEngine(server.url, POLICY_DIR, timeout_s=0.2)
    server.fault = Fault(delay_s=1.0)
    assert_engine_error(engine.decide("ftgate.training", TRAINING_INPUT), "OpaTimeout")


@pytest.mark.parametrize("status", [500, 503, 400, 404, 401])
def test_http_error_denies(server: OpaDataApi, opa: OpaEngine, status: int) -> None:
    server.fault = Fault(status=status)
    with capture_logs() as logs:
        decision = opa.decide("ftgate.training", TRAINING_INPUT)
    assert_engine_error(decision, "OpaServerError")
    [event] = [e for e in logs if e["event"] == "policy.opa_http_error"]
    assert (event["status"], event["opa_code"]) == (status, "internal_error")


@pytest.mark.parametrize(
    ("body", "error_type"),
    [
        (b"<html>proxy error</html>", "OpaServerError"),
        (b"[1, 2]", "OpaServerError"),
        (b"{}", "UndefinedDecision"),
        (b'{"warning": {"code": "api_usage_warning"}}', "UndefinedDecision"),
        (b'{"result": null}', "MalformedDecision"),
        (b'{"result": true}', "MalformedDecision"),
        (b'{"result": {"allow": "true", "reasons": []}}', "MalformedDecision"),
        (b'{"result": {"allow": true, "reasons": [{"code": "X", "message": "m"}]}}', "MalformedDecision"),
    ],
    ids=[
        "not-json",
        "not-object",
        "undefined",
        "warning-only",
        "null",
        "bare-bool",
        "allow-string",
        "allow-with-reasons",
    ],
)
def test_bad_answers_deny(server: OpaDataApi, opa: OpaEngine, body: bytes, error_type: str) -> None:
    server.fault = Fault(body=body)
    assert_engine_error(opa.decide("ftgate.training", TRAINING_INPUT), error_type)


def test_a_bundle_check_that_fails_denies(server: OpaDataApi) -> None:
    server.fault = Fault(status=500, method="GET")
    engine = OpaEngine(server.url, POLICY_DIR)
    assert_engine_error(engine.decide("ftgate.training", TRAINING_INPUT), "OpaServerError")
    server.fault = None
    assert engine.decide("ftgate.training", TRAINING_INPUT).allow  # not cached as a verdict


def test_unknown_package_is_undefined(opa: OpaEngine) -> None:
    assert_engine_error(opa.decide("ftgate.nothing", {}), "UndefinedDecision")


@pytest.mark.parametrize(
    ("body", "error_type"),
    [
        ("decision := 1 if false", "UndefinedDecision"),
        ('decision := "yes"', "MalformedDecision"),
        ('decision := {"allow": true}', "MalformedDecision"),
        ('decision := {"allow": count(input.n) > 0, "reasons": []}', "OpaServerError"),  # eval error: 500
    ],
    ids=["undefined", "string", "no-reasons", "eval-error"],
)
def test_bad_policies_deny(server: OpaDataApi, policy_copy: Path, body: str, error_type: str) -> None:
    write_package(policy_copy, "odd", body)
    server.reload(policy_copy)
    engine = OpaEngine(server.url, policy_copy)
    assert_engine_error(engine.decide("ftgate.odd", {"n": 5}), error_type)
    assert engine.decide("ftgate.dataset", DATASET_INPUT).allow  # the rest still decides


@pytest.mark.parametrize(
    "payload", [{"x": float("nan")}, {"x": object()}, {"x": b"bytes"}, None, [], "input"]
)
def test_input_that_is_not_json_denies_without_asking(
    server: OpaDataApi, opa: OpaEngine, payload: Any
) -> None:
    server.requests.clear()
    decision = opa.decide("ftgate.authz", payload)
    assert [r.code for r in decision.reasons] == [ENGINE_ERROR]
    assert server.requests == []


@pytest.mark.parametrize(
    "entrypoint", ["../v1/policies", "ftgate.authz/x", "ftgate.authz?x=1", "ftgate..authz", ""]
)
def test_odd_entrypoints_never_reach_the_server(server: OpaDataApi, opa: OpaEngine, entrypoint: str) -> None:
    server.requests.clear()
    assert_engine_error(opa.decide(entrypoint, {}), "UnknownEntrypoint")
    with pytest.raises(opa_backend.UnknownEntrypoint):
        opa.evaluate(entrypoint, {})  # checked by the backend too, not only by decide
    assert server.requests == []


# -- the served bundle must be the local one ----------------------------------------------------


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def data_file(root: Path) -> Path:
    return root / "ftgate" / "config" / "data.json"


def dataset_rego(root: Path) -> Path:
    return root / "ftgate" / "dataset" / "dataset.rego"


# How the served copy differs from the local policies, and what the log should name.
MISMATCHES = {
    "data value": (
        lambda root: edit(data_file(root), '"min_records": 10,', '"min_records": 11,'),
        "data.ftgate.config differs",
    ),
    "data type": (  # equal in Python (True == 1), not in JSON
        lambda root: edit(
            data_file(root), '"public": {"approvals_required": 1}', '"public": {"approvals_required": true}'
        ),
        "data.ftgate.config differs",
    ),
    "data key": (
        lambda root: edit(data_file(root), '"min_records": 10,', '"min_records": 10, "strict": true,'),
        "data.ftgate.config differs",
    ),
    "no data": (lambda root: data_file(root).unlink(), "data.ftgate.config is undefined"),
    "rego message": (
        lambda root: edit(dataset_rego(root), "wrong tool", "right tool"),
        "policy files not served as they are here: ftgate/dataset/dataset.rego",
    ),
    "rego whitespace": (
        lambda root: dataset_rego(root).write_text(dataset_rego(root).read_text() + "\n"),
        "ftgate/dataset/dataset.rego",
    ),
    "extra module": (
        lambda root: write_package(root, "extra", "x := 1"),
        "modules served that are not in the local bundle:",
    ),
    "missing module": (
        lambda root: (root / "ftgate" / "authz" / "authz.rego").unlink(),
        "policy files not served as they are here: ftgate/authz/authz.rego",
    ),
    "old test module": (
        lambda root: edit(root / "ftgate" / "lib" / "lib_test.rego", "test_", "test_old_"),
        "modules served that are not in the local bundle:",
    ),
}


@pytest.mark.parametrize("how", list(MISMATCHES))
def test_a_server_with_another_bundle_denies(server: OpaDataApi, policy_copy: Path, how: str) -> None:
    change, named = MISMATCHES[how]
    change(policy_copy)  # the copy is what the server serves; the engine keeps the repository's
    server.reload(policy_copy)
    with capture_logs() as logs:
        engine = OpaEngine(server.url, POLICY_DIR)
        for entrypoint, payload in [
            ("ftgate.dataset", DATASET_INPUT),
            ("ftgate.authz", authz_input("admin", "users.add")),
        ]:
            decision = engine.decide(entrypoint, payload)
            assert_engine_error(decision, "BundleMismatch")
            assert decision.bundle_sha256 == SHA256
        with pytest.raises(ConfigError, match="serves another policy bundle"):
            engine.check()
    assert not any(r.startswith("POST") for r in server.requests)  # nothing was asked of it
    [event] = [e for e in logs if e["event"] == "policy.opa_bundle_mismatch"]  # logged once
    assert event["log_level"] == "error"
    assert event["bundle_sha256"] == SHA256
    assert named in " ".join(event["problems"])


def test_the_same_data_written_otherwise_is_the_same_bundle(server: OpaDataApi, policy_copy: Path) -> None:
    # OPA reads JSON numbers as numbers: 10 and 10.0 are one value, and key order does not matter.
    data = json.loads(data_file(policy_copy).read_text())
    data["min_records"] = 10.0
    data_file(policy_copy).write_text(json.dumps(dict(reversed(list(data.items())))))
    server.reload(policy_copy)
    OpaEngine(server.url, POLICY_DIR).check()


def test_a_server_without_the_test_modules_is_the_same_bundle(server: OpaDataApi) -> None:
    # `opa run --bundle policies --ignore '*_test.rego'` serves the same decisions.
    server.reload(include_tests=False)
    engine = OpaEngine(server.url, POLICY_DIR)
    engine.check()
    assert engine.decide("ftgate.dataset", DATASET_INPUT).allow


def test_a_local_edit_is_checked_against_the_server(
    server: OpaDataApi, policy_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(opa_backend, "_MISMATCH_RECHECK_S", 0.0)
    server.reload(policy_copy)
    engine = OpaEngine(server.url, policy_copy)
    before = engine.decide("ftgate.dataset", DATASET_INPUT)
    assert before.allow

    edit(data_file(policy_copy), '"min_records": 10,', '"min_records": 1000,')
    mismatch = engine.decide("ftgate.dataset", DATASET_INPUT)  # OPA still serves the old data
    assert_engine_error(mismatch, "BundleMismatch")
    assert mismatch.bundle_sha256 == PolicyBundle.load(policy_copy).sha256 != before.bundle_sha256

    server.reload()  # OPA restarted on the edited files
    after = engine.decide("ftgate.dataset", DATASET_INPUT)
    assert [r.code for r in after.reasons] == ["TOO_FEW_RECORDS"]
    assert after.bundle_sha256 == mismatch.bundle_sha256 == engine.bundle_sha256


def test_a_server_side_change_is_caught_at_the_next_recheck(server: OpaDataApi, policy_copy: Path) -> None:
    server.reload(policy_copy)
    engine = OpaEngine(server.url, POLICY_DIR, recheck_s=0.0)
    assert engine.decide("ftgate.dataset", DATASET_INPUT).allow
    edit(data_file(policy_copy), '"min_records": 10,', '"min_records": 1000,')
    server.reload()  # someone changed what OPA serves, not the gateway's files
    assert_engine_error(engine.decide("ftgate.dataset", DATASET_INPUT), "BundleMismatch")


def test_a_broken_local_directory_denies_until_restored(
    server: OpaDataApi, policy_copy: Path, tmp_path: Path
) -> None:
    engine = OpaEngine(server.url, policy_copy)
    assert engine.decide("ftgate.dataset", DATASET_INPUT).allow
    moved = policy_copy.rename(tmp_path / "elsewhere")
    assert_engine_error(engine.decide("ftgate.dataset", DATASET_INPUT), "PolicyBundleError")
    assert engine.bundle_sha256 == "unknown"
    with pytest.raises(ConfigError, match="cannot load the policy bundle"):
        engine.check()
    moved.rename(policy_copy)
    assert engine.decide("ftgate.dataset", DATASET_INPUT).allow


def test_a_broken_local_data_file_refuses_to_start_and_denies_after_an_edit(
    server: OpaDataApi, policy_copy: Path
) -> None:
    engine = OpaEngine(server.url, policy_copy)
    edit(data_file(policy_copy), '"min_records": 10,', '"min_records": ,')
    assert_engine_error(engine.decide("ftgate.dataset", DATASET_INPUT), "PolicyBundleError")
    with pytest.raises(ConfigError, match="cannot load the policy bundle"):
        OpaEngine(server.url, policy_copy)


def test_a_missing_local_directory_refuses_to_start(server: OpaDataApi, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        OpaEngine(server.url, tmp_path / "nowhere")


# -- construction -------------------------------------------------------------------------------


def test_make_engine_picks_opa_when_opa_url_is_set(server: OpaDataApi) -> None:
    engine = make_engine(Settings(policy_dir=POLICY_DIR, opa_url=server.url))
    assert isinstance(engine, OpaEngine)
    assert engine.name() == "opa"
    assert (engine.url, engine.policy_dir, engine.timeout_s) == (server.url, POLICY_DIR, 2.0)
    assert engine.decide("ftgate.authz", authz_input("admin", "users.add")).allow


def test_registry_and_package_export() -> None:
    assert backend_class("opa") is OpaEngine
    assert gateway.policy.OpaEngine is OpaEngine
    with pytest.raises(AttributeError):
        gateway.policy.NoSuchEngine  # noqa: B018


@pytest.mark.parametrize(
    ("url", "host", "port", "ssl"),
    [
        ("http://opa:8181", "opa", 8181, False),
        ("http://opa:8181/", "opa", 8181, False),
        ("https://opa.example.com", "opa.example.com", 443, True),
        ("http://[::1]:8181", "[::1]", 8181, False),
    ],
)
def test_urls(url: str, host: str, port: int, ssl: bool) -> None:
    client = opa_backend._client_for(url, 2.0)
    assert (client.host, client.port, client.ssl, client.timeout, client.retries) == (host, port, ssl, 2.0, 0)


@pytest.mark.parametrize(
    "url",
    [
        "opa:8181",
        "ftp://opa:8181",
        "http://opa:8181/v1",
        "http://opa:99999",
        "http://u:p@opa:8181",
        "http://",
    ],
)
def test_bad_urls_refuse_to_start(url: str) -> None:
    with pytest.raises(ConfigError, match="FTGATE_OPA_URL"):
        OpaEngine(url, POLICY_DIR)


def test_timeout_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="timeout"):
        OpaEngine("http://127.0.0.1:8181", POLICY_DIR, timeout_s=0)
