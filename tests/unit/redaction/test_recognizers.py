"""ftgate's own recognizers on examples of our own (none from the benchmark corpus).

Each must catch the forms it was written for and stay silent on the text a training set is full of:
version numbers, prices, order ids, dates, "step 3 of 10", code.
"""

from __future__ import annotations

import pytest
from presidio_analyzer import AnalyzerEngine, RecognizerResult

from gateway.errors import ConfigError
from gateway.redaction import Scanner
from gateway.redaction.config import PhoneSettings, default_config, load_config, parse_config
from gateway.redaction.engine import analyzer_for, build_analyzer
from gateway.redaction.recognizers import (
    FtgatePhoneRecognizer,
    PersonCueRecognizer,
    StreetAddressRecognizer,
)
from gateway.settings import REPO_ROOT

from .conftest import KEY

# Ordinary assistant and user text: none of it is personal data.
ORDINARY = [
    "Step 3 of 10: install Python 3.11, then run pip install foo==2.0.1.",
    "It costs $4.99 per month, or 49.99 EUR a year.",
    "Your order 12345678 ships on 2024-01-15 at 10:30.",
    "Order #98765432 was refunded on 15/01/2024.",
    "Unit 3 covers recursion; see section 2.3 and chapter 10.",
    "Version 10.2.3 fixes bug 4521 in build 20240115.3.",
    "The ISBN is 978-3-16-148410-0 and the DOI 10.1000/182.",
    "for i in range(10): print(i, 2 * i)  # prints 0 0, 1 2, ...",
    "Use port 8080, or 443 with TLS 1.3.",
    "We have 2 Green Cards and 3 Main Points to cover.",
    "Top 10 Places to visit in 2024",
    "The brigade had 5 companies; Brigade 5 left first.",
    "Take 2 tablets 3 times a day for 7 days.",
    "Call the function with args (12, 34, 56, 78).",
    "Reference 2023 11 05 was filed with 1 234 567 others.",
    "My name is not important here, and my name is spelled wrong on the form.",
    "Wall Street fell 3 percent on Monday.",
    "I live on a quiet street near the park.",
    "x = {'a': 1, 'b': [2, 3]}; y = x['b'][1] * 100",
]


def found(results: list[RecognizerResult], text: str, entity: str) -> list[str]:
    return [text[r.start : r.end] for r in results if r.entity_type == entity]


def above(analyzer: AnalyzerEngine, text: str, entity: str, threshold: float) -> list[str]:
    """What the analyzer reports for `entity` at the shipped threshold, with context words applied."""
    results = analyzer.analyze(text, language="en", entities=[entity], score_threshold=threshold)
    return found(results, text, entity)


# --- phone numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, number",
    [
        ("Llámame al 612 345 678 esta tarde.", "612 345 678"),  # Spain, grouped as Spain writes it
        ("Ring me on 22 33 44 55 after five.", "22 33 44 55"),  # Denmark
        ("Mobile 0412 345 678 any time.", "0412 345 678"),  # Australia
        ("Mein Handy: +49 151 23456789", "+49 151 23456789"),  # international, default region too
        ("Reach her at +33 6 12 34 56 78.", "+33 6 12 34 56 78"),  # international
        ("Try +44 7700 900123 first.", "+44 7700 900123"),  # UK drama range: only possible, not valid
        ("Office (212) 555-0178, ask for Sam.", "(212) 555-0178"),  # Presidio's default regions
        ("Landline 020 7946 0958.", "020 7946 0958"),
    ],
)
def test_phone_recognizer_finds_configured_numbering_plans(text: str, number: str) -> None:
    recognizer = FtgatePhoneRecognizer()
    assert number in found(recognizer.analyze(text, ["PHONE_NUMBER"]), text, "PHONE_NUMBER")


@pytest.mark.parametrize("text", ORDINARY)
def test_phone_recognizer_adds_nothing_on_ordinary_text(text: str) -> None:
    """Whatever Presidio's own default regions match, the grouped and international tiers add nothing."""
    ours = FtgatePhoneRecognizer().analyze(text, ["PHONE_NUMBER"])
    presidio = FtgatePhoneRecognizer(settings=PhoneSettings(grouped_regions=[], international=False)).analyze(
        text, ["PHONE_NUMBER"]
    )
    assert sorted(found(ours, text, "PHONE_NUMBER")) == sorted(found(presidio, text, "PHONE_NUMBER"))


def test_grouped_regions_need_the_region_grouping() -> None:
    """A valid Danish number written as a bare run or as a date is not a phone number."""
    recognizer = FtgatePhoneRecognizer(settings=PhoneSettings(regions=["US"], grouped_regions=["DK"]))
    for text in ("order 98765432", "on 2024-01-15", "ref 2023 11 05"):
        assert found(recognizer.analyze(text, ["PHONE_NUMBER"]), text, "PHONE_NUMBER") == []
    text = "ring 22 33 44 55"
    assert found(recognizer.analyze(text, ["PHONE_NUMBER"]), text, "PHONE_NUMBER") == ["22 33 44 55"]


