"""The phone recognizer's shortcuts change nothing it finds.

`FtgatePhoneRecognizer` skips candidates too short to be valid (`_Matcher`), the grouped regions on a
text without a separator between digits, and the international pass on a text without "+". Each test
here compares it with the same three tiers run on libphonenumber's own matcher, the way the recognizer
ran them before: the same findings, offsets, scores and explanations, text by text.
"""

from __future__ import annotations

import json

import phonenumbers
import pytest
from phonenumbers import Leniency, PhoneNumberFormat, PhoneNumberMatcher, PhoneNumberType
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.predefined_recognizers import PhoneRecognizer

from gateway.redaction.config import PhoneSettings
from gateway.redaction.recognizers import (
    _MIN_INTERNATIONAL_DIGITS,
    _SEPARATOR,
    _TWO_DIGITS,
    FtgatePhoneRecognizer,
    _fewest_characters,
)
from gateway.settings import REPO_ROOT

from .test_recognizers import ORDINARY

CORPUS = REPO_ROOT / "tests" / "data" / "pii" / "synth_dataset_v2.json"

# Forms the shortcuts reason about: dialling out with an international prefix, plus signs (full-width
# too), vanity letters, extensions, other scripts' digits, dates and counts next to numbers.
EXAMPLES = [
    "Llámame al 612 345 678 esta tarde.",
    "Ring me on 22 33 44 55 after five.",
    "Mobile 0412 345 678 any time.",
    "Mein Handy: +49 151 23456789",
    "Reach her at +33 6 12 34 56 78.",
    "Try +44 7700 900123 first.",
    "Office (212) 555-0178, ask for Sam.",
    "Landline 020 7946 0958.",
    "From Germany dial 0044 20 7946 0958, from the US 011 44 20 7946 0958.",
    "Dial 00 45 71 33 52 22 or 0045-71335222.",
    "Call 1-800-FLOWERS or 1 800 356 9377 ext. 1234.",
    "＋４４ ７７００ ９００１２３ (full width)",
    "Phone: +1 (415) 555-2671 x 204; fax +1.415.555.2672",
    "Kontakt 030 1234 56, Fax 030-123457, Notruf 112, Kurzwahl 1 2 3 4.",
    "Wien 01 5123456 oder 0664 1234567; PLZ 1010.",
    "+39 06 6982 is short; +358 9 1234 567 is not; +1 2 3.",
    "Order 98765432 on 2024-01-15 at 10:30, 15/01/2024, 3/10/2011.",
    "The 4 of us paid 12,50 € and 1.234,56 € on 12.03.2024.",
    "६१२ ३४५ ६७८ and ٠٤١٢ ٣٤٥ ٦٧٨",
    "Numbers: 12 34, 123 456, 1234 5678, 12345 67890, 123456789012345678901234",
]


def reference(recognizer: FtgatePhoneRecognizer, text: str) -> list[RecognizerResult]:
    """The recognizer's three tiers on libphonenumber's own matcher, without any shortcut."""
    if not _TWO_DIGITS.search(text):
        return []
    results = PhoneRecognizer.analyze(recognizer, text, ["PHONE_NUMBER"])
    for region in recognizer.grouped_regions:
        for match in PhoneNumberMatcher(text, region, leniency=Leniency.EXACT_GROUPING):
            if _SEPARATOR.search(match.raw_string):
                results.append(recognizer._get_recognizer_result(match, text, region, None))
    if recognizer.settings.international:
        for match in PhoneNumberMatcher(text, "ZZ", leniency=Leniency.POSSIBLE):
            national = str(match.number.national_number)
            if match.raw_string.startswith("+") and len(national) >= _MIN_INTERNATIONAL_DIGITS:
                region = phonenumbers.region_code_for_number(match.number) or "ZZ"
                results.append(recognizer._get_recognizer_result(match, text, region, None))
    return EntityRecognizer.remove_duplicates(results)


def comparable(results: list[RecognizerResult]) -> list[tuple[object, ...]]:
    return sorted(
        (r.entity_type, r.start, r.end, r.score, r.analysis_explanation.textual_explanation) for r in results
    )


def assert_same(recognizer: FtgatePhoneRecognizer, texts: list[str]) -> None:
    differ = [
        text
        for text in texts
        if comparable(recognizer.analyze(text, ["PHONE_NUMBER"])) != comparable(reference(recognizer, text))
    ]
    assert differ == []


SETTINGS = [
    PhoneSettings(),
    PhoneSettings(regions=["US"], grouped_regions=["DK"], international=False),
    # Regions with short plans (AT, DE, SH), a one-digit international prefix and non-geographic codes.
    PhoneSettings(regions=["SH", "DE", "RU", "JP"], grouped_regions=["AT", "NU", "UY"]),
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_examples_find_what_the_plain_matcher_finds(settings: PhoneSettings) -> None:
    assert_same(FtgatePhoneRecognizer(settings=settings), EXAMPLES + ORDINARY)


@pytest.mark.skipif(not CORPUS.exists(), reason=f"benchmark corpus not present at {CORPUS}")
def test_corpus_finds_what_the_plain_matcher_finds() -> None:
    texts = list(dict.fromkeys(sample["full_text"] for sample in json.loads(CORPUS.read_text())))
    assert_same(FtgatePhoneRecognizer(), texts)


def valid_when_parsed(written: str, region: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(written, region))
    except phonenumbers.NumberParseException:
        return False


def test_fewest_characters_holds_for_every_example_number() -> None:
    """No valid number, written nationally or dialled from another region, has fewer characters."""
    anywhere = _fewest_characters(None)
    dialling_from = ["US", "GB", "DE", "FR", "AU", "JP", "RU", "SH", "BR"]
    checked = 0
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is None or not phonenumbers.is_valid_number(number):
                continue
            assert len(phonenumbers.national_significant_number(number)) >= anywhere
            national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
            if valid_when_parsed(national, region):
                assert sum(c.isalnum() for c in national) >= _fewest_characters(region), (region, national)
                checked += 1
            for caller in dialling_from:
                written = phonenumbers.format_out_of_country_calling_number(number, caller)
                if not written.startswith("+") and valid_when_parsed(written, caller):
                    assert sum(c.isalnum() for c in written) >= _fewest_characters(caller), (caller, written)
    assert checked > 400
