"""OpenLineage run events for the three steps that made the adapter: scan, approval, training.

Each step is one run with a START and a COMPLETE event (the spec asks for both), built with
openlineage-python's own models so the library's validators run on every field. The file is JSON
Lines, one event per line, as OpenLineage's file transport writes it and as Marquez or any other
consumer accepts them one by one. Run ids are UUIDv5 of the log entry that records the step, so the
same log always exports the same runs.
"""

from __future__ import annotations

import uuid
from typing import Any

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import dataset_version_dataset, documentation_job, job_type_job
from openlineage.client.serde import Serde

NAMESPACE = "ftgate"
PRODUCER = "https://ftgate.dev/producer/ftgate"
_RUN_NAMESPACE = uuid.UUID("0b4c2f8e-6a1d-4e3b-9f57-2d8c1e6a9b30")


def _dataset(cls: type[InputDataset] | type[OutputDataset], name: str, version: str) -> Any:
    return cls(
        namespace=NAMESPACE,
        name=name,
        facets={"version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=version)},
    )


def _job(name: str, kind: str, description: str) -> Job:
    return Job(
        namespace=NAMESPACE,
        name=name,
        facets={
            "jobType": job_type_job.JobTypeJobFacet(
                processingType="BATCH", integration="FTGATE", jobType=kind
            ),
            "documentation": documentation_job.DocumentationJobFacet(description=description),
        },
    )


def _entry(lineage: dict[str, Any], action: str, nth: int = 0) -> dict[str, Any]:
    found = [e for e in lineage["log"]["entries"] if e["action"] == action]
    return found[nth]


def _run(
    entry_hash: str,
    job: Job,
    start: str,
    end: str,
    inputs: list[InputDataset],
    outputs: list[OutputDataset],
    state: RunState = RunState.COMPLETE,
) -> list[RunEvent]:
    run = Run(runId=str(uuid.uuid5(_RUN_NAMESPACE, entry_hash)))
    return [
        RunEvent(
            eventType=RunState.START, eventTime=start, run=run, job=job, inputs=inputs, producer=PRODUCER
        ),
        RunEvent(
            eventType=state,
            eventTime=end,
            run=run,
            job=job,
            inputs=inputs,
            outputs=outputs,
            producer=PRODUCER,
        ),
    ]


def events(lineage: dict[str, Any]) -> list[RunEvent]:
    """The run events, in the order the steps happened."""
    adapter, dataset, training, base = (
        lineage["adapter"],
        lineage["dataset"],
        lineage["training"],
        lineage["base_model"],
    )
    raw = _dataset(InputDataset, f"uploads/{dataset['raw_sha256']}", dataset["raw_sha256"])
    redacted_name = f"datasets/{dataset['dataset_id']}"
    redacted_out = _dataset(OutputDataset, redacted_name, dataset["redacted_sha256"])
    redacted_in = _dataset(InputDataset, redacted_name, training["trained_on_sha256"])
    model_in = _dataset(InputDataset, f"models/{base['name']}", base["verified_weights_sha256"])
    adapter_out = _dataset(OutputDataset, f"adapters/{adapter['id']}", adapter["manifest_sha256"])

    uploaded = _entry(lineage, "dataset.uploaded")
    out = _run(
        uploaded["entry_hash"],
        _job(
            "dataset.scan", "SCAN", "Presidio scan and redaction of an upload; only the redacted copy is kept"
        ),
        uploaded["time"],
        uploaded["time"],
        [raw],
        [redacted_out],
    )
    counts: dict[str, int] = {}
    for review in lineage["approvals"]:
        action = f"dataset.{review['verdict']}"
        entry = _entry(lineage, action, counts.get(action, 0))
        counts[action] = counts.get(action, 0) + 1
        out += _run(
            entry["entry_hash"],
            _job(
                "dataset.approval",
                "APPROVAL",
                f"four-eyes review by {review['approver']}: {review['verdict']}",
            ),
            review["at"],
            review["at"],
            [_dataset(InputDataset, redacted_name, review["redacted_sha256"])],
            [],
            RunState.COMPLETE if review["verdict"] == "approved" else RunState.FAIL,
        )
    started = _entry(lineage, "job.started")
    out += _run(
        started["entry_hash"],
        _job("adapter.training", "TRAINING", f"LoRA fine-tune of {base['name']} (job {training['job_id']})"),
        training["started_at"],
        adapter["registered_at"],
        [redacted_in, model_in],
        [adapter_out],
    )
    return out


def export_jsonl(lineage: dict[str, Any]) -> bytes:
    """The events as JSON Lines."""
    return "".join(Serde.to_json(e) + "\n" for e in events(lineage)).encode()
