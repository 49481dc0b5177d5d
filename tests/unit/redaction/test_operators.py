"""Pseudonyms: keyed, consistent, numbered per type; and the Presidio operator that writes them."""

from __future__ import annotations

import pytest
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import InvalidParamError, OperatorConfig, RecognizerResult

from gateway.redaction.engine import build_anonymizer
from gateway.redaction.operators import (
    PLACEHOLDER_RE,
    Pseudonymizer,
    PseudonymOperator,
    canonical_value,
)

from .conftest import KEY


def test_same_value_same_number_and_types_counted_apart() -> None:
    p = Pseudonymizer(KEY)
    assert [
        p.placeholder("PERSON", "Sara Schwarz"),
        p.placeholder("EMAIL_ADDRESS", "UtaKortig@jourrapide.com"),
        p.placeholder("PERSON", "Erik Baader"),
        p.placeholder("PERSON", "Sara Schwarz"),
        p.placeholder("EMAIL_ADDRESS", "EwanDawson@dayrep.com"),
    ] == ["<PERSON_1>", "<EMAIL_ADDRESS_1>", "<PERSON_2>", "<PERSON_1>", "<EMAIL_ADDRESS_2>"]


@pytest.mark.parametrize(
    "entity_type, a, b",
    [
        ("PERSON", "Sara  Schwarz", "sara schwarz"),
        ("EMAIL_ADDRESS", "UtaKortig@Jourrapide.com", "utakortig@jourrapide.com"),
        ("US_SSN", "460-89-9847", "460 89 9847"),
        ("CREDIT_CARD", "4454 7945 1139 0933", "4454794511390933"),
        ("IBAN_CODE", "GB56 HXDO 8816 7774 6561 19", "gb56hxdo88167774656119"),
        ("PHONE_NUMBER", "(905) 674-3793", "905-674-3793"),
    ],
)
def test_spelling_variants_are_one_value(entity_type: str, a: str, b: str) -> None:
    assert canonical_value(entity_type, a) == canonical_value(entity_type, b)
    p = Pseudonymizer(KEY)
    assert p.placeholder(entity_type, a) == p.placeholder(entity_type, b)


def test_same_text_of_another_type_is_another_value() -> None:
    p = Pseudonymizer(KEY)
    assert p.digest("PERSON", "Jordan") != p.digest("LOCATION", "Jordan")


def test_digest_is_keyed_hmac_and_no_raw_value_is_kept() -> None:
    a, b = Pseudonymizer(KEY), Pseudonymizer(b"another key")
    assert a.digest("PERSON", "Sara Schwarz") != b.digest("PERSON", "Sara Schwarz")
    a.placeholder("PERSON", "Sara Schwarz")
    state = repr(vars(a))
    assert "Sara" not in state and "sara" not in state


def test_empty_key_is_refused() -> None:
    with pytest.raises(ValueError):
        Pseudonymizer(b"")


def test_operator_through_presidio_anonymizer() -> None:
    p = Pseudonymizer(KEY)
    text = "Sara Schwarz wrote to UtaKortig@jourrapide.com, then Sara Schwarz left."
    results = [
        RecognizerResult("PERSON", 0, 12, 0.85),
        RecognizerResult("EMAIL_ADDRESS", 22, 46, 1.0),
        RecognizerResult("PERSON", 53, 65, 0.85),
    ]
    out = build_anonymizer().anonymize(
        text, results, {"DEFAULT": OperatorConfig("pseudonym", {"pseudonymizer": p})}
    )
    assert out.text == "<PERSON_1> wrote to <EMAIL_ADDRESS_1>, then <PERSON_1> left."


@pytest.mark.parametrize(
    "params",
    [
        {"entity_type": "PERSON"},
        {"entity_type": "PERSON", "pseudonymizer": "not one"},
        {"entity_type": "person name", "pseudonymizer": Pseudonymizer(KEY)},
    ],
)
def test_operator_validates_params(params: dict[str, object]) -> None:
    with pytest.raises(InvalidParamError):
        PseudonymOperator().validate(params)


def test_operator_is_registered_by_name() -> None:
    assert "pseudonym" in build_anonymizer().get_anonymizers()
    assert "pseudonym" not in AnonymizerEngine().get_anonymizers()


@pytest.mark.parametrize(
    "text, is_placeholder",
    [
        ("<PERSON_1>", True),
        ("<EMAIL_ADDRESS_12>", True),
        ("<US_SSN_3>", True),
        ("<PERSON>", False),
        ("<person_1>", False),
        ("PERSON_1", False),
    ],
)
def test_placeholder_shape(text: str, is_placeholder: bool) -> None:
    assert bool(PLACEHOLDER_RE.fullmatch(text)) is is_placeholder
