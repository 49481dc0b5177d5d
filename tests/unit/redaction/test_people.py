"""One person, one placeholder: the parts of a name take the full name's pseudonym.

"Hannah Müller" in the user's turn and "Thanks Hannah" in the reply are one person; a model trained on
`<PERSON_1>` ... `Thanks <PERSON_2>` learns that the agent answers someone else. Within a record the
record's own names decide; across the dataset a part that belongs to one name only takes that name's
placeholder. Accents and case are folded: Chloé is Chloe.
"""

from __future__ import annotations

from typing import Any

import pytest

from gateway.redaction import Scanner
from gateway.redaction.config import parse_config
from gateway.redaction.operators import Pseudonymizer, canonical_value

from .conftest import KEY


def chat(user: str, assistant: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]}


def turns(record: dict[str, Any]) -> list[str]:
    return [m["content"] for m in record["messages"]]


@pytest.mark.parametrize(
    "user, assistant",
    [
        ("Hi, this is Hannah Müller, my order never arrived.", "Thanks Hannah, I have resent it."),
        ("Hi, this is Hannah Müller, my order never arrived.", "Sorry about that, Mr. Müller."),
        ("Hello, I'm Giulia Bianchi and I need a refund.", "Of course Giulia. Done."),
        ("My name is Ana Silva.", "Noted, Ms Silva: the refund is on its way."),
        # The greeting's cue must not take "I'm" into the name (then "Giulia" would be someone else).
        ("Hi, I'm Giulia Bianchi, I live in Lisbon.", "Of course Giulia, I will update it."),
    ],
)
def test_a_name_part_in_the_same_record_takes_the_full_names_placeholder(
    scanner: Scanner, user: str, assistant: str
) -> None:
    out = scanner.scan([chat(user, assistant)]).redacted[0]
    first, second = turns(out)
    assert "<PERSON_1>" in first and "<PERSON_1>" in second, (first, second)
    assert "<PERSON_2>" not in first + second


def test_across_the_dataset_a_part_of_one_name_takes_that_names_placeholder(scanner: Scanner) -> None:
    records = [
        chat("Hi, this is Hannah Müller, my order never arrived.", "I have resent it."),
        chat("I wrote to Lukas Schneider yesterday.", "Good."),
        chat("Did the parcel reach Hannah?", "It did, according to the carrier."),
    ]
    out = scanner.scan(records).redacted
    assert turns(out[0])[0] == "Hi, this is <PERSON_1>, my order never arrived."
    assert turns(out[2])[0] == "Did the parcel reach <PERSON_1>?"


def test_a_part_shared_by_two_names_follows_the_record(scanner: Scanner) -> None:
    records = [
        chat("Hi, this is Anna Schmidt from Berlin.", "Hello Anna, how can I help?"),
        chat("Hi, this is Anna Kowalski from Warsaw.", "Hello Anna, how can I help?"),
    ]
    out = scanner.scan(records).redacted
    # The reply is one string in both records: it follows the first record that holds it.
    assert turns(out[0]) == ["Hi, this is <PERSON_1> from <LOCATION_1>.", "Hello <PERSON_1>, how can I help?"]
    assert turns(out[1])[0] == "Hi, this is <PERSON_2> from <LOCATION_2>."


@pytest.mark.parametrize(
    "a, b",
    [
        ("Chloé Dubois", "Chloe Dubois"),
        ("Chloé Dubois", "CHLOE DUBOIS"),
        ("Mr. Müller", "Muller"),
        ("José  Álvarez", "jose alvarez"),
    ],
)
def test_names_are_one_value_without_accents_case_or_titles(a: str, b: str) -> None:
    assert canonical_value("PERSON", a) == canonical_value("PERSON", b)
    p = Pseudonymizer(KEY)
    assert p.placeholder("PERSON", a) == p.placeholder("PERSON", b)


def test_accents_folded_across_records(scanner: Scanner) -> None:
    records = [
        chat("Hi, this is Chloé Dubois, I cannot log in.", "Let me check."),
        chat("This is Chloe Dubois again, still locked out.", "Unlocked now."),
    ]
    out = scanner.scan(records).redacted
    assert turns(out[0])[0] == "Hi, this is <PERSON_1>, I cannot log in."
    assert turns(out[1])[0] == "This is <PERSON_1> again, still locked out."


def test_surrogates_keep_one_person_one_fake_and_are_never_residual(analyzer: Any) -> None:
    config = parse_config(
        {
            "entities": {
                "PERSON": {"operator": "surrogate"},
                "EMAIL_ADDRESS": {"operator": "surrogate"},
                "PHONE_NUMBER": {"operator": "surrogate", "threshold": 0.4},
            }
        }
    )
    scanner = Scanner(pseudonym_key=KEY, analyzer=analyzer, config=config)
    records = [
        chat(
            "Hi, this is Hannah Müller, mail hannah.mueller@gmail.com or call 212-555-0178.",
            "Thanks Hannah, I have updated it.",
        ),
        chat("Hannah Müller again: did it work?", "It did, Ms Müller."),
        # A hyphenated surname: the reply's first name is still the first name of the same fake.
        chat("Hi, this is Fatima Al-Sayed. I'd like to cancel my plan.", "Hi Fatima, I've cancelled it."),
    ]
    result = scanner.scan(records)
    text = str(result.redacted)
    for original in ("Hannah", "Müller", "hannah.mueller@gmail.com", "212-555-0178"):
        assert original not in text
    assert "<PERSON_" not in text and "<EMAIL_ADDRESS_" not in text and "Fatima" not in text
    fake_full = result.redacted[1]["messages"][0]["content"].removesuffix(" again: did it work?")
    first, last = fake_full.split(" ", 1)
    assert turns(result.redacted[0])[1] == f"Thanks {first}, I have updated it."
    assert turns(result.redacted[1])[1] == f"It did, Ms {last}."
    domain = turns(result.redacted[0])[0].split("@")[1].split()[0]
    assert domain.split(".")[-1] == "example" or domain.endswith(
        ("example.com", "example.org", "example.net")
    )
    fake = (
        turns(result.redacted[2])[0]
        .removeprefix("Hi, this is ")
        .removesuffix(". I'd like to cancel my plan.")
    )
    assert turns(result.redacted[2])[1] == f"Hi {fake.split()[0]}, I've cancelled it."
    # The fakes read like PII; the later rounds and the residual check know they were written here.
    assert result.report.residual_findings == 0
    assert result.report.entities["PERSON"] == 6
    assert all(mark["entity"] for sample in result.report.sample for mark in sample.marks)
