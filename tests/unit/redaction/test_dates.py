"""spaCy's DATE_TIME kept only for calendar points (`calendar_only`): real model, through the scanner."""

from __future__ import annotations

import pytest
from presidio_analyzer import AnalyzerEngine

from gateway.errors import ConfigError
from gateway.redaction import Scanner
from gateway.redaction.config import DEFAULT_ENTITIES, parse_config
from gateway.redaction.dates import is_calendar_point

from .conftest import KEY


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("1977", True),
        ("2/8/1935", True),
        ("2000-04-16 11:34:35", True),
        ("16.04.2000", True),
        ("09:00", True),
        ("March 3rd", True),
        ("Sept. 21", True),
        ("the 21st of September", True),
        ("the last Sunday", True),
        ("this morning", False),
        ("next week", False),
        ("8+ years", False),
        ("the 1990s", False),
        ("46 years old", False),
        ("the first three months", False),
        ("4007070753690781", False),  # a card number is not a year
        ("Card 4454794511390933", False),
        ("2,019", False),
        ("March", False),  # a month alone names no day
    ],
)
def test_calendar_points(phrase: str, expected: bool) -> None:
    assert is_calendar_point(phrase) is expected


def redact(analyzer: AnalyzerEngine, text: str, **date_rule: object) -> str:
    config = parse_config({"entities": {**DEFAULT_ENTITIES, "DATE_TIME": date_rule}})
    scanner = Scanner(pseudonym_key=KEY, analyzer=analyzer, config=config)
    return str(scanner.scan([{"prompt": text, "completion": "ok"}]).redacted[0]["prompt"])


@pytest.mark.parametrize(
    ("text", "kept", "gone"),
    [
        ("I was born on 2/8/1935 in a small village.", "in a small village", "2/8/1935"),
        ("She started in 1977 and left this morning.", "this morning", "1977"),
        ("We can meet next week, maybe on Saturday.", "next week", "Saturday"),
        ("He is 46 years old and Polish.", "46 years old", "Polish"),
        ("Let us finish the report this month.", "this month", None),
    ],
)
def test_dates_and_groups_are_redacted_by_default_durations_are_not(
    scanner: Scanner, text: str, kept: str, gone: str | None
) -> None:
    out = scanner.scan([{"prompt": text, "completion": "ok"}]).redacted[0]["prompt"]
    assert kept in out
    if gone is not None:
        assert gone not in out


def test_calendar_only_false_redacts_every_temporal_phrase(analyzer: AnalyzerEngine) -> None:
    text = "Let us finish the report this month."
    assert redact(analyzer, text) == text
    assert redact(analyzer, text, calendar_only=False) == "Let us finish the report <DATE_TIME_1>."


def test_the_second_pass_reads_dates_as_the_first_did(analyzer: AnalyzerEngine) -> None:
    """A duration left as content is not a residual finding that would block the dataset."""
    config = parse_config({"entities": {**DEFAULT_ENTITIES, "DATE_TIME": {}}})
    result = Scanner(pseudonym_key=KEY, analyzer=analyzer, config=config).scan(
        [{"prompt": "Reply within 2 hours, please, by 2/8/2026.", "completion": "ok"}]
    )
    assert result.redacted[0]["prompt"] == "Reply within 2 hours, please, by <DATE_TIME_1>."
    assert result.report.residual_findings == 0


def test_calendar_only_is_refused_on_other_entities() -> None:
    with pytest.raises(ConfigError, match="calendar_only applies to DATE_TIME only"):
        parse_config({"entities": {"PERSON": {"calendar_only": False}}})
