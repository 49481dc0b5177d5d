"""Fields whose key names a person or a place: the whole value is the finding.

`{"customer": "Giulia Bianchi"}` or `{"city": "Lisboa"}` is a name and a place whatever spaCy makes of
a two-word string with no sentence around it. The key is the evidence; the value's shape is the check
that keeps `{"name": "get_order_status"}` (a tool call's function name) out: a person's name is one to
five words of letters, a place one to twelve words. Keys are compared without case or separators
(`firstName`, `first_name` and `First Name` are one key). The value then recurs dataset-wide like any
other finding, so the customer named in `metadata` is also found in the chat turns.
"""

from __future__ import annotations

import regex
from presidio_analyzer import RecognizerResult

from gateway.redaction.findings import make_result
from gateway.redaction.records import Occurrence

FIELD_SCORE = 0.85  # as sure as spaCy's NER (Presidio's default score for it)

PERSON_KEYS = frozenset(
    {
        "customer", "customername", "client", "clientname", "fullname", "firstname", "givenname",
        "forename", "lastname", "surname", "familyname", "middlename", "maidenname", "contact",
        "contactname", "patient", "patientname", "person", "personname", "author", "authorname",
        "sender", "sendername", "recipient", "recipientname", "signature", "employee", "employeename",
        "agentname", "spouse", "guardian", "nickname", "displayname", "requester", "requestername",
        "cardholder", "cardholdername", "accountholder", "accountname", "beneficiary", "passenger",
        "tenant", "applicant",
    }
)  # fmt: skip
# A bare `name` is a person only under a key that says whose ("customer.name", "user.name").
OWNER_KEYS = PERSON_KEYS | {"user", "profile", "member", "account", "agent", "owner", "billing", "shipping"}
ADDRESS_KEYS = frozenset(
    {
        "address", "streetaddress", "street", "addressline", "addressline1", "addressline2", "address1",
        "address2", "homeaddress", "billingaddress", "shippingaddress", "deliveryaddress",
        "mailingaddress", "postaladdress", "postcode", "postalcode", "zip", "zipcode", "plz",
    }
)  # fmt: skip
PLACE_KEYS = frozenset({"city", "town", "village", "birthplace", "placeofbirth", "hometown"})

_SEPARATORS = regex.compile(r"[^0-9a-z]+")
# One to five words of letters (with the apostrophes, dots and hyphens of names); linear: each word is a
# letter run that no other part of the pattern can also match.
_PERSON_SHAPE = regex.compile(r"\p{L}[\p{L}'’.\-]*+(?:\s++\p{L}[\p{L}'’.\-]*+){0,4}")


def normalise_key(key: str) -> str:
    return _SEPARATORS.sub("", key.casefold())


def field_finding(occurrence: Occurrence, enabled: list[str]) -> RecognizerResult | None:
    """A finding over the whole value, if its key names a person or a place and its shape agrees."""
    text, bare = occurrence.unit
    if bare or occurrence.key is None or not occurrence.path or occurrence.path.endswith("{key}"):
        return None  # dict keys and numbers are not values of a named field
    key = normalise_key(occurrence.key)
    entity = _entity_for(key, occurrence.path)
    if entity is None or entity not in enabled:
        return None
    start = len(text) - len(text.lstrip())
    end = len(text.rstrip())
    if end - start < 2:
        return None
    value = text[start:end]
    if entity == "PERSON":
        if not _PERSON_SHAPE.fullmatch(value):
            return None
        # "customer": "standard" is a tier, not a person; a key that says "name" is sure enough for
        # a name typed in lower case.
        if not key.endswith("name") and not any(char.isupper() for char in value):
            return None
    if entity != "PERSON" and (len(value.split()) > 12 or "\n\n" in value):
        return None  # a paragraph under `address` is prose, left to the analysis
    return make_result(entity, start, end, FIELD_SCORE, "field", recognizer=f"field:{key}")


def _entity_for(key: str, path: str) -> str | None:
    if key in PERSON_KEYS:
        return "PERSON"
    if key == "name":
        parent = path.rsplit(".", 2)[-2] if path.count(".") else ""
        owner = normalise_key(parent.removesuffix("[]"))
        return "PERSON" if owner in OWNER_KEYS or owner.removesuffix("s") in OWNER_KEYS else None
    if key in ADDRESS_KEYS:
        return "STREET_ADDRESS"
    if key in PLACE_KEYS:
        return "LOCATION"
    return None
