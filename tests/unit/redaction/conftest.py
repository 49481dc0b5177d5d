"""Real Presidio on the real spaCy model, loaded once per session; a guard that records any connect."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest
import structlog
from presidio_analyzer import AnalyzerEngine
from structlog.testing import capture_logs

from gateway.redaction import Scanner, build_analyzer
from gateway.redaction.config import EntityRule, RedactionConfig

KEY = b"unit-test-pseudonym-key"


@pytest.fixture(scope="session")
def analyzer() -> AnalyzerEngine:
    return build_analyzer()


@pytest.fixture
def scanner(analyzer: AnalyzerEngine) -> Scanner:
    return Scanner(pseudonym_key=KEY, analyzer=analyzer)


def all_entities(analyzer: AnalyzerEngine) -> RedactionConfig:
    """Every entity Presidio knows, at the default threshold (the pre-config behaviour)."""
    return RedactionConfig(entities={e: EntityRule() for e in analyzer.get_supported_entities("en")})


@pytest.fixture
def scanner_all(analyzer: AnalyzerEngine) -> Scanner:
    return Scanner(pseudonym_key=KEY, analyzer=analyzer, config=all_entities(analyzer))


class NetworkBlocked(RuntimeError):
    """Raised by the guard; not an OSError, so no HTTP client mistakes it for a retryable failure."""


@pytest.fixture
def network_attempts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every name lookup and connect is recorded and refused; the test asserts on the record."""
    attempts: list[str] = []

    def refuse(what: str) -> Any:
        def blocked(*args: Any, **kwargs: Any) -> Any:
            attempts.append(f"{what}{args[1:] if what.startswith('socket.') else args}")
            raise NetworkBlocked(what)

        return blocked

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    yield attempts


@pytest.fixture
def logs() -> Iterator[list[MutableMapping[str, Any]]]:
    """Every structlog event, whatever level the rest of the suite configured."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with capture_logs() as captured:
            yield captured
    finally:
        structlog.configure(**saved)
