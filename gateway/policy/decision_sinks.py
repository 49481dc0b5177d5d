"""Where decision events go: one `DecisionSink` interface and the file sink (the default). The HTTP
sink that speaks OPA's upload API is `decision_upload.py`; `decision_log.make_sink` picks one."""

from __future__ import annotations

import json
import os
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import structlog

from gateway.settings import Settings

log = structlog.get_logger(__name__)

# How long closing a sink may take (the server's shutdown, the CLI's exit) before what it still holds
# is given up, with a warning that says how much.
CLOSE_TIMEOUT_S = 5.0


class DecisionSink(ABC):
    """Where decision events go: a name, and `send` for one event (an OPA decision-log event)."""

    @classmethod
    @abstractmethod
    def name(cls) -> str:
        """The sink's name (`file`, `http`)."""

    @classmethod
    @abstractmethod
    def from_settings(cls, settings: Settings) -> DecisionSink:
        """Build the sink from the gateway settings (ConfigError if they do not fit)."""

    @abstractmethod
    def send(self, event: dict[str, Any]) -> None:
        """Take one event. Called on the request path: it must neither block for long nor raise."""

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:  # noqa: B027 - most sinks hold nothing
        """Deliver what is still held, within `timeout` seconds; the default holds nothing."""


def encode(event: dict[str, Any]) -> bytes:
    """An event as compact JSON (values JSON cannot hold, such as datetimes, as strings)."""
    return json.dumps(event, separators=(",", ":"), default=str).encode()


class FileSink(DecisionSink):
    """One JSON line per event, appended to a file readable by its owner only."""

    @classmethod
    def name(cls) -> str:
        return "file"

    @classmethod
    def from_settings(cls, settings: Settings) -> FileSink:
        return cls(settings.decision_log_path)

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send(self, event: dict[str, Any]) -> None:
        data = encode(event) + b"\n"
        try:
            with self._lock:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, data)
                finally:
                    os.close(fd)
        except OSError as exc:
            # The decision stands (it is stored, or was a dry run); the operator must hear of the gap.
            log.error("decision_log.write_failed", path=str(self.path), error=exc.strerror or str(exc))


# -- the log ------------------------------------------------------------------------------------------
