"""The policy engine on the real regorus backend: decisions, fail-closed behaviour, hot reload."""

from __future__ import annotations

import copy
import gc
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from gateway.errors import ConfigError
from gateway.policy import regorus_backend, watch
from gateway.policy.backends import BACKENDS, backend_class, make_engine
from gateway.policy.bundle import PolicyBundle
from gateway.policy.engine import ENGINE_ERROR, Decision, PolicyEngine
from gateway.policy.regorus_backend import RegorusEngine
from gateway.settings import REPO_ROOT, Settings

from .conftest import POLICY_DIR

SHA, OLD_SHA = "9f2c" * 16, "0b1c" * 16  # as in examples/policy-inputs/


def merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of base with overrides merged in, nested objects key by key."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


SUBJECT = {"name": "ada", "role": "submitter", "team": "ml"}

# The example inputs users are pointed at (`ftgate policy eval --input ...`); the benchmark reads them too.
EXAMPLES = REPO_ROOT / "examples" / "policy-inputs"
DATASET_INPUT = json.loads((EXAMPLES / "dataset.json").read_text())
TRAINING_INPUT = json.loads((EXAMPLES / "training.json").read_text())


def authz_input(
    role: str, action: str, *, team: str | None = "ml", owner: str | None = "bob"
) -> dict[str, Any]:
    return {
        "subject": {**SUBJECT, "role": role},
        "action": action,
        "resource": {"type": "dataset", "team": team, "owner": owner},
    }


def dataset(**fields: Any) -> dict[str, Any]:
    return merged(DATASET_INPUT, {"dataset": fields})


def training(**sections: Any) -> dict[str, Any]:
    return merged(TRAINING_INPUT, sections)


def approval(approver: str, verdict: str = "approved", sha256: str = SHA) -> dict[str, str]:
    return {"approver": approver, "verdict": verdict, "redacted_sha256": sha256}


UNREGISTERED = {"name": "mystery-7b", "registered": False, "weights_sha256": None}

# (entrypoint, input, the reason codes expected in order; none means allowed)
CASES = {
    "dataset ok": ("ftgate.dataset", DATASET_INPUT, []),
    "dataset knowledge": ("ftgate.dataset", dataset(purpose="knowledge"), ["KNOWLEDGE_PURPOSE"]),
    "dataset residual pii": (
        "ftgate.dataset",
        merged(DATASET_INPUT, {"scan": {"residual_findings": 1}}),
        ["RESIDUAL_PII"],
    ),
    "dataset tiny and odd": (
        "ftgate.dataset",
        dataset(records=3, purpose="ads", classification="top"),
        ["CLASSIFICATION_UNKNOWN", "PURPOSE_NOT_ALLOWED", "TOO_FEW_RECORDS"],
    ),
    "dataset huge": ("ftgate.dataset", dataset(records=10**6), ["TOO_MANY_RECORDS"]),
    "dataset other team": ("ftgate.dataset", dataset(team="finance"), ["TEAM_MISMATCH"]),
    "training ok": ("ftgate.training", TRAINING_INPUT, []),
    "training one approval short": (
        "ftgate.training",
        training(approvals=[approval("grace"), approval("linus", sha256=OLD_SHA), approval("ada")]),
        ["APPROVALS_MISSING", "APPROVAL_HASH_MISMATCH", "SELF_APPROVAL"],
    ),
    "training rejected": (
        "ftgate.training",
        training(approvals=[approval("grace"), approval("linus"), approval("eve", "rejected")]),
        ["DATASET_REJECTED"],
    ),
    "training old rejection": (
        "ftgate.training",
        training(approvals=[approval("grace"), approval("linus"), approval("eve", "rejected", OLD_SHA)]),
        [],
    ),
    "training pending": (
        "ftgate.training",
        training(dataset={"status": "pending"}),
        ["DATASET_NOT_APPROVED"],
    ),
    "training model": (
        "ftgate.training",
        training(base_model=UNREGISTERED),
        ["BASE_MODEL_NOT_ALLOWED", "BASE_MODEL_NOT_REGISTERED"],
    ),
    "training bounds": (
        "ftgate.training",
        training(config={"learning_rate": 0.5, "batch_size": 512}),
        ["HYPERPARAMETER_OUT_OF_BOUNDS"] * 2,
    ),
    "training other team": ("ftgate.training", training(subject={"team": "finance"}), ["TEAM_MISMATCH"]),
    "training no config": ("ftgate.training", {**TRAINING_INPUT, "config": {}}, ["INPUT_INVALID"] * 8),
    "authz submitter upload": ("ftgate.authz", authz_input("submitter", "datasets.upload"), []),
    "authz approver approve": ("ftgate.authz", authz_input("approver", "datasets.approve"), []),
    "authz approver own": (
        "ftgate.authz",
        authz_input("approver", "datasets.approve", owner="ada"),
        ["SELF_APPROVAL"],
    ),
    "authz admin approve": ("ftgate.authz", authz_input("admin", "datasets.approve"), ["ROLE_NOT_PERMITTED"]),
    "authz auditor export": (
        "ftgate.authz",
        authz_input("auditor", "audit.export", team=None, owner=None),
        [],
    ),
    "authz other team": (
        "ftgate.authz",
        authz_input("submitter", "datasets.read", team="finance"),
        ["OTHER_TEAM"],
    ),
    "authz list all teams": (
        "ftgate.authz",
        authz_input("submitter", "jobs.list", team=None, owner=None),
        [],
    ),
    "authz unknown": (
        "ftgate.authz",
        authz_input("root", "datasets.wipe"),
        ["UNKNOWN_ACTION", "UNKNOWN_ROLE"],
    ),
}


