"""What a scan found, in counts and placeholders only: the report never carries a raw value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field


class ResidualFinding(BaseModel):
    """Where the residual check still found personal data: a place and a type, never the value."""

    record: int = Field(description="Record number in the uploaded file, from 0.")
    field: str = Field(description="Field path, e.g. `messages[].content` or `metadata.customer`.")
    entity: str = Field(description="Entity type found there.")
    count: int = Field(default=1, description="Findings of that type in that field of that record.")


class SampleRecord(BaseModel):
    """A redacted record shown to the approver, with every replaced value marked."""

    record: int = Field(description="Record number in the uploaded file, from 0.")
    findings: int = Field(description="Values replaced in it.")
    entities: dict[str, int] = Field(default_factory=dict, description="Values replaced, by entity type.")
    redacted: dict[str, Any] = Field(description="The record as it is stored.")
    marks: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Each replaced value: `field` path (with list positions, `messages[1].content`), "
        "`start` and `end` in that field's redacted text (for a dict key, `field` ends in `{key}` and `key` "
        "is its redacted text), "
        "`entity` type (a surrogate reads like a real value, so this is how it is told apart).",
    )


class ScanReport(BaseModel):
    """Counts from one dataset scan; stored beside the dataset and read by the admission policy."""

    records: int = Field(description="Records scanned.")
    records_changed: int = Field(description="Kept records in which at least one value was redacted.")
    records_dropped: int = Field(
        default=0,
        description="Records left out: those holding an entity whose operator is drop_record, and, with "
        "`residual: drop_record`, those with residual findings.",
    )
    records_dropped_residual: int = Field(
        default=0, description="Of `records_dropped`, those left out for their residual findings."
    )
    strings_scanned: int = Field(description="String and number values and string dict keys visited.")
    entities: dict[str, int] = Field(default_factory=dict, description="Redacted findings by entity type.")
    fields: dict[str, int] = Field(
        default_factory=dict,
        description=(
            "Redacted findings by field path: `messages[].content`, `metadata.email`; a finding in a "
            "dict key counts under `<parent>.{key}`, values below a redacted key under `<parent>.*`."
        ),
    )
    residual_findings: int = Field(
        description="Findings the residual check still saw in the records kept (0 when they were dropped)."
    )
    residual_entities: dict[str, int] = Field(default_factory=dict, description="Residual findings by type.")
    residual_records: int = Field(default=0, description="Records with residual findings, kept or dropped.")
    residual: list[ResidualFinding] = Field(
        default_factory=list,
        description="Residual findings by record, field path and entity type (the first 1,000 places).",
    )
    residual_action: str = Field(
        default="refuse", description="What the config does with residual findings: refuse or drop_record."
    )
    residual_check: str = Field(default="", description="What the residual check ran (model, thresholds).")
    score_threshold: float = Field(description="Default minimum Presidio score that counts as a finding.")
    thresholds: dict[str, float] = Field(
        default_factory=dict, description="Entity types redacted, each with its minimum score."
    )
    operators: dict[str, str] = Field(
        default_factory=dict, description="Operator applied to each entity type that was found."
    )
    config_sha256: str = Field(default="", description="SHA-256 of the redaction config in canonical JSON.")
    analyzer: str = Field(description="Analyzer and model, with versions.")
    sample: list[SampleRecord] = Field(
        default_factory=list,
        description="Redacted records for the approver: for each entity type found the record with the "
        "most of it, and the 3 records with the most findings (never one with a residual finding).",
    )


@dataclass(frozen=True)
class ScanResult:
    """The redacted records, in input order and shape, and the report on them."""

    redacted: list[dict[str, Any]]
    report: ScanReport
