"""Lineage exports, adapter signatures, revocation and point-in-time state, through the CLI."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ftgate_testing import EXAMPLE, Home
from lineage_validators import VALIDATORS, verify_intoto_envelope

from audit.signer import KeyFileSigner
from gateway.api.app import create_app
from gateway.runtime import Runtime
from gateway.services.users import authenticate
from gateway.worker import run_worker


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def train(home: Home, *, seed: int = 3) -> dict[str, Any]:
    """Upload, approve, submit and train once; returns the ids and the times between the steps."""
    cli = home.cli
    ds = cli(
        "datasets", "upload", str(EXAMPLE), "--name=support-chats", "--purpose=style",
        "--classification=internal", token=home.alice,
    )  # fmt: skip
    before_approval = _now()
    cli("datasets", "approve", ds["id"], "--note", "looks clean", token=home.bob)
    job = submit(home, ds["id"], seed=seed)
    assert job["status"] == "queued", job
    done = cli("worker", "--once", token=home.admin)["data"]
    assert [j["status"] for j in done] == ["succeeded"], done
    adapter_id = cli("jobs", "show", job["id"], token=home.alice)["adapter_id"]
    return {"dataset": ds, "job": job, "adapter_id": adapter_id, "before_approval": before_approval}


def submit(home: Home, dataset_id: str, *, seed: int = 3, ok: bool = True) -> Any:
    return home.cli(
        "jobs", "submit", "--dataset", dataset_id, "--base-model", "tiny-llama", "--max-steps", "2",
        "--max-seq-len", "64", "--seed", str(seed), token=home.alice, ok=ok,
    )  # fmt: skip


def test_every_export_format_validates_with_its_own_library(home: Home, tmp_path: Path) -> None:
    run = train(home)
    adapter = home.cli("adapters", "show", run["adapter_id"], token=home.carol)
    docs = {}
    for fmt, validate in VALIDATORS.items():
        out = tmp_path / f"lineage.{fmt}"
        shown = home.cli(
            "audit",
            "export",
            "--adapter",
            run["adapter_id"],
            "--format",
            fmt,
            "-o",
            str(out),
            token=home.carol,
        )
        assert shown["status"] == "exported" and shown["format"] == fmt
        docs[fmt] = validate(out.read_bytes())

    ds = run["dataset"]
    # The provenance is a DSSE envelope that securesystemslib verifies with the adapter-signing key.
    public = KeyFileSigner(home.settings().adapter_key_path).public_key()
    statement = verify_intoto_envelope((tmp_path / "lineage.intoto").read_bytes(), public)
    assert statement == docs["intoto"] == docs["intoto-statement"]
    assert statement["predicate"]["runDetails"]["builder"]["id"].startswith(
        "ftgate:builder/ftgate.local/audit/"
    )
    assert {s["name"]: s["digest"]["sha256"] for s in statement["subject"]} == adapter["files"]
    deps = statement["predicate"]["buildDefinition"]["resolvedDependencies"]
    assert deps[0]["digest"]["sha256"] == ds["redacted_sha256"] and deps[0]["annotations"]["redacted"]
    assert deps[1]["name"] == "base-model/tiny-llama"
    assert deps[2]["digest"]["sha256"] == run["job"]["decision"]["bundle_sha256"]
    assert ds["raw_sha256"] not in json.dumps(deps)  # only the redacted data is a dependency

    bom = docs["cyclonedx"]
    model = bom["metadata"]["component"]
    assert model["type"] == "machine-learning-model" and model["modelCard"]["modelParameters"]["datasets"]
    assert {c["name"]: c["hashes"][0]["content"] for c in model["components"]} == adapter["files"]

    events = docs["openlineage"]
    assert [(e["job"]["name"], e["eventType"]) for e in events] == [
        ("dataset.scan", "START"), ("dataset.scan", "COMPLETE"),
        ("dataset.approval", "START"), ("dataset.approval", "COMPLETE"),
        ("adapter.training", "START"), ("adapter.training", "COMPLETE"),
    ]  # fmt: skip
    assert events[-1]["outputs"][0]["name"] == f"adapters/{run['adapter_id']}"

    report = (tmp_path / "lineage.html").read_text()
    assert "Audit log verified" in report and run["adapter_id"] in report and "looks clean" in report


@pytest.mark.parametrize("fmt", ["yaml", "", "JSON"])
def test_unknown_export_format_is_refused_and_writes_nothing(home: Home, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "out"
    failed = home.cli(
        "audit", "export", "--adapter", "ad_x", "--format", fmt, "-o", str(out), token=home.carol, ok=False
    )
    assert failed["error"]["code"] == "invalid_input" and "intoto" in failed["error"]["message"]
    assert not out.exists()


def test_adapter_signature_verifies_and_names_what_changed(home: Home) -> None:
    run = train(home)
    ok = home.cli("adapters", "verify", run["adapter_id"], token=home.carol)
    assert ok["status"] == "verified" and ok["library"].startswith("model-signing ")
    assert (home.path / "adapter-signing-key.pem").stat().st_mode & 0o077 == 0
    path = Path(home.cli("adapters", "show", run["adapter_id"], token=home.carol)["path"])
    # Cumulative: each alteration adds one named difference to the refusal.
    table = [
        (
            lambda: (path / "adapter_model.safetensors").write_bytes(b"poisoned"),
            "adapter_model.safetensors changed",
        ),
        (lambda: (path / "adapter_config.json").unlink(), "adapter_config.json is missing"),
        (lambda: (path / "backdoor.py").write_text("import os"), "backdoor.py was added"),
    ]
    for tamper, reason in table:
        tamper()
        failed = home.cli("adapters", "verify", run["adapter_id"], token=home.carol, ok=False)
        assert failed["error"]["code"] == "integrity_error" and reason in failed["error"]["message"]


@pytest.mark.parametrize("store", ["home", pytest.param("pg_home", marks=pytest.mark.postgres)])
def test_revocation_quarantines_adapters_and_stops_training(
    store: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    home: Home = request.getfixturevalue(store)
    cli = home.cli
    run = train(home)
    ds_id = run["dataset"]["id"]
    queued = submit(home, ds_id, seed=4)  # allowed now, trained after the revocation: must fail
    assert queued["status"] == "queued"

    for token, code in [(home.alice, "forbidden"), (home.carol, "forbidden")]:
        assert cli("datasets", "revoke", ds_id, "--note", "x", token=token, ok=False)["error"]["code"] == code
    assert cli("datasets", "revoke", ds_id, "--note", "  ", token=home.bob, ok=False)["error"]["code"] == (
        "invalid_input"
    )
    revoked = cli("datasets", "revoke", ds_id, "--note", "consent withdrawn", token=home.bob)
    assert revoked["status"] == "revoked" and revoked["quarantined"] == [run["adapter_id"]]
    again = cli("datasets", "revoke", ds_id, "--note", "twice", token=home.admin, ok=False)
    assert again["error"]["code"] == "conflict"
    assert cli("datasets", "show", ds_id, token=home.carol)["status"] == "revoked"
    reviewed = cli("datasets", "approve", ds_id, "--note", "re-approve", token=home.dave, ok=False)
    assert reviewed["error"]["code"] == "conflict"

    assert cli("adapters", "show", run["adapter_id"], token=home.carol)["status"] == "quarantined"
    impact = cli("lineage", "impact", "--dataset", ds_id, token=home.carol)
    assert [(a["id"], a["status"]) for a in impact["data"]] == [(run["adapter_id"], "quarantined")]
    assert cli("lineage", "impact", "--dataset", "ds_nope", token=home.carol, ok=False)["error"]["code"] == (
        "not_found"
    )

    denied = submit(home, ds_id, seed=5, ok=False)
    assert denied["error"]["code"] == "policy_denied" and "revoked" in denied["error"]["message"]
    failed = cli("worker", "--once", token=home.admin, ok=False)["data"]
    assert [j["status"] for j in failed] == ["failed"] and "revoked" in failed[0]["error"]

    out = tmp_path / "lineage.html"
    cli(
        "audit",
        "export",
        "--adapter",
        run["adapter_id"],
        "--format",
        "html",
        "-o",
        str(out),
        token=home.carol,
    )
    assert "Quarantined: dataset revoked by bob" in out.read_text()
    assert cli("audit", "verify", token=home.carol)["status"] == "verified"


def test_state_at_a_moment_comes_from_the_log(home: Home) -> None:
    cli = home.cli
    run = train(home)
    ds_id, adapter_id = run["dataset"]["id"], run["adapter_id"]
    after_training = _now()
    cli("datasets", "revoke", ds_id, "--note", "consent withdrawn", token=home.bob)

    def state(at: str) -> tuple[dict[str, str], dict[str, str]]:
        s = cli("audit", "state", "--at", at, token=home.carol)
        return {d["id"]: d["status"] for d in s["datasets"]}, {a["id"]: a["status"] for a in s["adapters"]}

    table = [
        ("2000-01-01T00:00:00Z", {}, {}),
        (run["before_approval"], {ds_id: "pending_review"}, {}),
        (after_training, {ds_id: "approved"}, {adapter_id: "registered"}),
        (_now(), {ds_id: "revoked"}, {adapter_id: "quarantined"}),
    ]
    for at, datasets, adapters in table:
        assert state(at) == (datasets, adapters), at
    # A zone-less time is UTC; garbage is refused with the expected form.
    assert state(after_training.rstrip("Z"))[1] == {adapter_id: "registered"}
    bad = cli("audit", "state", "--at", "yesterday", token=home.carol, ok=False)
    assert bad["error"]["code"] == "invalid_input" and "ISO 8601" in bad["error"]["message"]
    assert cli("audit", "state", "--at", _now(), token=home.alice, ok=False)["error"]["code"] == "forbidden"


def test_the_exported_sample_stays_in_step_with_the_exporters(home: Home, tmp_path: Path) -> None:
    """Regenerate tests/unit/audit/data/lineage_sample.json with FTGATE_WRITE_LINEAGE_SAMPLE=1."""
    target = os.environ.get("FTGATE_WRITE_LINEAGE_SAMPLE")
    if not target:
        pytest.skip("set FTGATE_WRITE_LINEAGE_SAMPLE=1 to regenerate the unit tests' sample lineage")
    run = train(home)
    out = Path(__file__).parents[1] / "unit" / "audit" / "data" / "lineage_sample.json"
    out.parent.mkdir(exist_ok=True)
    home.cli("audit", "export", "--adapter", run["adapter_id"], "-o", str(out), token=home.carol)


def test_the_http_api_calls_the_same_services(home: Home, policy_dir: Path) -> None:
    run = train(home)
    ds_id, adapter_id = run["dataset"]["id"], run["adapter_id"]
    rt = Runtime(home.settings())
    client = TestClient(create_app(runtime=rt))

    def as_(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    r = client.get(f"/v1/adapters/{adapter_id}/verify", headers=as_(home.carol))
    assert r.status_code == 200 and r.json()["status"] == "verified"
    r = client.post(f"/v1/datasets/{ds_id}/revoke", json={"note": "x"}, headers=as_(home.alice))
    assert r.status_code == 403
    r = client.post(f"/v1/datasets/{ds_id}/revoke", json={"note": "consent withdrawn"}, headers=as_(home.bob))
    assert r.status_code == 200 and r.json()["quarantined"] == [adapter_id]
    r = client.get(f"/v1/datasets/{ds_id}/impact", headers=as_(home.carol))
    assert [(a["id"], a["status"]) for a in r.json()["data"]] == [(adapter_id, "quarantined")]
    r = client.get("/v1/audit/state", params={"at": _now()}, headers=as_(home.carol))
    assert r.json()["datasets"][0]["status"] == "revoked"
    assert client.get("/v1/audit/state", params={"at": "soon"}, headers=as_(home.carol)).status_code == 422
    r = client.get(
        f"/v1/adapters/{adapter_id}/lineage", params={"format": "cyclonedx"}, headers=as_(home.carol)
    )
    assert r.headers["content-type"].startswith("application/vnd.cyclonedx+json")
    VALIDATORS["cyclonedx"](r.content)
    rt.engine.dispose()


def test_an_adapter_finishing_after_its_data_was_revoked_is_born_quarantined(
    home: Home, policy_dir: Path
) -> None:
    cli = home.cli
    ds = cli(
        "datasets", "upload", str(EXAMPLE), "--name=support-chats", "--purpose=style",
        "--classification=internal", token=home.alice,
    )  # fmt: skip
    cli("datasets", "approve", ds["id"], "--note", "looks clean", token=home.bob)
    submit(home, ds["id"])
    rt = Runtime(home.settings())
    with rt.session() as session:
        admin = authenticate(rt=rt, session=session, token=home.admin)
    revoked: list[Any] = []

    def revoke_mid_training(job_id: str, event: dict[str, Any]) -> None:
        # Past the pre-training re-check, before registration: the window a revocation can fall in.
        if not revoked:
            revoked.append(cli("datasets", "revoke", ds["id"], "--note", "mid-training", token=home.bob))

    done = run_worker(rt=rt, actor=admin, once=True, progress=revoke_mid_training)
    rt.engine.dispose()
    assert revoked and revoked[0]["quarantined"] == [] and [j.status for j in done] == ["succeeded"]
    adapter_id = done[0].adapter_id
    assert adapter_id is not None
    assert cli("adapters", "show", adapter_id, token=home.carol)["status"] == "quarantined"
    impact = cli("lineage", "impact", "--dataset", ds["id"], token=home.carol)["data"]
    assert [(a["id"], a["status"], a["signed"]) for a in impact] == [(adapter_id, "quarantined", True)]
