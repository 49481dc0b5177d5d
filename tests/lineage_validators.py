"""Check each lineage export with its format's own library, shared by unit and integration tests.

Each validator raises (AssertionError or the library's error) when the document is not valid, and
returns the parsed document for further assertions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from html.parser import HTMLParser
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from google.protobuf import json_format
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
from in_toto_attestation.v1.statement import Statement
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import dataset_version_dataset, documentation_job, job_type_job
from openlineage.client.serde import Serde
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey


def validate_intoto(content: bytes) -> dict[str, Any]:
    """Parse with the in-toto attestation protobufs (unknown fields are errors) and run their checks."""
    doc = json.loads(content)
    pb = json_format.ParseDict(doc, statement_pb2.Statement())  # type: ignore[attr-defined]
    Statement.copy_from_pb(pb).validate()
    assert pb.predicate_type == "https://slsa.dev/provenance/v1"
    provenance = json_format.ParseDict(doc["predicate"], provenance_pb2.Provenance())  # type: ignore[attr-defined]
    for rd in [*provenance.build_definition.resolved_dependencies, *provenance.run_details.byproducts]:
        ResourceDescriptor.copy_from_pb(rd).validate()
    assert provenance.run_details.metadata.started_on.seconds > 0
    return doc


def validate_intoto_envelope(content: bytes) -> dict[str, Any]:
    """A DSSE envelope (securesystemslib's model) of an in-toto statement that `validate_intoto` takes.

    The signature is checked where the key is known (`verify_intoto_envelope`)."""
    envelope = Envelope.from_dict(json.loads(content))
    assert envelope.payload_type == "application/vnd.in-toto+json"
    assert len(envelope.signatures) == 1
    return validate_intoto(envelope.payload)


def verify_intoto_envelope(content: bytes, public_key: ec.EllipticCurvePublicKey) -> dict[str, Any]:
    """The statement of an envelope that securesystemslib verifies with `public_key` (threshold 1)."""
    envelope = Envelope.from_dict(json.loads(content))
    [keyid] = list(envelope.signatures)
    key = SSlibKey.from_crypto(public_key, keyid=keyid, scheme="ecdsa-sha2-nistp256")
    envelope.verify([key], threshold=1)  # raises VerificationError
    return validate_intoto(envelope.payload)


def validate_cyclonedx(content: bytes) -> dict[str, Any]:
    """Validate against the CycloneDX 1.6 strict JSON schema with cyclonedx-python-lib."""
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(content.decode())
    assert error is None, str(error)
    return json.loads(content)


def _facets(raw: dict[str, Any] | None, kinds: Mapping[str, Callable[..., Any]]) -> dict[str, Any]:
    out = {}
    for name, value in (raw or {}).items():
        fields = {k: v for k, v in value.items() if not k.startswith("_")}
        out[name] = kinds[name](**fields)  # unknown facet or field -> KeyError / TypeError
    return out


def _dataset(cls: Any, raw: dict[str, Any]) -> Any:
    facets = _facets(raw.get("facets"), {"version": dataset_version_dataset.DatasetVersionDatasetFacet})
    return cls(namespace=raw["namespace"], name=raw["name"], facets=facets)


def validate_openlineage(content: bytes) -> list[dict[str, Any]]:
    """Rebuild every event with openlineage-python's models (their validators run) and round-trip it."""
    events = [json.loads(line) for line in content.decode().splitlines()]
    assert events
    job_facets = {
        "jobType": job_type_job.JobTypeJobFacet,
        "documentation": documentation_job.DocumentationJobFacet,
    }
    for raw in events:
        rebuilt = RunEvent(
            eventType=RunState(raw["eventType"]),
            eventTime=raw["eventTime"],
            run=Run(runId=raw["run"]["runId"], facets=raw["run"].get("facets") or {}),
            job=Job(
                namespace=raw["job"]["namespace"],
                name=raw["job"]["name"],
                facets=_facets(raw["job"].get("facets"), job_facets),
            ),
            inputs=[_dataset(InputDataset, d) for d in raw.get("inputs", [])],
            outputs=[_dataset(OutputDataset, d) for d in raw.get("outputs", [])],
            producer=raw["producer"],
        )
        assert set(raw) <= {
            "eventType",
            "eventTime",
            "run",
            "job",
            "inputs",
            "outputs",
            "producer",
            "schemaURL",
        }
        assert Serde.to_dict(rebuilt) == raw
    return events


class _Chain(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.steps: list[str] = []
        self.external: list[str] = []
        self.ids: set[str] = set()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        attrs_d = dict(attrs)
        if "data-step" in attrs_d:
            self.steps.append(attrs_d["data-step"] or "")
        if attrs_d.get("id"):
            self.ids.add(attrs_d["id"] or "")
        for key in ("src", "href"):
            if attrs_d.get(key):
                self.external.append(attrs_d[key] or "")


def validate_html(content: bytes) -> _Chain:
    """Parse the report; it must show the chain in order, a badge, and load nothing from elsewhere."""
    text = content.decode()
    parser = _Chain()
    parser.feed(text)
    parser.close()
    assert text.startswith("<!DOCTYPE html>")
    assert parser.external == [] and "script" not in parser.tags and "@import" not in text
    assert "verification" in parser.ids
    order = [s for i, s in enumerate(parser.steps) if i == 0 or s != parser.steps[i - 1]]
    assert order == ["dataset", "scan", "approval", "decision", "job", "adapter"], order
    return parser


VALIDATORS: dict[str, Callable[[bytes], Any]] = {
    "json": json.loads,
    "intoto": validate_intoto_envelope,
    "intoto-statement": validate_intoto,
    "cyclonedx": validate_cyclonedx,
    "openlineage": validate_openlineage,
    "html": validate_html,
}
