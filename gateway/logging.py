"""structlog set-up: JSON lines on stderr with event names and ids, never record text.

Stdout belongs to the CLI's one JSON document, so logs go to stderr, looked up at each write (tests
and tools swap sys.stderr).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog


class _StderrLogger:
    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    debug = info = warning = warn = error = critical = exception = fatal = msg


def _factory(*_args: Any) -> _StderrLogger:
    return _StderrLogger()


def configure_logging(level: str = "WARNING") -> None:
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=_factory,
        cache_logger_on_first_use=False,
    )
