"""Policy tooling for compliance and auditors: bundle, evaluate, test, replay a stored decision."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from sqlmodel import Session

from gateway.contract import ResourceId, require
from gateway.errors import InvalidInput, NotFound
from gateway.models import PolicyDecisionRecord, User
from gateway.policy.bundle import OPA_MANIFEST, PolicyBundle
from gateway.policy.engine import Decision
from gateway.policy.regorus_backend import RegorusEngine
from gateway.policy.testing import RegoTestSuite
from gateway.runtime import Runtime
from gateway.services.authz import authorize
from gateway.services.datasets import admission_record, get_dataset

ENTRYPOINTS = ("ftgate.dataset", "ftgate.training", "ftgate.authz", "ftgate.release", "ftgate.approvals")


def bundle_manifest(*, rt: Runtime) -> dict[str, Any]:
    """The bundle now in the policy directory: its hash and every file with its digest."""
    bundle = PolicyBundle.load(rt.settings.policy_dir)
    return {
        "id": bundle.sha256,
        "status": "loaded",
        "policy_dir": str(rt.settings.policy_dir),
        "opa_manifest": bundle.opa_manifest_state(),
        **bundle.manifest(),
    }


def write_opa_manifest(*, rt: Runtime) -> dict[str, Any]:
    """Write the policy directory's `.manifest` (OPA's) for the bundle now in it."""
    bundle = PolicyBundle.load(rt.settings.policy_dir)
    manifest = bundle.opa_manifest()
    path = rt.settings.policy_dir / OPA_MANIFEST
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, path)
    return {"id": bundle.sha256, "status": "written", "path": str(path), **manifest}


def evaluate(*, rt: Runtime, entrypoint: str, input: Any) -> Decision:
    """Ask the configured engine, exactly as the gateway would; stores nothing."""
    if entrypoint not in ENTRYPOINTS:
        raise InvalidInput(f"unknown entrypoint {entrypoint!r}: choose one of {', '.join(ENTRYPOINTS)}")
    if not isinstance(input, dict):
        raise InvalidInput("the input must be a JSON object")
    return rt.policy.decide(entrypoint, input)


def run_tests(*, rt: Runtime, coverage: bool = False) -> dict[str, Any]:
    """Run every `test_` rule of the `*_test.rego` packages, as `opa test` would."""
    suite = RegoTestSuite(rt.settings.policy_dir, coverage=coverage)
    results = suite.run_all()
    failed = [r for r in results if not r.passed]
    report: dict[str, Any] = {
        "id": PolicyBundle.load(rt.settings.policy_dir).sha256,
        "status": "passed" if not failed else "failed",
        "passed": len(results) - len(failed),
        "failed": len(failed),
        "failures": [{"test": r.id, "error": r.error} for r in failed],
    }
    if coverage:
        report["coverage"] = [
            {"file": c.path, "percent": round(c.percent, 1), "not_covered": c.not_covered}
            for c in suite.coverage()
        ]
    return report


def _same(a: Decision, allow: bool, reasons: list[dict[str, str]]) -> bool:
    return a.allow == allow and [r.model_dump() for r in a.reasons] == reasons


def replay(*, rt: Runtime, session: Session, actor: User, decision_id: str) -> dict[str, Any]:
    """Re-evaluate a stored decision with the bundle that made it and with today's bundle."""
    authorize(rt=rt, session=session, actor=actor, action="policy.replay", resource_type="decision")
    row = session.get(PolicyDecisionRecord, require(ResourceId, decision_id, "decision_id"))
    if row is None:
        raise NotFound(f"no policy decision {decision_id!r}")
    with tempfile.TemporaryDirectory(prefix="ftgate-replay-") as tmp:
        policy_dir = rt.policy.archive.materialize(row.bundle_sha256, Path(tmp))
        then = RegorusEngine(policy_dir).decide(row.entrypoint, row.input)
    today = rt.policy.decide(row.entrypoint, row.input)
    recorded = {
        "allow": row.allow,
        "reasons": row.reasons,
        "bundle_sha256": row.bundle_sha256,
        "engine": row.engine,
    }
    reproduced = _same(then, row.allow, row.reasons) and then.bundle_sha256 == row.bundle_sha256
    return {
        "id": row.id,
        "status": "reproduced" if reproduced else "not_reproduced",
        "entrypoint": row.entrypoint,
        "decided_at": row.created_at,
        "recorded": recorded,
        "replayed": then.model_dump(mode="json") | {"same": reproduced},
        "today": today.model_dump(mode="json") | {"same": _same(today, row.allow, row.reasons)},
    }


def check_dataset(*, rt: Runtime, session: Session, actor: User, dataset_id: str) -> dict[str, Any]:
    """Would today's admission policy still admit this dataset? Every reason, nothing created."""
    dataset = get_dataset(rt=rt, session=session, actor=actor, dataset_id=dataset_id)
    admission = admission_record(session=session, dataset=dataset)
    today = rt.policy.decide(admission.entrypoint, admission.input)
    return {
        "id": dataset.id,
        "status": "admissible" if today.allow else "not_admissible",
        "decision": today.model_dump(mode="json"),
        "admitted_with_bundle": admission.bundle_sha256,
    }