@pytest.mark.parametrize(("entrypoint", "payload", "codes"), list(CASES.values()), ids=list(CASES))
def test_decisions(engine: RegorusEngine, entrypoint: str, payload: dict[str, Any], codes: list[str]) -> None:
    decision = engine.decide(entrypoint, payload)
    assert [r.code for r in decision.reasons] == codes  # sorted by code, one per failure
    assert decision.allow is (codes == [])
    assert all(r.message and r.message != r.code for r in decision.reasons)
    assert decision.entrypoint == entrypoint
    assert decision.engine == "regorus"
    assert decision.bundle_sha256 == PolicyBundle.load(POLICY_DIR).sha256
    assert decision.ms > 0


def test_messages_name_the_values(engine: RegorusEngine) -> None:
    payload = merged(TRAINING_INPUT, {"config": {"lora_r": 128}})
    [reason] = engine.decide("ftgate.training", payload).reasons
    assert (
        reason.message
        == 'config.lora_r is 128, outside the bounds [1, 64] for team "ml"; choose a value within them'
    )


def test_knowledge_reason_points_to_rag(engine: RegorusEngine) -> None:
    payload = merged(DATASET_INPUT, {"dataset": {"purpose": "knowledge"}})
    [reason] = engine.decide("ftgate.dataset", payload).reasons
    assert "wrong tool" in reason.message
    assert "retrieval (RAG)" in reason.message


def test_decision_serialises_for_the_audit_log(engine: RegorusEngine) -> None:
    decision = engine.decide("ftgate.authz", authz_input("admin", "jobs.submit"))
    assert Decision.model_validate_json(decision.model_dump_json()) == decision
    assert decision.model_dump()["reasons"][0].keys() == {"code", "message"}


def test_evaluate_returns_the_raw_decision(engine: RegorusEngine) -> None:
    assert engine.evaluate("ftgate.dataset", DATASET_INPUT) == {"allow": True, "reasons": []}


