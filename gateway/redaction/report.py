"""What a scan found, in counts and placeholders only: the report never carries a raw value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field


class ScanReport(BaseModel):
    """Counts from one dataset scan; stored beside the dataset and read by the admission policy."""

    records: int = Field(description="Records scanned.")
    records_changed: int = Field(description="Kept records in which at least one value was redacted.")
    records_dropped: int = Field(
        default=0, description="Records left out because they held an entity whose operator is drop_record."
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
    residual_findings: int = Field(description="Findings the second pass still saw in the redacted output.")
    residual_entities: dict[str, int] = Field(default_factory=dict, description="Residual findings by type.")
    score_threshold: float = Field(description="Default minimum Presidio score that counts as a finding.")
    thresholds: dict[str, float] = Field(
        default_factory=dict, description="Entity types redacted, each with its minimum score."
    )
    operators: dict[str, str] = Field(
        default_factory=dict, description="Operator applied to each entity type that was found."
    )
    config_sha256: str = Field(default="", description="SHA-256 of the redaction config in canonical JSON.")
    analyzer: str = Field(description="Analyzer and model, with versions.")
    sample: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Up to 3 redacted records that changed and have no residual finding.",
    )


@dataclass(frozen=True)
class ScanResult:
    """The redacted records, in input order and shape, and the report on them."""

    redacted: list[dict[str, Any]]
    report: ScanReport
