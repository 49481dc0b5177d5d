"""spaCy's DATE_TIME kept only for calendar points, on the real model and through the scanner."""

from __future__ import annotations

import pytest
from presidio_analyzer import AnalyzerEngine

from gateway.redaction import Scanner
from gateway.redaction.engine import create_analyzer
from gateway.redaction.ner import CalendarNerRecognizer, is_calendar_point

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


def test_the_ftgate_analyzer_reads_ner_through_the_calendar_filter(analyzer: AnalyzerEngine) -> None:
    ner = [r for r in analyzer.registry.recognizers if r.name == "SpacyRecognizer"]
    assert [type(r) for r in ner] == [CalendarNerRecognizer]
    assert set(ner[0].supported_entities) >= {"DATE_TIME", "NRP", "PERSON", "LOCATION"}


@pytest.mark.parametrize(
    ("text", "kept", "gone"),
    [
        ("I was born on 2/8/1935 in a small village.", "in a small village", "2/8/1935"),
        ("She started in 1977 and left this morning.", "this morning", "1977"),
        ("We can meet next week, maybe on Saturday.", "next week", "Saturday"),
        ("He is 46 years old and Polish.", "46 years old", "Polish"),
    ],
)
def test_dates_and_groups_are_redacted_by_default_durations_are_not(
    scanner: Scanner, text: str, kept: str, gone: str
) -> None:
    out = scanner.scan([{"prompt": text, "completion": "ok"}]).redacted[0]["prompt"]
    assert kept in out
    assert gone not in out


def test_plain_presidio_is_left_as_it_is(analyzer: AnalyzerEngine) -> None:
    """The side-by-side benchmarks compare against Presidio's own recognizer, unfiltered."""
    plain = create_analyzer(analyzer.nlp_engine, with_ftgate_recognizers=False)
    found = plain.analyze("Let us finish the report this month.", language="en", entities=["DATE_TIME"])
    assert [r.entity_type for r in found] == ["DATE_TIME"]
    assert not any(isinstance(r, CalendarNerRecognizer) for r in plain.registry.recognizers)
    scanner = Scanner(pseudonym_key=KEY, analyzer=analyzer)
    assert (
        scanner.scan([{"prompt": "Let us finish the report this month.", "completion": "ok"}]).redacted[0][
            "prompt"
        ]
        == "Let us finish the report this month."
    )