def test_a_fact_is_read_from_its_rule_and_a_failure_is_none(engine: RegorusEngine) -> None:
    budget = engine.value("ftgate.training", "budget", TRAINING_INPUT)
    assert budget == engine.value("ftgate.training", "budget", TRAINING_INPUT)
    assert budget["gpu_hours_per_month"] == 100
    assert engine.value("ftgate.training", "no_such_rule", TRAINING_INPUT) is None
    assert engine.value("no.such.package", "budget", TRAINING_INPUT) is None
    with pytest.raises(ValueError):
        engine.value("ftgate.training", "decision", TRAINING_INPUT)  # decisions go through `decide`
    with pytest.raises(ValueError):
        engine.value("ftgate.training", "budget/../x", TRAINING_INPUT)


def test_decide_works_from_other_threads(engine: RegorusEngine) -> None:
    # regorus engines are bound to the thread that built them; each thread must get its own.
    results: list[bool] = []

    def ask() -> None:
        for _ in range(20):
            results.append(engine.decide("ftgate.training", TRAINING_INPUT).allow)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 80


def test_engines_are_dropped_on_the_threads_that_built_them(monkeypatch: pytest.MonkeyPatch) -> None:
    # A regorus engine dropped on another thread leaks with "unsendable ... dropped on another
    # thread". A server's worker threads outlive a RegorusEngine that is collected elsewhere.
    unraisable: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: unraisable.append(repr(u.exc_value)))
    with ThreadPoolExecutor(max_workers=1) as worker:
        engine = RegorusEngine(POLICY_DIR)
        assert worker.submit(engine.decide, "ftgate.training", TRAINING_INPUT).result().allow
        del engine
        gc.collect()
        other = RegorusEngine(POLICY_DIR)  # the worker drops the dead engine's prototype, on its thread
        assert worker.submit(other.decide, "ftgate.training", TRAINING_INPUT).result().allow
    del other
    gc.collect()
    assert unraisable == []


def test_evaluations_from_many_threads_compile_the_bundle_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # A server's request threads come and go; a compile per new thread held the interpreter lock
    # while every other request waited. Evaluations run on the engine's own thread instead.
    compiled: list[str] = []
    real = regorus_backend.compile_bundle

    def counting(*args: Any, **kwargs: Any) -> Any:
        compiled.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(regorus_backend, "compile_bundle", counting)
    engine = RegorusEngine(POLICY_DIR)
    results: list[bool] = []
    for _ in range(6):
        thread = threading.Thread(
            target=lambda: results.append(engine.decide("ftgate.training", TRAINING_INPUT).allow)
        )
        thread.start()
        thread.join()
    assert results == [True] * 6
    assert len(compiled) == 2  # the load's check, and the evaluating thread's prototype
    assert compiled[1].startswith("regorus-")


# -- fail closed --------------------------------------------------------------------------------


def assert_engine_error(decision: Decision, error_type: str) -> None:
    assert decision.allow is False
    assert [r.code for r in decision.reasons] == [ENGINE_ERROR]
    assert f"({error_type})" in decision.reasons[0].message


def write_package(root: Path, name: str, body: str) -> None:
    folder = root / "ftgate" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.rego").write_text(f"package ftgate.{name}\n\n{body}\n")


