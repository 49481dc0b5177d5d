"""Both backends, one table: the OPA backend (over HTTP) decides exactly as the embedded engine does.

The server here is the OPA test double (`opa_data_api`), which evaluates with regorus: this proves
that nothing is lost or changed on the way through OPA's Data API, opa-python-client and JSON
(reasons, their order, messages with numbers and non-ASCII text). Whether OPA itself evaluates the
Rego as regorus does is checked by `test_a_real_opa_server_agrees`, which runs when
FTGATE_TEST_OPA_URL names an OPA server that serves this repository's `policies/`
(`docker compose -f docker/compose.yaml up opa`, port 8181 published).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.policy.engine import ENGINE_ERROR, Decision
from gateway.policy.opa_backend import OpaEngine
from gateway.policy.regorus_backend import RegorusEngine

from .conftest import POLICY_DIR
from .opa_data_api import serve
from .test_engine import (
    CASES,
    DATASET_INPUT,
    OLD_SHA,
    UNREGISTERED,
    approval,
    authz_input,
    dataset,
    merged,
    training,
)

ROLES = ["admin", "submitter", "approver", "auditor", "root"]
ACTIONS = ["users.add", "datasets.upload", "datasets.approve", "jobs.submit", "audit.export", "worker.run"]

# (entrypoint, input) beyond test_engine.CASES: many reasons at once, odd values, numbers and text
# whose formatting in a message could change on the way through JSON.
MORE_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "dataset empty": ("ftgate.dataset", {}),
    "dataset everything wrong": (
        "ftgate.dataset",
        merged(
            DATASET_INPUT,
            {
                "subject": {"team": "finance"},
                "dataset": {"purpose": "knowledge", "classification": "secret", "records": 2},
                "scan": {"residual_findings": 3},
            },
        ),
    ),
    "dataset fractional records": ("ftgate.dataset", dataset(records=9.5)),
    "dataset unicode": ("ftgate.dataset", dataset(name="Kundentöne — 客服语气 🙂", team="müller")),
    "dataset records not a number": ("ftgate.dataset", dataset(records="250")),
    "dataset huge int": ("ftgate.dataset", dataset(records=2**53 + 1)),
    "training empty": ("ftgate.training", {}),
    "training everything wrong": (
        "ftgate.training",
        training(
            subject={"team": "finance"},
            dataset={"status": "pending_review", "classification": "restricted"},
            approvals=[
                approval("ada"),
                approval("grace", sha256=OLD_SHA),
                approval("eve", "rejected"),
                approval("mallory", "maybe"),
            ],
            base_model=UNREGISTERED,
            config={"lora_r": 0, "learning_rate": 1e-7, "epochs": 10.5, "max_seq_len": 8192},
        ),
    ),
    "training tiny and huge floats": (
        "ftgate.training",
        training(config={"learning_rate": 1.5e-9, "epochs": 123456789.125}),
    ),
    "training bounds edges": (
        "ftgate.training",
        training(config={"learning_rate": 1e-3, "epochs": 0.01, "lora_r": 64, "batch_size": 64}),
    ),
    "training approval without fields": (
        "ftgate.training",
        training(approvals=[{"approver": "grace"}, approval("linus"), {"verdict": "approved"}]),
    ),
    "training config types": (
        "ftgate.training",
        training(config={"max_steps": "30", "epochs": None, "lora_alpha": True}),
    ),
    "training unicode names": (
        "ftgate.training",
        training(
            subject={"name": "Zoë", "team": "ml"},
            dataset={"name": "données-ñ", "uploader": "Zoë", "classification": "internal"},
            approvals=[approval("Zoë"), approval("José", sha256=OLD_SHA)],
        ),
    ),
    "training duplicate approver": (
        "ftgate.training",
        training(approvals=[approval("grace"), approval("grace")]),
    ),
    "authz empty": ("ftgate.authz", {}),
    "authz no team": ("ftgate.authz", authz_input("submitter", "datasets.read", team=None)),
    "authz no owner": ("ftgate.authz", authz_input("approver", "datasets.approve", owner=None)),
    **{
        f"authz {role} {action}": ("ftgate.authz", authz_input(role, action))
        for role, action in itertools.product(ROLES, ACTIONS)
    },
}

TABLE = {name: (entrypoint, payload) for name, (entrypoint, payload, _) in CASES.items()} | MORE_CASES


@pytest.fixture(scope="module")
def opa_engine() -> Iterator[OpaEngine]:
    with serve(POLICY_DIR) as server:
        engine = OpaEngine(server.url, POLICY_DIR)
        yield engine
        engine.close()


def outcome(decision: Decision) -> tuple[str, bool, list[tuple[str, str]], str]:
    return (
        decision.entrypoint,
        decision.allow,
        [(r.code, r.message) for r in decision.reasons],
        decision.bundle_sha256,
    )


@pytest.mark.parametrize(("entrypoint", "payload"), list(TABLE.values()), ids=list(TABLE))
def test_both_backends_decide_alike(
    engine: RegorusEngine, opa_engine: OpaEngine, entrypoint: str, payload: dict[str, Any]
) -> None:
    embedded = engine.decide(entrypoint, payload)
    over_http = opa_engine.decide(entrypoint, payload)
    assert ENGINE_ERROR not in [r.code for r in embedded.reasons]  # a real decision, not a failure
    assert outcome(over_http) == outcome(embedded)
    assert (embedded.engine, over_http.engine) == ("regorus", "opa")


def test_the_table_covers_allow_and_deny_on_every_entrypoint(engine: RegorusEngine) -> None:
    seen = {(ep, engine.decide(ep, payload).allow) for ep, payload in TABLE.values()}
    entrypoints = ["ftgate.dataset", "ftgate.training", "ftgate.authz"]
    assert seen == {(ep, allow) for ep in entrypoints for allow in [True, False]}
    many = [len(engine.decide(ep, payload).reasons) for ep, payload in TABLE.values()]
    assert max(many) >= 8


def test_a_real_opa_server_agrees(engine: RegorusEngine) -> None:
    url = os.environ.get("FTGATE_TEST_OPA_URL")
    if not url:
        pytest.skip("set FTGATE_TEST_OPA_URL to an OPA server serving policies/ (docker/compose.yaml)")
    real = OpaEngine(url, POLICY_DIR)
    real.check()  # it serves this very bundle
    differing = [
        name
        for name, (entrypoint, payload) in TABLE.items()
        if outcome(real.decide(entrypoint, payload)) != outcome(engine.decide(entrypoint, payload))
    ]
    assert differing == []
