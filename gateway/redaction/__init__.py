"""PII redaction: Presidio finds, typed placeholders replace, a second pass checks what is left."""

from gateway.redaction.engine import build_analyzer
from gateway.redaction.report import ScanReport, ScanResult
from gateway.redaction.scanner import Scanner

__all__ = ["ScanReport", "ScanResult", "Scanner", "build_analyzer"]
