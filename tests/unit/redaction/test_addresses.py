"""Whole postal addresses (addresses.py), places after place cues (places.py) and the dates of releases
(dates.is_product_date), on examples of our own."""

from __future__ import annotations

import pytest
from presidio_analyzer import AnalyzerEngine, RecognizerResult

from gateway.redaction.addresses import AddressBlockRecognizer, address_blocks
from gateway.redaction.dates import is_product_date
from gateway.redaction.places import PlaceCueRecognizer


def found(results: list[RecognizerResult], text: str, entity: str) -> list[str]:
    return sorted(text[r.start : r.end] for r in results if r.entity_type == entity)


# --- address blocks --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, block",
    [
        (
            "Ana Silva\n\n12 Rua Augusta\n Apt. 3\n LISBOA\n\n Portugal 1100-053",
            "12 Rua Augusta\n Apt. 3\n LISBOA\n\n Portugal 1100-053",
        ),
        (
            "Tuomas Virtanen\n41086 Kiannonkatu 98\nSuite 12\nOULU\nFinland 90100",
            "41086 Kiannonkatu 98\nSuite 12\nOULU\nFinland 90100",
        ),
        ("Ship to:\n* 221B Baker Street\n* London NW1 6XE\nThanks", "221B Baker Street\n* London NW1 6XE"),
        ("Address:\nHauptstraße 5\n10115 Berlin\nMobile: 0151 2345678", "Hauptstraße 5\n10115 Berlin"),
        (
            "Please send a new one to 14 Crown Street\n Suite 321\n MANCHESTER",
            "14 Crown Street\n Suite 321\n MANCHESTER",
        ),
        (
            "Στοιχεία:\n3565 Πλατεία Συντάγματος 204\nΑΘΗΝΑ (ΚΕΝΤΡΟ)\nGreece 10563",
            "3565 Πλατεία Συντάγματος 204\nΑΘΗΝΑ (ΚΕΝΤΡΟ)\nGreece 10563",
        ),
    ],
)
def test_address_blocks_take_the_whole_envelope(text: str, block: str) -> None:
    assert [text[s:e] for s, e in address_blocks(text)] == [block]


@pytest.mark.parametrize(
    "text",
    [
        # A line like a street ("Windows 11") needs a postcode or a unit line after it.
        "Release notes\nWindows 11\nmacOS 14\nUbuntu 24.04",
        "Steps:\n1 Open Settings\n2 Click Billing\n3 Choose Plan",
        "Order 12345\nStatus: shipped\nTotal: 49.99 EUR",
        "Ticket T-1008\nPriority: high",
        "Version 5.1\nReleased March 3, 2025\nSee the changelog.",
    ],
)
def test_lists_and_forms_are_not_address_blocks(text: str) -> None:
    assert address_blocks(text) == []


@pytest.mark.parametrize(
    "text, address",
    [
        ("The restaurant is at 17151 2450 Crown St", "17151 2450 Crown St"),
        ("The bus drops you off at 07576 Magasinsgatan 7 St.", "07576 Magasinsgatan 7"),
        ("Andrew had given his address: 5366 Pivovarská 276", "5366 Pivovarská 276"),
        ("She lives on Grössgstötten 50.", "Grössgstötten 50"),
        ("Please send ORD-31633 to Plaza de Begoña Infante 1, 34123 Madrid.", "Plaza de Begoña Infante 1"),
        ("The pickup point is Hercegovačka 8c, Kraljevica.", "Hercegovačka 8c, Kraljevica"),
        (
            "Billing address: 534, chemin Alexandrie Guyon, 66381 Nantes.",
            "534, chemin Alexandrie Guyon, 66381 Nantes",
        ),
    ],
)
def test_streets_without_a_street_word(text: str, address: str) -> None:
    results = AddressBlockRecognizer().analyze(text, ["STREET_ADDRESS"])
    assert address in found(results, text, "STREET_ADDRESS")


@pytest.mark.parametrize(
    "text",
    [
        "Please upgrade to Windows 11 and return to Step 3.",
        "Ship it to Version 2 users first.",
        "We have 2 Green Cards and 3 Main Points to cover.",
        "Send the report to Level 4 support.",
        "Release 10 2 Pro is out; see chapter 12 Reports 3.",
        "Version 5.1 was released on March 3, 2025.",
    ],
)
def test_numbered_things_are_not_streets(text: str) -> None:
    assert AddressBlockRecognizer().analyze(text, ["STREET_ADDRESS"]) == []


def test_a_street_grows_over_the_town_after_it(analyzer: AnalyzerEngine) -> None:
    text = "Meet me at 22 Pollen Crescent, Fitzroy, Australia 3065."
    results = analyzer.analyze(text, language="en", score_threshold=0.5)
    assert "22 Pollen Crescent, Fitzroy, Australia 3065" in found(results, text, "STREET_ADDRESS")


# --- places after a place cue ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, place",
    [
        ("I'm Naomi, originally from ΕΓΚΩΜΗ, and I'm 31.", "ΕΓΚΩΜΗ"),
        ("Coden is a design agency based in NAANTALI.", "NAANTALI"),
        ("The Princess Royal arrived at Ettelgem this morning.", "Ettelgem"),
        ("I am in Store Merløse for a business trip.", "Store Merløse"),
        ("We are flying from Tarnaveni tomorrow.", "Tarnaveni"),
        ("He grew up in PORT O' WARREN.", "PORT O' WARREN"),
    ],
)
def test_places_after_place_cues(text: str, place: str) -> None:
    assert found(PlaceCueRecognizer().analyze(text, ["LOCATION"]), text, "LOCATION") == [place]


@pytest.mark.parametrize(
    "text",
    [
        "I'm in Settings but can't find Billing.",
        "We are in Beta until June.",
        "The email came from Maria Lopez.",
        "I am from Support.",
    ],
)
def test_place_cues_leave_interface_words_and_people(text: str) -> None:
    assert PlaceCueRecognizer().analyze(text, ["LOCATION"]) == []


# --- dates of products, not of people --------------------------------------------------------------


@pytest.mark.parametrize(
    "text, date, product",
    [
        ("Version 5.1 was released on March 3, 2025.", "March 3, 2025", True),
        ("Maintenance is scheduled for Sunday 02:00 UTC.", "Sunday 02:00 UTC", True),
        ("It's a known issue in 6.1, fixed in the 2025-12-18 update.", "2025-12-18", True),
        ("Can I schedule the weekly report for Thursday mornings?", "Thursday", True),
        ("You're welcome! Have a good Sunday.", "Sunday", True),
        ("She was born on 7/14/1995.", "7/14/1995", False),
        ("My appointment is on Thursday at 10:30.", "Thursday at 10:30", False),
        ("He was admitted to hospital on 2024-03-02 after the update.", "2024-03-02", False),
        ("We'll meet Monday at the office.", "Monday", False),
        ("Let us finish the report this month.", "this month", False),  # no calendar point
    ],
)
def test_product_dates(text: str, date: str, product: bool) -> None:
    start = text.index(date)
    assert is_product_date(text, start, start + len(date)) is product
