"""ftgate's own lineage format: the complete lineage dict, as JSON."""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from audit.export.base import Exporter


class JsonExporter(Exporter):
    media_type = "application/json"

    @classmethod
    def name(cls) -> str:
        return "json"

    def export(self, lineage: dict[str, Any], *, key: ec.EllipticCurvePrivateKey | None = None) -> bytes:
        return (json.dumps(lineage, indent=2) + "\n").encode()
