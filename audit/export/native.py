"""ftgate's own lineage format: the complete lineage dict, as JSON."""

from __future__ import annotations

import json
from typing import Any

from audit.export.base import Exporter
from audit.signer import Signer


class JsonExporter(Exporter):
    media_type = "application/json"

    @classmethod
    def name(cls) -> str:
        return "json"

    def export(self, lineage: dict[str, Any], *, key: Signer | None = None) -> bytes:
        return (json.dumps(lineage, indent=2) + "\n").encode()
