"""Lineage exporters, one module per format, looked up by name (presidio's OperatorsFactory style).

Each exporter turns the lineage dict that `audit.lineage.build_lineage` assembles from the verified log
into the bytes of one file format. Importing this package registers the built-in formats.
"""

from __future__ import annotations

from audit.export.base import Exporter, ExportersFactory, export_formats, get_exporter, register_exporter
from audit.export.cyclonedx_bom import CycloneDxExporter
from audit.export.html_report import HtmlExporter
from audit.export.intoto import InTotoExporter, InTotoStatementExporter
from audit.export.native import JsonExporter
from audit.export.openlineage_events import OpenLineageExporter

for _exporter in (
    JsonExporter,
    HtmlExporter,
    InTotoExporter,
    InTotoStatementExporter,
    CycloneDxExporter,
    OpenLineageExporter,
):
    register_exporter(_exporter)

__all__ = ["Exporter", "ExportersFactory", "export_formats", "get_exporter", "register_exporter"]