def test_international_tier_can_be_switched_off() -> None:
    text = "Try +44 7700 900123 first."
    off = FtgatePhoneRecognizer(settings=PhoneSettings(international=False))
    assert found(off.analyze(text, ["PHONE_NUMBER"]), text, "PHONE_NUMBER") == []


@pytest.mark.parametrize(
    "phone, message",
    [
        ({"regions": ["UK"]}, "UK"),  # the ISO code is GB: a region that matches nothing is refused
        ({"regions": []}, "at least 1"),
        ({"grouped_regions": ["ES", "ES"]}, "repeat"),
        ({"regions": ["US", "ES"], "grouped_regions": ["ES"]}, "both"),
        ({"international": "yes", "regions": ["US"], "unknown": 1}, "phone"),
    ],
)
def test_phone_settings_are_validated(phone: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"entities": {"PHONE_NUMBER": {}}, "phone": phone})


def test_shipped_config_names_the_phone_settings_and_uses_the_shared_analyzer() -> None:
    shipped = load_config(REPO_ROOT / "policies")
    assert shipped.phone == PhoneSettings() == default_config().phone
    assert analyzer_for(shipped) is build_analyzer()


def test_other_phone_settings_get_their_own_analyzer_on_the_same_model() -> None:
    config = default_config().model_copy(update={"phone": PhoneSettings(regions=["US"], grouped_regions=[])})
    analyzer = analyzer_for(config)
    shared = build_analyzer()
    assert analyzer is not shared and analyzer.nlp_engine is shared.nlp_engine
    assert analyzer_for(config) is analyzer  # built once per settings
    text = "Llámame al 612 345 678 esta tarde."
    assert above(analyzer, text, "PHONE_NUMBER", 0.4) == []
    assert above(shared, text, "PHONE_NUMBER", 0.4) == ["612 345 678"]


# --- street addresses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, address",
    [
        ("Send it to 221B Baker Street, please.", "221B Baker Street"),
        ("She lives at 742 Evergreen Terrace.", "742 Evergreen Terrace"),
        ("Ship to 1600 Pennsylvania Ave. NW", "1600 Pennsylvania Ave."),
        ("The office is 12 Rose Lane Apt. 4B now.", "12 Rose Lane Apt. 4B"),
        ("Deliver to 5 Oak Rd, Suite 210.", "5 Oak Rd, Suite 210"),
        ("Notre bureau: 12 rue de Rivoli, Paris.", "12 rue de Rivoli"),
        ("Abito in Via Garibaldi 12, Torino.", "Via Garibaldi 12"),
        ("Vivo en Calle Mayor 5 desde mayo.", "Calle Mayor 5"),
        ("Ich wohne in der Hauptstraße 12.", "Hauptstraße 12"),
        ("Kontoret ligger på Drottninggatan 53.", "Drottninggatan 53"),
        ("Toimisto: Mannerheimintie 10", "Mannerheimintie 10"),
        ("Adres: ul. Marszałkowska 10, Warszawa", "ul. Marszałkowska 10"),
        ("Címem: Andrássy út 22.", "Andrássy út 22"),
        ("Write to P.O. Box 1234 instead.", "P.O. Box 1234"),
        ("Forward to PSC 1234, Box 5678 please.", "PSC 1234, Box 5678"),
        ("Mail it to APO AE 09012 by Friday.", "APO AE 09012"),
        ("We moved to Springfield, IL 62704 last year.", "Springfield, IL 62704"),
    ],
)
def test_street_addresses_are_found(analyzer: AnalyzerEngine, text: str, address: str) -> None:
    # Inside a finding: the address recognizer grows a street over the town written after it
    # ("12 rue de Rivoli, Paris"), gateway/redaction/addresses.py.
    assert any(address in found for found in above(analyzer, text, "STREET_ADDRESS", 0.5))


def test_a_street_named_without_a_number_needs_an_address_word(analyzer: AnalyzerEngine) -> None:
    assert above(analyzer, "He lives on Abbey Road these days.", "STREET_ADDRESS", 0.5) == ["Abbey Road"]
    assert above(analyzer, "Abbey Road is a great album.", "STREET_ADDRESS", 0.5) == []


def test_a_unit_alone_needs_an_address_word(analyzer: AnalyzerEngine) -> None:
    assert above(analyzer, "Please deliver to Suite 300.", "STREET_ADDRESS", 0.5) == ["Suite 300"]
    assert above(analyzer, "Suite 300 of the test run passed.", "STREET_ADDRESS", 0.5) == []


@pytest.mark.parametrize("text", ORDINARY)
def test_street_addresses_not_found_in_ordinary_text(analyzer: AnalyzerEngine, text: str) -> None:
    assert above(analyzer, text, "STREET_ADDRESS", 0.5) == []