@pytest.mark.parametrize(
    ("body", "error_type"),
    [
        ('decision := "yes"', "MalformedDecision"),
        ('decision := {"allow": "true", "reasons": []}', "MalformedDecision"),
        ('decision := {"allow": true}', "MalformedDecision"),
        ('decision := {"allow": false, "reasons": [], "extra": 1}', "MalformedDecision"),
        ('decision := {"allow": false, "reasons": [{"code": 1, "message": "m"}]}', "MalformedDecision"),
        ('decision := {"allow": false, "reasons": ["NOPE"]}', "MalformedDecision"),
        ('decision := {"allow": true, "reasons": [{"code": "X", "message": "m"}]}', "MalformedDecision"),
        ("decision := 1 if false", "UndefinedDecision"),
        ("verdict := 1", "RuntimeError"),  # the package exists, its decision rule does not
        ('decision := {"allow": count(input.n) > 0, "reasons": []}', "RuntimeError"),
    ],
    ids=[
        "string",
        "allow-not-bool",
        "no-reasons",
        "extra-key",
        "code-not-string",
        "reason-not-object",
        "allow-with-reasons",
        "undefined",
        "no-decision-rule",
        "runtime-error",
    ],
)
def test_bad_results_deny_with_engine_error(policy_copy: Path, body: str, error_type: str) -> None:
    write_package(policy_copy, "odd", body)
    decision = RegorusEngine(policy_copy).decide("ftgate.odd", {"n": 5})
    assert_engine_error(decision, error_type)
    assert decision.bundle_sha256 == PolicyBundle.load(policy_copy).sha256


def test_engine_error_message_carries_no_input_values(policy_copy: Path) -> None:
    write_package(policy_copy, "odd", 'decision := {"allow": to_number(input.secret) > 0, "reasons": []}')
    decision = RegorusEngine(policy_copy).decide("ftgate.odd", {"secret": "hunter2-credit-card"})
    assert_engine_error(decision, "RuntimeError")
    assert "hunter2" not in decision.model_dump_json()


@pytest.mark.parametrize(
    "entrypoint", ["ftgate.nothing", "ftgate", "data.ftgate.authz", "ftgate.authz; x", ""]
)
def test_unknown_entrypoint_denies(engine: RegorusEngine, entrypoint: str) -> None:
    assert_engine_error(engine.decide(entrypoint, {}), "UnknownEntrypoint")


@pytest.mark.parametrize("payload", [{"x": float("nan")}, {"x": object()}, {"x": b"bytes"}])
def test_input_that_is_not_json_denies(engine: RegorusEngine, payload: dict[str, Any]) -> None:
    decision = engine.decide("ftgate.authz", payload)
    assert decision.allow is False
    assert [r.code for r in decision.reasons] == [ENGINE_ERROR]


def test_empty_input_denies_with_reasons(engine: RegorusEngine) -> None:
    for entrypoint in ["ftgate.authz", "ftgate.dataset", "ftgate.training"]:
        decision = engine.decide(entrypoint, {})
        assert decision.allow is False
        assert {r.code for r in decision.reasons} == {"INPUT_INVALID"}


# How to break the bundle: (file, text to replace, replacement).
BREAKAGES = {
    "syntax": ("dataset/dataset.rego", "deny contains", "deny contians"),
    "unsafe variable": ("dataset/dataset.rego", "msg := sprintf(", "msg := sprintf(nonexistent_format, "),
    "unscheduled": (
        "dataset/dataset.rego",
        '\tinput.dataset.purpose == "knowledge"\n',
        "\tpurpose := purposee\n\tinput.dataset.purpose == purpose\n",
    ),
    "data not json": ("config/data.json", '"min_records": 10,', '"min_records": ,'),
}


def break_bundle(root: Path, how: str) -> Path:
    """Break the bundle under root as BREAKAGES says; the file it changed."""
    file, old, new = BREAKAGES[how]
    path = root / "ftgate" / file
    source = path.read_text()
    assert old in source
    path.write_text(source.replace(old, new, 1))
    return path


@pytest.mark.parametrize("how", list(BREAKAGES))
def test_broken_bundle_is_refused_at_start(policy_copy: Path, how: str) -> None:
    break_bundle(policy_copy, how)
    with pytest.raises(ConfigError, match="cannot load the policy bundle"):
        RegorusEngine(policy_copy)


