"""The governed path end to end through the CLI: upload, redact, approve, decide, train, verify, export."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ftgate_testing import EXAMPLE, Home, audit_count

RAW_VALUES = ["maria.gonzalez@example.com", "Maria Gonzalez", "(212) 555-0178", "4111 1111 1111 1111"]


def upload(home: Home, path: Path = EXAMPLE, **overrides: str) -> dict:
    options = {"name": "support-chats", "purpose": "style", "classification": "internal", **overrides}
    args = [f"--{k}={v}" for k, v in options.items()]
    return home.cli("datasets", "upload", str(path), *args, token=home.alice)


def test_governed_fine_tune_end_to_end(home: Home, tmp_path: Path) -> None:
    cli = home.cli
    ds = upload(home)
    assert ds["status"] == "pending_review"
    assert ds["records"] == 40
    assert ds["raw_sha256"] == hashlib.sha256(EXAMPLE.read_bytes()).hexdigest()
    report = ds["scan_report"]
    assert report["records_changed"] > 0 and report["residual_findings"] == 0
    assert {"EMAIL_ADDRESS", "PHONE_NUMBER", "PERSON", "CREDIT_CARD"} <= set(report["entities"])
    assert not any(raw in json.dumps(report) for raw in RAW_VALUES)

    # Only redacted bytes are stored, under their hash; the download is exactly those bytes.
    out = tmp_path / "redacted.jsonl"
    cli("datasets", "download", ds["id"], "-o", str(out), token=home.bob)
    stored = out.read_bytes()
    assert hashlib.sha256(stored).hexdigest() == ds["redacted_sha256"]
    assert not any(raw.encode() in stored for raw in RAW_VALUES)
    assert b"<EMAIL_ADDRESS_" in stored and b"<PERSON_" in stored
    blobs = [p for p in (home.path / "blobs").rglob("*") if p.is_file()]
    assert [p.name for p in blobs] == [ds["redacted_sha256"]]

    # Four eyes: the uploader cannot approve; an approver can, bound to the redacted hash.
    denied = cli("datasets", "approve", ds["id"], "--note", "mine", token=home.alice, ok=False)
    assert denied["error"]["code"] == "forbidden"
    approval = cli("datasets", "approve", ds["id"], "--note", "looks clean", token=home.bob)
    assert approval["status"] == "approved" and approval["redacted_sha256"] == ds["redacted_sha256"]

    # A dry run decides and creates nothing.
    before = audit_count(home)
    dry = cli(
        "jobs", "submit", "--dataset", ds["id"], "--base-model", "tiny-llama", "--dry-run", token=home.alice
    )
    assert dry["status"] == "allowed" and dry["decision"]["allow"] is True
    assert audit_count(home) == before
    assert cli("jobs", "list", token=home.alice)["count"] == 0

    job = cli(
        "jobs",
        "submit",
        "--dataset",
        ds["id"],
        "--base-model",
        "tiny-llama",
        "--max-steps",
        "4",
        "--max-seq-len",
        "128",
        "--seed",
        "3",
        token=home.alice,
    )
    assert job["status"] == "queued"
    assert len(job["decision"]["bundle_sha256"]) == 64

    done = cli("worker", "--once", token=home.admin)["data"]
    assert [j["status"] for j in done] == ["succeeded"], done
    shown = cli("jobs", "show", job["id"], token=home.alice)
    assert shown["status"] == "succeeded" and shown["adapter_id"]
    events = cli("jobs", "logs", job["id"], token=home.alice)["data"]
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "verified" and "step" in kinds and kinds[-1] == "succeeded"

    adapter = cli("adapters", "show", shown["adapter_id"], token=home.carol)
    assert "adapter_model.safetensors" in adapter["files"]
    for name, digest in adapter["files"].items():
        assert hashlib.sha256((Path(adapter["path"]) / name).read_bytes()).hexdigest() == digest
    assert cli("adapters", "list", token=home.alice)["count"] == 1
    assert cli("adapters", "list", token=home.mallory)["count"] == 0

    verified = cli("audit", "verify", token=home.carol)
    assert verified["status"] == "verified" and verified["entries"] > 10

    lineage_file = tmp_path / "lineage.json"
    cli(
        "audit",
        "export",
        "--adapter",
        adapter["id"],
        "--format",
        "json",
        "-o",
        str(lineage_file),
        token=home.carol,
    )
    lineage = json.loads(lineage_file.read_text())
    assert lineage["dataset"]["raw_sha256"] == ds["raw_sha256"]
    assert lineage["dataset"]["redacted_sha256"] == ds["redacted_sha256"]
    assert lineage["training"]["trained_on_sha256"] == ds["redacted_sha256"]
    assert [a["approver"] for a in lineage["approvals"]] == ["bob"]
    assert lineage["policy"]["training"]["decision_id"] == job["decision"]["id"]
    assert lineage["policy"]["training"]["bundle_sha256"] == job["decision"]["bundle_sha256"]
    assert lineage["policy"]["pre_training_check"]["allow"] is True
    assert lineage["scan"]["entities"] == report["entities"]
    assert lineage["training"]["seed"] == 3 and lineage["training"]["config"]["max_steps"] == 4
    assert set(lineage["training"]["library_versions"]) >= {"torch", "transformers", "peft"}
    assert lineage["adapter"]["files"] == adapter["files"]
    assert len(lineage["base_model"]["weights_sha256"]) == 64
    assert lineage["log"]["verified"] is True


def test_training_request_is_denied_with_every_reason_and_creates_no_job(home: Home) -> None:
    ds = upload(home)
    denied = home.cli(
        "jobs",
        "submit",
        "--dataset",
        ds["id"],
        "--base-model",
        "gpt-17",
        "--lora-r",
        "512",
        token=home.alice,
        ok=False,
    )
    codes = {r["code"] for r in denied["error"]["details"]["reasons"]}
    assert {"DATASET_NOT_APPROVED", "BASE_MODEL_NOT_REGISTERED"} <= codes, codes
    assert any("lora_r" in r["message"] for r in denied["error"]["details"]["reasons"])
    assert home.cli("jobs", "list", token=home.alice)["count"] == 0

    # The approver who uploaded nothing may approve; a submitter from another team may not train on it.
    home.cli("datasets", "approve", ds["id"], "--note", "ok", token=home.bob)
    other = home.cli(
        "jobs", "submit", "--dataset", ds["id"], "--base-model", "tiny-llama", token=home.mallory, ok=False
    )
    assert other["error"]["code"] in {"forbidden", "policy_denied"}
    assert home.cli("jobs", "list", token=home.admin)["count"] == 0


def test_knowledge_purpose_is_refused_with_the_reason(home: Home) -> None:
    refused = home.cli(
        "datasets",
        "upload",
        str(EXAMPLE),
        "--name",
        "facts",
        "--purpose",
        "knowledge",
        "--classification",
        "internal",
        token=home.alice,
        ok=False,
    )
    assert refused["error"]["code"] == "dataset_rejected"
    reasons = refused["error"]["details"]["reasons"]
    assert any("RAG" in r["message"] or "retrieval" in r["message"].lower() for r in reasons)
    assert home.cli("datasets", "list", token=home.alice)["count"] == 0
    assert not (home.path / "blobs").exists() or not any(
        p.is_file() for p in (home.path / "blobs").rglob("*")
    )
