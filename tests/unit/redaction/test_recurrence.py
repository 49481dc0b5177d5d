"""A value found once is redacted wherever it recurs; a name's parts are redacted across a record's turns."""

from __future__ import annotations

from typing import Any

import pytest
from presidio_analyzer import AnalyzerEngine

from gateway.redaction import Scanner
from gateway.redaction.config import DEFAULT_ENTITIES, parse_config

from .conftest import KEY

PHONE = "212 555 0178"


@pytest.fixture
def strict_phone(analyzer: AnalyzerEngine) -> Scanner:
    """Phones at 0.5, so a bare phone number alone (Presidio: 0.4) is a miss without recurrence."""
    config = parse_config({"entities": {**DEFAULT_ENTITIES, "PHONE_NUMBER": {"threshold": 0.5}}})
    return Scanner(pseudonym_key=KEY, analyzer=analyzer, config=config)


def test_bare_repeat_alone_is_missed(strict_phone: Scanner) -> None:
    # The premise: without the first sighting the repeat passes.
    [record] = strict_phone.scan([{"prompt": f"Noted: {PHONE}", "completion": "ok"}]).redacted
    assert PHONE in record["prompt"]


@pytest.mark.parametrize(
    ("repeat", "expected"),
    [
        ({"prompt": f"Noted: {PHONE}", "completion": "ok"}, "Noted: <PHONE_NUMBER_1>"),
        ({"prompt": "p", "completion": "c", "tags": [PHONE]}, ["<PHONE_NUMBER_1>"]),
    ],
)
def test_value_found_once_is_redacted_where_it_recurs(
    strict_phone: Scanner, repeat: dict[str, Any], expected: Any
) -> None:
    first = {"prompt": f"My phone number is {PHONE}, call me after lunch.", "completion": "ok"}
    result = strict_phone.scan([first, repeat])
    assert result.redacted[0]["prompt"] == "My phone number is <PHONE_NUMBER_1>, call me after lunch."
    field = "tags" if "tags" in repeat else "prompt"
    assert result.redacted[1][field] == expected
    assert result.report.residual_findings == 0


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"Call 1{PHONE}9 now", f"1{PHONE}9"),  # inside a longer number: not the value
        ("we sell Schwarzkopf products", "Schwarzkopf"),
    ],
)
def test_recurrence_needs_whole_words(scanner: Scanner, text: str, kept: str) -> None:
    first = {
        "prompt": f"My phone number is {PHONE}. My name is Sara Schwarz and I need help.",
        "completion": "ok",
    }
    result = scanner.scan([first, {"prompt": text, "completion": "ok"}])
    assert kept in result.redacted[1]["prompt"]


def test_name_parts_are_redacted_across_turns_of_one_record(scanner: Scanner) -> None:
    record = {
        "messages": [
            {"role": "user", "content": "My name is Sara Schwarz and I need help."},
            {"role": "assistant", "content": "Sorry to hear that. Is Sara your first name?"},
            {"role": "user", "content": "Yes, and the order is under Schwarz."},
        ]
    }
    [redacted] = scanner.scan([record]).redacted
    contents = [m["content"] for m in redacted["messages"]]
    assert not any("Sara" in c or "Schwarz" in c for c in contents), contents
    assert all("<PERSON_" in c for c in contents)