@pytest.mark.parametrize("how", list(BREAKAGES))
def test_broken_edit_denies_until_fixed(policy_copy: Path, how: str) -> None:
    engine = RegorusEngine(policy_copy)
    good_sha256 = engine.bundle_sha256
    assert engine.decide("ftgate.dataset", DATASET_INPUT).allow

    target = policy_copy / "ftgate" / BREAKAGES[how][0]
    original = target.read_bytes()
    break_bundle(policy_copy, how)
    for entrypoint, payload in [
        ("ftgate.dataset", DATASET_INPUT),
        ("ftgate.authz", authz_input("admin", "users.add")),
    ]:
        decision = engine.decide(entrypoint, payload)
        assert_engine_error(decision, "PolicyBundleError")
        assert decision.bundle_sha256 == PolicyBundle.load(policy_copy).sha256 != good_sha256
    with pytest.raises(ConfigError, match="cannot load the policy bundle"):
        engine.check()

    target.write_bytes(original)
    decision = engine.decide("ftgate.dataset", DATASET_INPUT)
    assert decision.allow
    assert decision.bundle_sha256 == good_sha256


def test_unknown_function_denies_when_reached(policy_copy: Path) -> None:
    # regorus resolves function names only when an evaluation reaches the call, so this bundle
    # loads; the decision still fails closed, and the coverage test keeps such code from shipping.
    path = policy_copy / "ftgate" / "dataset" / "dataset.rego"
    path.write_text(
        path.read_text().replace("is_number(input.dataset.records)", "is_numbr(input.dataset.records)")
    )
    engine = RegorusEngine(policy_copy)
    assert_engine_error(engine.decide("ftgate.dataset", DATASET_INPUT), "RuntimeError")
    assert engine.decide("ftgate.authz", authz_input("admin", "users.add")).allow


@pytest.mark.parametrize("how", ["syntax", "unscheduled"])
def test_a_failed_load_leaves_no_engine_for_another_thread(
    policy_copy: Path, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The error travels to the caller with its traceback; it must not carry a regorus engine
    # built on the worker thread, or releasing it on this thread would leak it.
    break_bundle(policy_copy, how)
    unraisable: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: unraisable.append(repr(u.exc_value)))
    with ThreadPoolExecutor(max_workers=1) as worker:
        error = worker.submit(RegorusEngine, policy_copy).exception()
        assert isinstance(error, ConfigError)
        del error
        gc.collect()
    assert unraisable == []


def test_missing_policy_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        RegorusEngine(tmp_path / "nowhere")


def test_check_passes_for_a_good_bundle(engine: RegorusEngine) -> None:
    engine.check()


def test_policy_directory_removed_then_restored(policy_copy: Path, tmp_path: Path) -> None:
    engine = RegorusEngine(policy_copy)
    moved = policy_copy.rename(tmp_path / "elsewhere")
    assert_engine_error(engine.decide("ftgate.dataset", DATASET_INPUT), "PolicyBundleError")
    assert engine.bundle_sha256 == "unknown"
    moved.rename(policy_copy)
    assert engine.decide("ftgate.dataset", DATASET_INPUT).allow


class Panicking(PolicyEngine):
    """A backend whose evaluation dies the way a PyO3 panic does: with a BaseException."""

    class Panic(BaseException):
        pass

    raises: type[BaseException] = Panic

    @classmethod
    def name(cls) -> str:
        return "panicking"

    @classmethod
    def from_settings(cls, settings: Settings) -> Panicking:
        return cls()

    @property
    def bundle_sha256(self) -> str:
        return "f" * 64

    def evaluate(self, entrypoint: str, input: dict[str, Any], rule: str = "decision") -> Any:
        raise self.raises("boom")


def test_base_exceptions_from_native_code_deny() -> None:
    assert_engine_error(Panicking().decide("ftgate.authz", {}), "Panic")


def test_interrupts_are_not_swallowed() -> None:
    engine = Panicking()
    engine.raises = KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        engine.decide("ftgate.authz", {})


# -- hot reload ---------------------------------------------------------------------------------


