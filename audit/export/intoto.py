"""in-toto Statement v1 with a SLSA provenance v1 predicate, signed in a DSSE envelope.

`intoto` is the envelope (audit/dsse.py) signed with the adapter-signing key, which cosign,
slsa-verifier and in-toto's tools take; `intoto-statement` is the bare statement inside it.

Subjects are the adapter's files with their SHA-256 digests; the resolved dependencies are what the
training run consumed: the redacted dataset (never the raw one, which ftgate does not keep), the base
model weights and the policy bundle that allowed the run. Supply-chain tools (slsa-verifier, in-toto,
GUAC) read this shape; see https://slsa.dev/spec/v1.0/provenance.
"""

from __future__ import annotations

import json
from typing import Any

from audit.dsse import ENVELOPE_MEDIA_TYPE, INTOTO_PAYLOAD_TYPE, sign_envelope
from audit.errors import AuditError
from audit.export.base import Exporter
from audit.signer import Signer

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "https://ftgate.dev/lora-fine-tune/v1"


def _versions(raw: Any) -> dict[str, str]:
    # SLSA's builder.version is a map of strings; keep whatever the worker recorded, as text.
    return {str(k): str(v) for k, v in (raw or {}).items()}


def _signature(lineage: dict[str, Any]) -> list[dict[str, Any]]:
    signed = lineage.get("model_signature")
    if not signed:
        return []
    return [
        {
            "name": "model-signing-bundle",
            "uri": f"ftgate:adapter/{lineage['adapter']['id']}/model-signing",
            "digest": {"sha256": signed["bundle_sha256"]},
            "annotations": {"library": signed["library"], "public_key_sha256": signed["public_key_sha256"]},
        }
    ]


def statement(lineage: dict[str, Any]) -> dict[str, Any]:
    """The in-toto statement as a dict (JSON field names as the protobuf definitions spell them)."""
    adapter, dataset, training = lineage["adapter"], lineage["dataset"], lineage["training"]
    base, policy = lineage["base_model"], lineage["policy"]
    bundles = sorted({d["bundle_sha256"] for d in policy.values()})
    dependencies: list[dict[str, Any]] = [
        {
            "name": f"dataset/{dataset['name']}",
            "uri": f"ftgate:dataset/{dataset['dataset_id']}",
            "digest": {"sha256": training["trained_on_sha256"]},
            "mediaType": "application/jsonl",
            "annotations": {
                "redacted": True,
                "records": dataset["records"],
                "classification": dataset["classification"],
                "purpose": dataset["purpose"],
                "approvers": [a["approver"] for a in lineage["approvals"] if a["verdict"] == "approved"],
            },
        },
        {
            "name": f"base-model/{base['name']}",
            "uri": f"ftgate:model/{base['name']}",
            "digest": {"sha256": base["verified_weights_sha256"]},
        },
    ]
    dependencies += [
        {"name": "policy-bundle", "uri": f"ftgate:policy-bundle/{sha}", "digest": {"sha256": sha}}
        for sha in bundles
    ]
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": name, "digest": {"sha256": sha}} for name, sha in sorted(adapter["files"].items())
        ],
        "predicateType": SLSA_PROVENANCE_V1,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "job_id": training["job_id"],
                    "dataset_id": dataset["dataset_id"],
                    "base_model": base["name"],
                    "config": training["config"],
                },
                "internalParameters": {
                    "submitter": training["submitter"],
                    "policy_decisions": {
                        stage: {"decision_id": d["decision_id"], "allow": d["allow"], "engine": d["engine"]}
                        for stage, d in policy.items()
                    },
                },
                "resolvedDependencies": dependencies,
            },
            "runDetails": {
                "builder": {
                    # The deployment, named by its log (stable; not the worker process that ran it).
                    "id": f"ftgate:builder/{lineage['log']['origin']}",
                    "version": _versions(training.get("library_versions")),
                },
                "metadata": {
                    "invocationId": training["job_id"],
                    "startedOn": training["started_at"],
                    "finishedOn": adapter["registered_at"],
                },
                "byproducts": _signature(lineage)
                + [
                    {
                        "name": "ftgate-audit-log-head",
                        "uri": f"ftgate:audit-log/{lineage['log']['size']}",
                        "digest": {"sha256": lineage["log"]["head_hash"]},
                    },
                    {
                        "name": "adapter-manifest",
                        "uri": f"ftgate:adapter/{adapter['id']}/manifest",
                        "digest": {"sha256": adapter["manifest_sha256"]},
                    },
                ],
            },
        },
    }


class InTotoStatementExporter(Exporter):
    media_type = INTOTO_PAYLOAD_TYPE

    @classmethod
    def name(cls) -> str:
        return "intoto-statement"

    def export(self, lineage: dict[str, Any], *, key: Signer | None = None) -> bytes:
        return (json.dumps(statement(lineage), indent=2) + "\n").encode()


class InTotoExporter(Exporter):
    media_type = ENVELOPE_MEDIA_TYPE
    signed = True

    @classmethod
    def name(cls) -> str:
        return "intoto"

    def export(self, lineage: dict[str, Any], *, key: Signer | None = None) -> bytes:
        if key is None:
            raise AuditError("the in-toto envelope is signed with the adapter-signing key; none was given")
        body = json.dumps(statement(lineage), separators=(",", ":")).encode()
        return (json.dumps(sign_envelope(INTOTO_PAYLOAD_TYPE, body, key), indent=2) + "\n").encode()
