"""Names: the gazetteer and the cues (names.py), and spaCy's names checked (ner.py), on examples of our own.

None of the examples is from the benchmark corpus. Positives cover many nationalities and the ways a
chat introduces a name; negatives are what support chats are full of: product and company names,
interface words, ids, versions, prices.
"""

from __future__ import annotations

import pytest
from presidio_analyzer import AnalyzerEngine, RecognizerResult

from gateway.redaction.names import PersonCueRecognizer, fold, gazetteer


def found(results: list[RecognizerResult], text: str, entity: str) -> list[str]:
    return sorted(text[r.start : r.end] for r in results if r.entity_type == entity)


def cues(text: str) -> list[str]:
    return found(PersonCueRecognizer().analyze(text, ["PERSON"]), text, "PERSON")


def persons(analyzer: AnalyzerEngine, text: str) -> list[str]:
    """PERSON findings at the default threshold, through the whole analyzer."""
    return found(analyzer.analyze(text, language="en", score_threshold=0.5), text, "PERSON")


# --- the gazetteer ---------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["Maria", "Priya", "Giulia", "Łukasz", "Søren", "Aoife", "Björn", "Chloé"])
def test_given_names_of_many_locales_are_known(word: str) -> None:
    assert gazetteer().is_given_name(word)


@pytest.mark.parametrize("word", ["Will", "May", "Rose", "Grant", "Bill", "Settings", "Invite", "Billing"])
def test_ordinary_words_are_not_given_names_alone(word: str) -> None:
    assert not gazetteer().is_given_name(word)


def test_places_are_not_given_names_and_their_parts_are_not_places() -> None:
    gaz = gazetteer()
    assert gaz.is_place("Lisboa") and not gaz.is_given_name("Georgia")
    assert not gaz.is_place("Antonio")  # a part of "San Antonio" is no place


def test_fold_removes_accents_and_case() -> None:
    assert fold("Chloé") == fold("CHLOE") == "chloe"


# --- cues ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, names",
    [
        ("Please ask Dr. Amelia Okafor about it.", ["Amelia Okafor"]),
        ("Mr Brennan called twice.", ["Brennan"]),
        ("hello my name is ingrid", ["ingrid"]),
        ("Hi, my name is Tomasz K. Wrona and I need help.", ["Tomasz K. Wrona"]),
        ("Hi, this is Maria Gonzalez. I was charged twice.", ["Maria Gonzalez"]),
        ("I'm Priya, the account owner.", ["Priya"]),
        ("Hi Giulia, the refund is on its way.", ["Giulia"]),
        ("Dear Mr Novák, thank you for your patience.", ["Novák"]),
        ("Thanks Hannah!", ["Hannah"]),
        ("The parcel never came. Thanks, James O'Connor", ["James O'Connor"]),
        ("Regards,\nAna Silva", ["Ana Silva"]),
        ("The card ends in 0009. — Priya Raman", ["Priya Raman"]),
        ("got it thanks\nxavier", ["xavier"]),
        ("dear søren, your order shipped", ["søren"]),
        ("hey its fatima, can u check my order", ["fatima"]),
        ("Matthew: Remember me?\nOlga: Of course.", ["Matthew", "Olga"]),
        ("Name: Åsa Laine\nPhone: 083 564 9312", ["Åsa Laine"]),
        ("Cardholder: Kwame Mensah", ["Kwame Mensah"]),
        ("her maiden name is nyberg", ["nyberg"]),
        ("Last name? Okonkwo", ["Okonkwo"]),
        ("Our three founders: Kowalski, Becker and Moreau.", ["Becker", "Kowalski", "Moreau"]),
        ("Kuba, can I please speak to your manager?", ["Kuba"]),
        ("everyone calls me Lena", ["Lena"]),
    ],
)
def test_cued_names_are_found(text: str, names: list[str]) -> None:
    assert cues(text) == names


