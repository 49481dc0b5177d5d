"""Fields whose key names a person or a place: the whole value is redacted, and recurs like any finding."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.redaction import Scanner
from gateway.redaction.fields import field_finding
from gateway.redaction.records import walk

ENABLED = ["PERSON", "LOCATION", "STREET_ADDRESS"]


def findings(record: dict[str, Any]) -> dict[str, str]:
    """Field path -> entity type of each field finding in `record`."""
    out = {}
    for occurrence in walk(record):
        found = field_finding(occurrence, ENABLED)
        if found is not None:
            out[occurrence.path] = found.entity_type
    return out


@pytest.mark.parametrize(
    "record, expected",
    [
        ({"metadata": {"customer": "Giulia Bianchi"}}, {"metadata.customer": "PERSON"}),
        ({"customer": {"name": "ana silva"}}, {"customer.name": "PERSON"}),
        ({"firstName": "lukas", "Last Name": "Schneider"}, {"firstName": "PERSON", "Last Name": "PERSON"}),
        ({"users": [{"name": "Chloé Dubois"}]}, {"users[].name": "PERSON"}),
        ({"shipping_address": "12 Rua Augusta, 1100-053 Lisboa"}, {"shipping_address": "STREET_ADDRESS"}),
        (
            {"contact": {"city": "Nantes", "zip": "44000"}},
            {"contact.city": "LOCATION", "contact.zip": "STREET_ADDRESS"},
        ),
        # Not people: a tool call's function name, a plan tier, a list of tags, free prose.
        ({"function": {"name": "get_order_status"}}, {}),
        ({"customer": "standard"}, {}),
        ({"customer": "premium tier, renews monthly, 3 seats, billed to the EU entity in euros"}, {}),
        ({"name": "Quarterly report"}, {}),
        ({"messages": [{"role": "user", "content": "hi", "name": "example_user"}]}, {}),
        ({"customer": 42}, {}),
    ],
)
def test_which_fields_name_a_person_or_a_place(record: dict[str, Any], expected: dict[str, str]) -> None:
    assert findings(record) == expected


def test_a_field_value_is_redacted_and_found_again_in_the_chat(scanner: Scanner) -> None:
    record = {
        "messages": [
            {"role": "user", "content": "hello, giulia bianchi here. I was charged twice."},
            {"role": "assistant", "content": "Sorry about that, I have refunded you."},
        ],
        "metadata": {"customer": {"name": "giulia bianchi", "city": "Lisboa"}, "ticket": "T-1008"},
    }
    out = scanner.scan([record]).redacted[0]
    assert out["metadata"]["customer"] == {"name": "<PERSON_1>", "city": "<LOCATION_1>"}
    assert out["messages"][0]["content"] == "hello, <PERSON_1> here. I was charged twice."
    assert "giulia" not in str(out).lower()


def test_a_tool_calls_function_name_is_kept(scanner: Scanner) -> None:
    record = {
        "messages": [
            {"role": "user", "content": "Where is my order?"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"type": "function", "function": {"name": "get_order_status"}}],
            },
            {"role": "assistant", "content": "It ships tomorrow."},
        ]
    }
    assert scanner.scan([record]).redacted == [record]
