"""Disguised PII: each disguise of the generated evasion set is undone, found, mapped back to the original
offsets and replaced whole; text that only looks encoded or foreign is left alone."""

from __future__ import annotations

import importlib.util
import re
import sys
from types import ModuleType

import pytest

from gateway.redaction import Scanner
from gateway.redaction.normalize import encoded_segments, normalize
from gateway.settings import REPO_ROOT


def _load_evasion() -> ModuleType:
    # The set is built by the benchmark's script, so the tests and the figures measure the same cases.
    path = REPO_ROOT / "benchmarks" / "redaction_evasion.py"
    spec = importlib.util.spec_from_file_location("redaction_evasion", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


evasion = _load_evasion()
CASES = evasion.build_evasion_set()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jane＠example.com", "jane@example.com"),
        ("ＪＡＮＥ４２", "JANE42"),
        ("ja\u200bne@ex\u2060ample.com\u00ad", "jane@example.com"),
        ("Ѕаra Schwarz", "Sara Schwarz"),  # Cyrillic S and a, in a token with Latin letters
        ("Привет мир", "Привет мир"),  # wholly Cyrillic words are not a disguise
        ("4 4 5 4 7 9 4 5 1 1 3 9 0 9 3 3", "4454794511390933"),
        ("4.6.0.8.9.9.8.4.7", "460-89-9847"),  # nine digits regroup as an SSN
        ("9-0-5-6-7-4-3-7-9-3", "905-674-3793"),  # ten as a phone number
        ("4454 7945 1139 0933", "4454 7945 1139 0933"),  # ordinary groups stay
        ("10.1.2.3 on 12.05.2024", "10.1.2.3 on 12.05.2024"),
        ("plain ascii", "plain ascii"),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text).text == expected


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("mail ja\u200bne＠example.com now", "ja\u200bne＠example.com"),
        ("card 4 4 5 4 7 9 4 5 1 1 3 9 0 9 3 3 ok", "4 4 5 4 7 9 4 5 1 1 3 9 0 9 3 3"),
        ("ssn 4.6.0.8.9.9.8.4.7 ok", "4.6.0.8.9.9.8.4.7"),
        ("ﬁle for Ѕаra", "Ѕаra"),  # the ligature expands to two characters before the name
    ],
)
def test_offsets_map_back_to_the_original(text: str, value: str) -> None:
    view = normalize(text)
    plain = normalize(value).text
    start = view.text.index(plain)
    assert view.original_span(start, start + len(plain)) == (
        text.index(value),
        text.index(value) + len(value),
    )


@pytest.mark.parametrize(
    ("text", "encoding", "decoded"),
    [
        ("id VXRhS29ydGlnQGpvdXJyYXBpZGUuY29t end", "base64", "UtaKortig@jourrapide.com"),
        ("id 5574614b6f7274696740 end", "hex", "UtaKortig@"),
        ("go to /find?q=Uta%40jourrapide.com now", "url", " find q Uta@jourrapide.com"),
    ],
)
def test_encoded_segments_are_decoded(text: str, encoding: str, decoded: str) -> None:
    [segment] = encoded_segments(text)
    assert (segment.encoding, segment.decoded) == (encoding, decoded)


@pytest.mark.parametrize(
    "text",
    [
        "internationalization and counterrevolutionaries",  # base64 alphabet, decodes to noise
        "commit 3f9a2c7be14d0a6e5b8c9d1f2a3b4c5d6e7f8091 fixed it",  # a git hash is not text
        "100% of 50%",
        "UUID 123e4567-e89b-12d3-a456-426614174000",
    ],
)
def test_lookalikes_are_not_segments(text: str) -> None:
    assert encoded_segments(text) == []


def _case_id(case: object) -> str:
    return str(case.id)  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_each_disguise_is_redacted_whole(scanner: Scanner, case: object) -> None:
    text, start, end, entity = case.text, case.start, case.end, case.entity  # type: ignore[attr-defined]
    [record] = scanner.scan([{"prompt": text, "completion": "ok"}]).redacted
    out = record["prompt"]
    # Exactly the disguised run, disguise included, became one placeholder of the right type.
    assert re.fullmatch(re.escape(text[:start]) + f"<{entity}_1>" + re.escape(text[end:]), out), out


def test_every_disguise_of_a_value_gets_its_placeholder(scanner: Scanner) -> None:
    """`<EMAIL_ADDRESS_1>` stays the same address whatever disguise it came in."""
    email_cases = [c for c in CASES if c.value == "UtaKortig@jourrapide.com"]
    assert len(email_cases) == 7
    plain = {"prompt": "Please send the invoice to UtaKortig@jourrapide.com by mail.", "completion": "ok"}
    result = scanner.scan([plain, *({"prompt": c.text, "completion": "ok"} for c in email_cases)])
    assert {r["prompt"] for r in result.redacted} == {"Please send the invoice to <EMAIL_ADDRESS_1> by mail."}


def test_disguise_recall_per_kind_is_complete(scanner: Scanner) -> None:
    """Every kind of disguise the issue names is in the set (and the test above covers each case)."""
    assert set(evasion.DISGUISES) == {c.disguise for c in CASES}
    assert {c.entity for c in CASES} >= {"EMAIL_ADDRESS", "CREDIT_CARD", "US_SSN", "PHONE_NUMBER", "PERSON"}
