"""Policy latency, side by side: the embedded regorus engine and the OPA backend over HTTP.

    .venv/bin/python benchmarks/policy_bench.py [--n 500] [--submits 200]

1. `decide()` latency per entrypoint, p50/p99, embedded vs OPA-over-HTTP, with ratios.
2. Where the OPA time goes: the loopback HTTP floor, the bare Data API call, the bundle re-check;
   and the embedded engine's own steps (stat check, clone, input, evaluation).
3. `submit_job` (authz + training decisions, decision record, job row, audit entries) on a temporary
   SQLite home: without policy, embedded, OPA.

The OPA server is the test double (tests/unit/policy/opa_data_api.py: FastAPI + uvicorn on
127.0.0.1, evaluating with regorus), NOT a real OPA: the HTTP figures are the backend's protocol
cost plus a Python server's; a Go OPA server answers faster and evaluates differently. Loops are
bounded; nothing is asserted.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from gateway.logging import configure_logging
from gateway.policy.engine import PolicyEngine
from gateway.policy.opa_backend import OpaEngine
from gateway.policy.regorus_backend import RegorusEngine
from gateway.settings import REPO_ROOT, Settings

sys.path.insert(0, str(REPO_ROOT / "tests" / "unit" / "policy"))
from opa_data_api import serve  # noqa: E402 - a test helper, found through the path set above

POLICY_DIR = REPO_ROOT / "policies"
SHA, OLD_SHA = "9f2c" * 16, "0b1c" * 16  # as in examples/policy-inputs/

EXAMPLES = REPO_ROOT / "examples" / "policy-inputs"  # the inputs tests/unit/policy/test_engine.py uses
TRAINING_INPUT: dict[str, Any] = json.loads((EXAMPLES / "training.json").read_text())
TRAINING_DENY = copy.deepcopy(TRAINING_INPUT)
TRAINING_DENY["approvals"][1]["redacted_sha256"] = OLD_SHA
TRAINING_DENY["config"]["lora_r"] = 128
DATASET_DENY = {
    "subject": {"name": "ada", "role": "submitter", "team": "ml"},
    "dataset": {"name": "d", "team": "ml", "purpose": "ads", "classification": "top", "records": 3},
    "scan": {"entities": {}, "records_changed": 0, "residual_findings": 2},
}
AUTHZ_ALLOW = {
    "subject": {"name": "ada", "role": "submitter", "team": "ml"},
    "action": "jobs.submit",
    "resource": {"type": "job", "team": "ml", "owner": "ada"},
}
CASES = [
    ("training allow", "ftgate.training", TRAINING_INPUT),
    ("training deny", "ftgate.training", TRAINING_DENY),
    ("dataset deny", "ftgate.dataset", DATASET_DENY),
    ("authz allow", "ftgate.authz", AUTHZ_ALLOW),
]


def timings_ms(fn: Callable[[], object], n: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def decisions(embedded: RegorusEngine, opa: OpaEngine, n: int) -> None:
    print(f"\n1. decide() latency, ms (n={n} each after {n // 10} warm-up)")
    print(
        f"{'case':16} {'reasons':>7} | {'embedded p50':>12} {'p99':>7} | {'opa-http p50':>12} {'p99':>7} | "
        f"{'ratio p50':>9} {'p99':>7}"
    )
    for label, entrypoint, payload in CASES:
        a, b = embedded.decide(entrypoint, payload), opa.decide(entrypoint, payload)
        assert (a.allow, a.reasons) == (b.allow, b.reasons), f"{label}: the backends disagree"
        emb = timings_ms(partial(embedded.decide, entrypoint, payload), n, n // 10)
        http = timings_ms(partial(opa.decide, entrypoint, payload), n, n // 10)
        print(
            f"{label:16} {len(a.reasons):>7} | {p(emb, 50):>12.3f} {p(emb, 99):>7.3f} | "
            f"{p(http, 50):>12.3f} {p(http, 99):>7.3f} | {p(http, 50) / p(emb, 50):>8.1f}x "
            f"{p(http, 99) / p(emb, 99):>6.1f}x"
        )


def breakdown(embedded: RegorusEngine, opa: OpaEngine, n: int) -> None:
    client = opa._client
    bundle = opa.bundle
    assert bundle is not None
    rows = [
        ("HTTP floor: GET /health", timings_ms(client.check_health, n, n // 10)),
        (
            "bare POST /v1/data/ftgate/training/decision",
            timings_ms(lambda: client.query_rule(TRAINING_INPUT, "ftgate.training", "decision"), n, n // 10),
        ),
        (
            "OpaEngine.decide (same request + checks)",
            timings_ms(lambda: opa.decide("ftgate.training", TRAINING_INPUT), n, n // 10),
        ),
        ("bundle re-check (GET policies + data)", timings_ms(lambda: opa._differences(bundle), n // 10, 3)),
    ]
    state = embedded._current()
    prototype = embedded._prototype(state)
    text = json.dumps(TRAINING_INPUT)

    def engine_work() -> None:  # what RegorusEngine.evaluate does once the bundle is known fresh
        clone = prototype.clone()
        clone.set_input_json(text)
        clone.eval_rule("data.ftgate.training.decision")

    rows += [
        ("embedded: bundle stat check", timings_ms(state.stale, n, n // 10)),
        ("embedded: clone + set_input_json + eval_rule", timings_ms(engine_work, n, n // 10)),
        (
            "RegorusEngine.decide (same + checks)",
            timings_ms(lambda: embedded.decide("ftgate.training", TRAINING_INPUT), n, n // 10),
        ),
    ]
    print("\n2. where the time goes (training allow), ms")
    print(f"{'step':46} {'p50':>8} {'p99':>8}")
    for label, values in rows:
        print(f"{label:46} {p(values, 50):>8.3f} {p(values, 99):>8.3f}")


class NoPolicy(PolicyEngine):
    """Allows everything: the job-submit baseline without any policy evaluation."""

    @classmethod
    def name(cls) -> str:
        return "none"

    @classmethod
    def from_settings(cls, settings: Settings) -> NoPolicy:
        return cls()

    @property
    def bundle_sha256(self) -> str:
        return "0" * 64

    def evaluate(self, entrypoint: str, input: dict[str, Any], rule: str = "decision") -> Any:
        return {"allow": True, "reasons": []}


def submits(engines: dict[str, PolicyEngine], n: int) -> None:
    from gateway.models import Approval, BaseModelEntry, Dataset, DatasetStatus, Role, User, Verdict
    from gateway.runtime import Runtime
    from gateway.services.jobs import submit_job
    from trainer.config import TrainConfig

    with tempfile.TemporaryDirectory() as home:
        rt = Runtime(Settings(home=Path(home), policy_dir=POLICY_DIR))
        rt.upgrade_schema()
        alice = User(name="alice", role=Role.submitter, team="ml", token_sha256="a" * 64)
        with rt.session() as session:
            session.add(alice)
            session.add(User(name="grace", role=Role.approver, team="compliance", token_sha256="b" * 64))
            session.add(
                BaseModelEntry(
                    name="smollm2-135m-instruct",
                    path="/nowhere",
                    weights_sha256=OLD_SHA,
                    parameters=TRAINING_INPUT["base_model"]["parameters"],
                )
            )
            dataset = Dataset(
                name="support-tone",
                purpose="style",
                classification="internal",
                team="ml",
                uploader="alice",
                status=DatasetStatus.approved,
                format="chat",
                records=250,
                raw_sha256=SHA,
                redacted_sha256=SHA,
                redacted_bytes=1000,
                scan_report={},
                decision_id="dec_bench",
            )
            session.add(dataset)
            session.flush()
            session.add(
                Approval(
                    dataset_id=dataset.id,
                    approver="grace",
                    verdict=Verdict.approved,
                    note="",
                    redacted_sha256=SHA,
                )
            )
        config = TrainConfig()

        def submit() -> None:
            with rt.session() as session:
                result = submit_job(
                    rt=rt,
                    session=session,
                    actor=alice,
                    dataset_id=dataset.id,
                    base_model="smollm2-135m-instruct",
                    config=config,
                )
                assert result.job is not None

        results: dict[str, list[float]] = {name: [] for name in engines}
        rounds = 5  # interleaved, so a growing database weighs on every engine alike
        for _ in range(rounds):
            for name, engine in engines.items():
                rt.policy = engine  # instead of the one the Runtime would build from its settings
                results[name] += timings_ms(submit, n // rounds, 2)
    print(f"\n3. submit_job on a temporary SQLite home, ms (n={n} each; 2 decisions per submit)")
    print(f"{'policy':10} {'p50':>8} {'p99':>8} {'p50 vs none':>12}")
    base = p(results["none"], 50)
    for name, values in results.items():
        print(f"{name:10} {p(values, 50):>8.3f} {p(values, 99):>8.3f} {p(values, 50) / base:>11.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=500, help="timed decisions per case and engine")
    parser.add_argument("--submits", type=int, default=200, help="timed job submits per policy setting")
    args = parser.parse_args()
    configure_logging("ERROR")

    start = time.perf_counter()
    embedded = RegorusEngine(POLICY_DIR)
    embedded_ms = (time.perf_counter() - start) * 1000
    with serve(POLICY_DIR) as server:
        start = time.perf_counter()
        opa = OpaEngine(server.url, POLICY_DIR)
        opa_ms = (time.perf_counter() - start) * 1000
        print("policy latency: embedded regorus vs the OPA backend over HTTP")
        print(
            f"OPA server: the test double at {server.url} (loopback; FastAPI+uvicorn evaluating with "
            "regorus), NOT a real OPA"
        )
        print(
            f"start-up: RegorusEngine {embedded_ms:.1f} ms (read, compile, analyse); "
            f"OpaEngine {opa_ms:.1f} ms (read, bundle check over HTTP)"
        )
        decisions(embedded, opa, args.n)
        breakdown(embedded, opa, args.n)
        submits({"none": NoPolicy(), "embedded": embedded, "opa-http": opa}, args.submits)
        opa.close()


if __name__ == "__main__":
    main()
