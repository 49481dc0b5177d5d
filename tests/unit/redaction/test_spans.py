"""Span arithmetic applied before Presidio's conflict resolution (pure, no model)."""

from __future__ import annotations

from typing import Any

import pytest
from presidio_analyzer import RecognizerResult

from gateway.redaction.operators import PLACEHOLDER_RE
from gateway.redaction.spans import outside, split_ner_around_patterns, subtract


def _found(text: str, results: list[RecognizerResult]) -> list[tuple[str, str]]:
    return [(r.entity_type, text[r.start : r.end]) for r in results]


def _span(text: str, fragment: str, entity_type: str, score: float) -> RecognizerResult:
    start = text.index(fragment)
    return RecognizerResult(entity_type, start, start + len(fragment), score)


@pytest.mark.parametrize(
    "text, finding, holes, expected",
    [
        ("Card 4454794511390933", "Card 4454794511390933", ["4454794511390933"], ["Card"]),
        ("a Sara Schwarz b", "Sara Schwarz", [], ["Sara Schwarz"]),
        ("x Sara <PERSON_1> Bond y", "Sara <PERSON_1> Bond", ["<PERSON_1>"], ["Sara", "Bond"]),
        ("<PERSON_1>\n> Apt", "<PERSON_1>\n>", ["<PERSON_1>"], []),  # only punctuation left
    ],
)
def test_subtract(text: str, finding: str, holes: list[str], expected: list[str]) -> None:
    result = _span(text, finding, "X", 0.5)
    spans = [(text.index(h), text.index(h) + len(h)) for h in holes]
    assert [f for _, f in _found(text, subtract(text, result, spans))] == expected


def _is_ner(result: RecognizerResult) -> bool:
    return (result.recognition_metadata or {}).get("recognizer_name") == "SpacyRecognizer"


def _ner(text: str, fragment: str, entity_type: str) -> RecognizerResult:
    result = _span(text, fragment, entity_type, 0.85)
    result.recognition_metadata = {"recognizer_name": "SpacyRecognizer"}
    return result


def test_ner_container_is_cut_around_pattern_finding() -> None:
    text = "Thanks, noted. Card 4454794511390933, IBAN GB56HXDO88167774656119"
    results = [
        _ner(text, "Card 4454794511390933", "DATE_TIME"),
        _span(text, "4454794511390933", "CREDIT_CARD", 1.0),
    ]
    assert sorted(_found(text, split_ner_around_patterns(text, results, _is_ner))) == [
        ("CREDIT_CARD", "4454794511390933"),
        ("DATE_TIME", "Card"),
    ]


@pytest.mark.parametrize(
    "outer, inner",
    [
        # A pattern finding around an NER one: the phone number stays whole (Presidio keeps the longer).
        (
            lambda t: _span(t, "(212) 555-1234", "PHONE_NUMBER", 0.75),
            lambda t: _ner(t, "555-1234", "DATE_TIME"),
        ),
        # NER around NER: Presidio's rule.
        (lambda t: _ner(t, "(212) 555-1234", "LOCATION"), lambda t: _ner(t, "555-1234", "DATE_TIME")),
        # Same type: Presidio merges.
        (
            lambda t: _ner(t, "(212) 555-1234", "PHONE_NUMBER"),
            lambda t: _span(t, "555-1234", "PHONE_NUMBER", 1),
        ),
    ],
)
def test_other_containments_are_left_to_presidio(outer: Any, inner: Any) -> None:
    text = "My number is (212) 555-1234 today"
    results = [outer(text), inner(text)]
    assert split_ner_around_patterns(text, results, _is_ner) == results


@pytest.mark.parametrize(
    "text, finding, expected",
    [
        ("call <PERSON_1> now", "PERSON_1", []),
        ("call <PERSON_1> now", "<PERSON_1>", []),
        ("the <LOCATION_12> Street", "LOCATION_12> Street", ["Street"]),
        ("Derek and <PERSON_3>", "Derek", ["Derek"]),
    ],
)
def test_outside_replaced_spans(text: str, finding: str, expected: list[str]) -> None:
    marks = [(m.start(), m.end(), "PERSON") for m in PLACEHOLDER_RE.finditer(text)]
    found = outside(text, marks, [_span(text, finding, "PERSON", 0.85)])
    assert [f for _, f in _found(text, found)] == expected
