"""Postcodes by country with their context (postcodes.py), on examples of our own.

A code counts with evidence: a distinctive shape (UK, Canada), a cue ("postcode", "zip", "PLZ", ...),
a place after it or a country or state before it. A bare digit run never does.
"""

from __future__ import annotations

import pytest
from presidio_analyzer import AnalyzerEngine, RecognizerResult

from gateway.redaction.postcodes import PostcodeRecognizer


def found(results: list[RecognizerResult], text: str, entity: str) -> list[str]:
    return sorted(text[r.start : r.end] for r in results if r.entity_type == entity)


def codes(text: str) -> list[str]:
    """Without spaCy: the recognizer alone."""
    return found(PostcodeRecognizer().analyze(text, ["POSTCODE", "LOCATION"]), text, "POSTCODE")


@pytest.mark.parametrize(
    "text, code",
    [
        ("Send it to 221B Baker Street, London NW1 6XE.", "NW1 6XE"),  # UK
        ("Our office: 10 Downing St, SW1A 2AA", "SW1A 2AA"),  # UK
        ("Ottawa, ON K1A 0B1, Canada", "K1A 0B1"),  # Canada
        ("Rua Augusta 10, 1100-053 Lisboa", "1100-053"),  # Portugal
        ("12 rue de Rivoli, 75004 Paris", "75004"),  # France
        ("Hauptstraße 5, 10115 Berlin", "10115"),  # Germany
        ("Calle Mayor 5, 28013 Madrid", "28013"),  # Spain
        ("Via Roma 1, 00184 Roma", "00184"),  # Italy
        ("Damrak 1, 1012 LG Amsterdam", "1012 LG"),  # Netherlands
        ("ul. Marszałkowska 10, 00-950 Warszawa", "00-950"),  # Poland
        ("Drottninggatan 53, 111 21 Stockholm", "111 21"),  # Sweden
        ("Stephansplatz 1, 1010 Wien", "1010"),  # Austria
        ("Av. Paulista 1000, 01310-100 São Paulo", "01310-100"),  # Brazil
        ("Springfield, IL 62704-1234", "62704-1234"),  # US ZIP+4
        ("my postcode is 3520", "3520"),
        ("ZIP: 48750", "48750"),
        ("PLZ 80331, bitte", "80331"),
        ("CEP: 01310-100", "01310-100"),
        ("code postal 69002", "69002"),
        ("Eircode D02 X285", "D02 X285"),  # Ireland
        ("Please ship to Spain 16200.", "16200"),  # a country before the code
        ("Bahnhofstrasse 1, CH-8001 Zürich", "CH-8001"),
    ],
)
def test_postcodes_are_found(text: str, code: str) -> None:
    assert code in codes(text)


@pytest.mark.parametrize(
    "text",
    [
        "Order 12345 shipped yesterday.",
        "Ticket 10234 was closed.",
        "We have 50000 Users and 10000 Steps.",
        "It costs $12500 or 9999 EUR.",
        "Version 10115 Beta is out.",
        "Call 555 0199 or 020 7946 0958.",
        "Invoice INV-2024-0481 covers 2024 Annual Report pages.",
        "The 2025 Roadmap and the 2019 Release notes.",
        "Build 20240115 failed; see error 40401.",
        "Card 4111 1111 1111 1111",
        "Port 8080 and 443 are open.",
        "Step 3 of 10, chapter 12345.",
    ],
)
def test_numbers_without_evidence_are_not_postcodes(text: str) -> None:
    assert codes(text) == []


def test_the_place_beside_a_code_is_a_location() -> None:
    text = "Ship to 1100-053 Lisboa please."
    results = PostcodeRecognizer().analyze(text, ["POSTCODE", "LOCATION"])
    assert found(results, text, "LOCATION") == ["Lisboa"]


@pytest.mark.parametrize(
    "text, code",
    [("Send it to 12 rue de Rivoli, 75004 Paris.", "75004"), ("Ship to 1100-053 Lisboa please.", "1100-053")],
)
def test_postcodes_through_the_analyzer(analyzer: AnalyzerEngine, text: str, code: str) -> None:
    results = analyzer.analyze(text, language="en", score_threshold=0.5)
    assert code in found(results, text, "POSTCODE")


def test_a_quantity_is_not_a_place(analyzer: AnalyzerEngine) -> None:
    text = "We now have 50000 Users and 10000 Steps."
    results = analyzer.analyze(text, language="en", score_threshold=0.5)
    assert found(results, text, "POSTCODE") == []
