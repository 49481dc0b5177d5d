"""OpenLineage run events for the three steps that made the adapter: scan, approval, training.

Each step is one run with a START and a COMPLETE event (the spec asks for both), built with
openlineage-python's own models so the library's validators run on every field. The file is JSON
Lines, one event per line, as OpenLineage's file transport writes it and as Marquez or any other
consumer accepts them one by one. Run ids are UUIDv5 of the log entry that records the step, so the
same log always exports the same runs.
"""

from __future__ import annotations

from typing import Any

from audit.export.base import Exporter
from audit.signer import Signer


class OpenLineageExporter(Exporter):
    media_type = "application/x-ndjson"

    @classmethod
    def name(cls) -> str:
        return "openlineage"

    def export(self, lineage: dict[str, Any], *, key: Signer | None = None) -> bytes:
        # Imported here: openlineage-python takes a noticeable part of a second to import, and most
        # commands that load the registry never export this format.
        from audit.export._openlineage import export_jsonl

        return export_jsonl(lineage)