def test_address_patterns_keep_case() -> None:
    """Presidio's default IGNORECASE would let "a crescent" or "the av club" start an address."""
    text = "take 3 small steps to the crescent and 2 more via the park 5"
    assert StreetAddressRecognizer().analyze(text, ["STREET_ADDRESS"]) == []


# --- names with a cue ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, name",
    [
        ("Please ask Dr. Amelia Okafor about it.", "Amelia Okafor"),
        ("Mr Brennan called twice.", "Brennan"),
        ("Thanks, Ms. Lindqvist!", "Lindqvist"),
        ("Hi, my name is Tomasz K. Wrona and I need help.", "Tomasz K. Wrona"),
        ("hello my name is ingrid", "ingrid"),
        ("my name's Rafael Duarte, order 1234", "Rafael Duarte"),
    ],
)
def test_cued_names_are_found(text: str, name: str) -> None:
    results = PersonCueRecognizer().analyze(text, ["PERSON"])
    assert found(results, text, "PERSON") == [name]


@pytest.mark.parametrize(
    "text",
    [
        *ORDINARY,
        "Dr. who? The doctor is out.",
        "Please call me back tomorrow.",
        "My name is on the list, and my name is missing from the email.",
    ],
)
def test_cued_names_not_found_in_ordinary_text(text: str) -> None:
    assert PersonCueRecognizer().analyze(text, ["PERSON"]) == []


# --- through the scanner ---------------------------------------------------------------------------


def test_scanner_redacts_addresses_and_european_phones(analyzer: AnalyzerEngine) -> None:
    scanner = Scanner(pseudonym_key=KEY, analyzer=analyzer, config=load_config(REPO_ROOT / "policies"))
    record = {
        "messages": [
            {"role": "user", "content": "Send the parcel to 221B Baker Street, my mobile is 612 345 678."},
            {"role": "assistant", "content": "Done: step 1 of 3. Order 12345678 costs $4.99 (v3.11)."},
        ]
    }
    result = scanner.scan([record])
    user, assistant = (m["content"] for m in result.redacted[0]["messages"])
    assert "221B" not in user and "Baker" not in user and "612 345 678" not in user
    assert "<STREET_ADDRESS_1>" in user and "<PHONE_NUMBER_1>" in user
    assert assistant == record["messages"][1]["content"]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Please call me on 9472 7916 tomorrow.", "9472 7916"),  # "call" is a spaCy stop word
        ("Give us a call: 33 21 45 67.", "33 21 45 67"),
        ("The line 416 60 039 (office) is staffed.", "416 60 039"),  # the context word comes after
        ("Try 0171 555 2930 fax or post.", "0171 555 2930"),
    ],
)
def test_context_counts_stop_words_and_the_words_after(
    analyzer: AnalyzerEngine, text: str, number: str
) -> None:
    scanner = Scanner(pseudonym_key=KEY, analyzer=analyzer, config=load_config(REPO_ROOT / "policies"))
    [results] = scanner.analyze_texts([text])
    assert number in found(results, text, "PHONE_NUMBER")


@pytest.mark.parametrize(
    "text",
    ["We call it step 2 of 10 on page 33 21.", "Version 4.12 31 ships after the office party."],
)
def test_context_alone_does_not_make_a_phone(analyzer: AnalyzerEngine, text: str) -> None:
    scanner = Scanner(pseudonym_key=KEY, analyzer=analyzer, config=load_config(REPO_ROOT / "policies"))
    [results] = scanner.analyze_texts([text])
    assert found(results, text, "PHONE_NUMBER") == []


def test_context_words_can_match(analyzer: AnalyzerEngine) -> None:
    """Presidio matches context against lemmas that are not spaCy stop words: a stop word never counts."""
    is_stop = analyzer.nlp_engine.is_stopword
    ours = [r for r in analyzer.registry.recognizers if type(r).__module__ == "gateway.redaction.recognizers"]
    assert {type(r).__name__ for r in ours} >= {"StreetAddressRecognizer", "StreetNameRecognizer"}
    dead = [
        (r.name, w)
        for r in ours
        if r.name != "FtgatePhoneRecognizer"
        for w in r.context or []
        if is_stop(w, "en")
    ]
    assert dead == []


@pytest.mark.parametrize(
    "text, found",
    [
        ("my card is 2289 6386 1058 0438 thanks", True),  # Mastercard 2-series, Luhn-valid
        ("card 2221000000000009", True),
        ("Card 4454794511390933 expired", True),
        ("card 2289 6386 1058 0439", False),  # one digit off: Luhn fails
        ("version 2289 6386", False),
        ("order 2800 1234 5678 9012", False),  # 28xx is no card range
    ],
)
def test_cards_of_every_issuer_range_are_found(scanner: Scanner, text: str, found: bool) -> None:
    assert (scanner.entities_in([text]) == [["CREDIT_CARD"]]) is found