@pytest.mark.parametrize(
    "text",
    [
        "Hi team, the export is ready.",
        "Hello everyone, maintenance starts at 02:00 UTC.",
        "Dear Customer, your ticket T-1008 was closed.",
        "Thanks Acme! Thank you for the update.",
        "This is Acme support, how can we help?",
        "I'm Canadian and I'm still waiting.",
        "My name is not important here, and my name is spelled wrong on the form.",
        "Status: open\nPriority: high\nPlan: Pro",
        "Steps:\n- Windows\n- Settings",
        "Regards,\nThe Billing Team",
        "Company name: FlowDesk Inc.",
        "Please call me when you're here.",
        "Version 5.1 costs $4.99, order 12345678.",
        "Dr. who? The doctor is out.",
    ],
)
def test_cues_leave_ordinary_text(text: str) -> None:
    assert cues(text) == []


def test_a_transcript_takes_speakers_the_gazetteer_does_not_know() -> None:
    """Once one speaker label is a known name, the others in the text count too."""
    assert cues("Maria: Hi!\nZorvath: Hello.") == ["Maria", "Zorvath"]
    assert cues("Zorvath: Hello.") == []


# --- spaCy's names, checked (ner.py) ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text, name",
    [
        ("Samantha said the parcel was damaged.", "Samantha"),  # spaCy: GPE
        ("Please forward this to Priya Raman.", "Priya Raman"),
        ("Will my account stay active? It's under my partner's name Shane M Culp", "Shane M Culp"),
        ("In case of my child's account, we need to add Kristian Herzog as guardian", "Kristian Herzog"),
        ("follow up with patricia desrosiers in a couple of months.", "patricia desrosiers"),
        ("My husband Richeard will call you back.", "Richeard"),  # unknown name, a kinship word
        ("I, Tymoteuasz Kocieamba, agree to the terms above.", "Tymoteuasz Kocieamba"),
        ("We had dinner with Oliwier and Geyörgy last night.", "Geyörgy"),
        ("My son Lucía needs a new card.", "Lucía"),  # spaCy: NORP
        ("Kenneth Roose - Senior Engineer", "Kenneth Roose"),
        ("The doctor, 裕美子 中川, will see you at three.", "裕美子 中川"),
        ("thanks maria, that fixed it", "maria"),  # lower case: the gazetteer knows it
        ("my name is ondrej and i need help", "ondrej"),
    ],
)
def test_names_are_found(analyzer: AnalyzerEngine, text: str, name: str) -> None:
    assert any(name in found_name for found_name in persons(analyzer, text))


@pytest.mark.parametrize(
    "text",
    [
        "You are Acme's support assistant. Be brief, polite and specific.",
        "Hi, go to Settings, choose Security, then Reset password.",
        "Click Invite to add a teammate, then open Billing > Plans.",
        "Your ticket T-1008 has been escalated; case C1002 is closed.",
        "Hey, is there a native Slack integration or do we need Zapier?",
        "Will this affect our Okta integration?",
        "Quick question: Slack says the Umbrella Dashboards app needs to be re-authorised.",
        "You are the support assistant for Globex Mail. Answer questions about billing.",
        "Fabrikam Support. You answer as the Fabrikam Fiber help desk.",
        "Hello TaskHive support, how do I turn on two-factor authentication in TaskHive Sprints?",
        "Does the API support Ruby and Java?",
        "Guest Access allows up to 2 guests on Enterprise Plus.",
        "Upgrade to FlowDesk 4.2 from the App Store.",
        "I work for Flightstats.",
        "Coden is a design agency based in Lyon.",
        "The Davis, Reynolds and Williamson Orchestra was founded in 1977.",
        # Lower-case words spaCy does not know: product and dataset names, not people.
        "bigchats",
        "we moved our tickets from helpscout to bigchats last week",
    ],
)
def test_products_and_interface_words_are_not_names(analyzer: AnalyzerEngine, text: str) -> None:
    assert persons(analyzer, text) == []