def test_data_change_reloads_and_changes_the_hash(policy_copy: Path) -> None:
    engine = RegorusEngine(policy_copy)
    before = engine.decide("ftgate.dataset", DATASET_INPUT)
    assert before.allow

    data = policy_copy / "ftgate" / "config" / "data.json"
    data.write_text(data.read_text().replace('"min_records": 10,', '"min_records": 1000,'))
    after = engine.decide("ftgate.dataset", DATASET_INPUT)
    assert [r.code for r in after.reasons] == ["TOO_FEW_RECORDS"]
    assert after.bundle_sha256 != before.bundle_sha256
    assert after.bundle_sha256 == PolicyBundle.load(policy_copy).sha256 == engine.bundle_sha256


def test_new_package_is_picked_up(policy_copy: Path) -> None:
    engine = RegorusEngine(policy_copy)
    assert_engine_error(engine.decide("ftgate.retention", {}), "UnknownEntrypoint")
    write_package(
        policy_copy,
        "retention",
        'decision := {"allow": false, "reasons": [{"code": "NOT_YET", "message": "m"}]}',
    )
    assert [r.code for r in engine.decide("ftgate.retention", {}).reasons] == ["NOT_YET"]


def test_removed_package_is_dropped(policy_copy: Path) -> None:
    engine = RegorusEngine(policy_copy)
    for path in (policy_copy / "ftgate" / "authz").iterdir():
        path.unlink()
    assert_engine_error(engine.decide("ftgate.authz", authz_input("admin", "users.add")), "UnknownEntrypoint")


def test_reload_reaches_other_threads(policy_copy: Path) -> None:
    engine = RegorusEngine(policy_copy)
    seen: list[list[str]] = []

    def ask() -> None:
        seen.append([r.code for r in engine.decide("ftgate.dataset", DATASET_INPUT).reasons])

    thread = threading.Thread(target=ask)
    thread.start()
    thread.join()
    data = policy_copy / "ftgate" / "config" / "data.json"
    data.write_text(data.read_text().replace('"max_records": 100000', '"max_records": 100'))
    thread = threading.Thread(target=ask)
    thread.start()
    thread.join()
    assert seen == [[], ["TOO_MANY_RECORDS"]]


def test_same_size_same_mtime_edit_is_caught_after_the_racy_window(
    policy_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An edit can keep a file's size and land in the same timestamp tick as the load, leaving its
    # stat unchanged; a load that close to a file's mtime is redone once the window has passed.
    monkeypatch.setattr(watch, "RACY_WINDOW_NS", 200_000_000)
    data = policy_copy / "ftgate" / "config" / "data.json"
    data.write_text(data.read_text())  # mtime: now, so the load below is racy
    engine = RegorusEngine(policy_copy)
    assert engine.decide("ftgate.dataset", DATASET_INPUT).allow

    stat = data.stat()
    data.write_text(data.read_text().replace('"max_records": 100000', '"max_records": 100   '))
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert data.stat().st_size == stat.st_size
    assert [r.code for r in engine.decide("ftgate.dataset", DATASET_INPUT).reasons] == []  # not seen yet
    time.sleep(0.25)
    assert [r.code for r in engine.decide("ftgate.dataset", DATASET_INPUT).reasons] == ["TOO_MANY_RECORDS"]


# -- construction -------------------------------------------------------------------------------


def test_make_engine_defaults_to_regorus() -> None:
    engine = make_engine(Settings(policy_dir=POLICY_DIR))
    assert isinstance(engine, RegorusEngine)
    assert engine.name() == "regorus"
    assert engine.bundle_sha256 == PolicyBundle.load(POLICY_DIR).sha256


def test_backends_by_name() -> None:
    assert BACKENDS == ("opa", "regorus")
    assert backend_class("regorus") is RegorusEngine
    assert all(backend_class(name).name() == name for name in BACKENDS)
    with pytest.raises(ConfigError, match="no policy backend named 'nope'"):
        backend_class("nope")
