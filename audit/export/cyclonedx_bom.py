"""CycloneDX 1.6 ML-BOM: the adapter as a machine-learning-model component with a model card.

The BOM names the adapter, its files, the base model and the redacted dataset as components, with
SHA-256 hashes, and records that the adapter depends on the other two. The model card carries the
training approach, the dataset reference, the training metrics and the governance facts (scan,
approvals, policy decisions) as properties. See https://cyclonedx.org/capabilities/mlbom/.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from audit.export.base import Exporter
from audit.signer import Signer

SPEC_VERSION = "1.6"
# A fixed namespace so exporting the same lineage twice yields the same serial number.
_SERIAL_NAMESPACE = uuid.UUID("6f1d2a57-52b5-4f0c-9d3e-0c6a5b4f7a11")


def _sha256(value: str) -> list[dict[str, str]]:
    return [{"alg": "SHA-256", "content": value}]


def _props(prefix: str, values: dict[str, Any]) -> list[dict[str, str]]:
    """CycloneDX properties are name/value strings; non-strings are written as compact JSON."""
    out = []
    for key, value in values.items():
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
        out.append({"name": f"{prefix}:{key}", "value": text})
    return out


def bom(lineage: dict[str, Any]) -> dict[str, Any]:
    """The CycloneDX BOM as a dict."""
    adapter, dataset, training = lineage["adapter"], lineage["dataset"], lineage["training"]
    base, policy, log = lineage["base_model"], lineage["policy"], lineage["log"]
    adapter_ref, base_ref, data_ref = (
        f"adapter:{adapter['id']}",
        f"base-model:{base['name']}",
        f"dataset:{dataset['dataset_id']}",
    )
    file_refs = {name: f"{adapter_ref}/{name}" for name in sorted(adapter["files"])}
    metrics = adapter.get("metrics") or {}
    adapter_component: dict[str, Any] = {
        "type": "machine-learning-model",
        "bom-ref": adapter_ref,
        "name": adapter["id"],
        "description": f"LoRA adapter for {base['name']} trained by ftgate job {training['job_id']}",
        "hashes": _sha256(adapter["manifest_sha256"]),
        "modelCard": {
            "modelParameters": {
                "approach": {"type": "supervised"},
                "task": "text-generation",
                "architectureFamily": "lora-adapter",
                "modelArchitecture": f"LoRA on {base['name']}",
                "datasets": [{"ref": data_ref}],
                "inputs": [{"format": "text"}],
                "outputs": [{"format": "text"}],
            },
            "quantitativeAnalysis": {
                "performanceMetrics": [
                    {"type": str(name), "value": str(value), "slice": "training"}
                    for name, value in sorted(metrics.items())
                    if isinstance(value, int | float | str)
                ]
            },
            "considerations": {
                "useCases": [f"dataset purpose: {dataset['purpose']}"],
                "technicalLimitations": [
                    "trained only on the redacted dataset; PII placeholders appear where values were removed"
                ],
            },
            "properties": [
                *_props("ftgate:training", {"job_id": training["job_id"], "config": training["config"]}),
                *_props("ftgate:policy", {stage: d for stage, d in policy.items()}),
                *_props("ftgate:log", {"size": log["size"], "head_hash": log["head_hash"]}),
            ],
        },
        "components": [
            {"type": "file", "bom-ref": ref, "name": name, "hashes": _sha256(adapter["files"][name])}
            for name, ref in file_refs.items()
        ],
    }
    return {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": uuid.uuid5(_SERIAL_NAMESPACE, f"{adapter['id']}:{log['head_hash']}").urn,
        "version": 1,
        "metadata": {
            "timestamp": lineage["generated_at"],
            "tools": {"components": [{"type": "application", "name": "ftgate"}]},
            # The BOM describes the adapter; what it was made from are its components.
            "component": adapter_component,
        },
        "components": [
            {
                "type": "machine-learning-model",
                "bom-ref": base_ref,
                "name": base["name"],
                "hashes": _sha256(base["verified_weights_sha256"]),
            },
            {
                "type": "data",
                "bom-ref": data_ref,
                "name": dataset["name"],
                "hashes": _sha256(dataset["redacted_sha256"]),
                # By name: LicenseRef- ids and ids in other case are not in CycloneDX's SPDX enum.
                **(
                    {"licenses": [{"license": {"name": dataset["licence"]}}]}
                    if dataset.get("licence")
                    else {}
                ),
                "data": [
                    {
                        "type": "dataset",
                        "name": dataset["name"],
                        "classification": dataset["classification"],
                        "sensitiveData": sorted(lineage["scan"].get("entities", {})),
                        "description": (
                            f"{dataset['records']} records, redacted by ftgate before storage; "
                            "the raw upload was hashed and discarded"
                        ),
                        "governance": {
                            "owners": [{"contact": {"name": dataset["uploader"]}}],
                            "stewards": [
                                {"contact": {"name": a["approver"]}}
                                for a in lineage["approvals"]
                                if a["verdict"] == "approved"
                            ],
                        },
                    }
                ],
                "properties": _props(
                    "ftgate:dataset",
                    {"raw_sha256": dataset["raw_sha256"], "team": dataset["team"], "scan": lineage["scan"]},
                ),
            },
        ],
        "dependencies": [
            {"ref": adapter_ref, "dependsOn": [base_ref, data_ref]},
            {"ref": base_ref, "dependsOn": []},
            {"ref": data_ref, "dependsOn": []},
        ],
    }


class CycloneDxExporter(Exporter):
    media_type = "application/vnd.cyclonedx+json"

    @classmethod
    def name(cls) -> str:
        return "cyclonedx"

    def export(self, lineage: dict[str, Any], *, key: Signer | None = None) -> bytes:
        return (json.dumps(bom(lineage), indent=2) + "\n").encode()
