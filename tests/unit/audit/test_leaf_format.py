"""Leaf formats (audit/README.md): format 2 is RFC 8785 of the entry's fields, format 1 what it was."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
import rfc8785

from audit.canonical import as_doubles, canonical_json, read_json
from audit.errors import AuditVerificationError
from audit.log import LEAF_FORMAT, entry_body, payload_text, stored_entry_body

# Characters where JSON encoders differ: escapes, U+2028, DEL, non-BMP, and keys that sort differently
# by code point and by UTF-16 code unit ("\uffff" < "\U0001f600" by code point, not by code unit).
ODD = ["a", "é", "\n", "\t", "\x01", "\x1f", '"', "\\", "\u2028", "\x7f", "\U0001f600", "\uffff", "/"]


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(ODD) for _ in range(rng.randint(0, 6)))


def _value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(7 if depth < 3 else 5)
    if kind == 0:
        return rng.choice([0, 1, -7, 2**53 - 1, 1.0, 0.5, 1e-7, 1e21, 123456.789, -0.0, 3.0e-5])
    if kind == 1:
        return _text(rng)
    if kind == 2:
        return rng.choice([True, False, None])
    if kind == 3:
        return rng.randint(-1000, 1000)
    if kind == 4:
        return rng.random() * 10 ** rng.randint(-8, 22)
    if kind == 5:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {_text(rng) or "k": _value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def _fields(rng: random.Random) -> dict[str, Any]:
    return {
        "seq": rng.randint(1, 10**9),
        "time": "2026-12-07T06:11:09.123456Z",
        "actor": _text(rng) or "alice",
        "action": "dataset.approved",
        "subject": _text(rng) or "ds_1",
        "payload": {_text(rng) or "p": _value(rng) for _ in range(rng.randint(0, 5))},
        "prev_hash": "0" * 64,
    }


def test_new_entries_are_format_2() -> None:
    assert LEAF_FORMAT == 2


@pytest.mark.parametrize("seed", range(300))
def test_format_2_bytes_are_rfc_8785_of_the_fields_and_the_stored_path_agrees(seed: int) -> None:
    rng = random.Random(seed)
    fields = _fields(rng)
    expected = rfc8785.dumps({**fields, "format": 2})
    assert entry_body(**fields, format=2) == expected
    stored = {k: v for k, v in fields.items() if k != "payload"}
    text = payload_text(fields["payload"], 2)
    assert stored_entry_body(**stored, payload_text=text, format=2) == expected
    # What is stored reads back (as JSON readers read numbers) to a value with the same bytes.
    assert payload_text(read_json(text), 2) == text
    assert payload_text(as_doubles(json.loads(text)), 2) == text


@pytest.mark.parametrize("seed", range(100))
def test_format_1_bytes_are_what_they_always_were(seed: int) -> None:
    rng = random.Random(seed)
    fields = _fields(rng)
    expected = canonical_json(fields)
    assert entry_body(**fields, format=1) == expected
    stored = {k: v for k, v in fields.items() if k != "payload"}
    text = canonical_json(fields["payload"]).decode()
    assert stored_entry_body(**stored, payload_text=text, format=1) == expected


def test_the_two_formats_differ_where_python_and_jcs_write_numbers_differently() -> None:
    assert payload_text({"epochs": 1.0, "lr": 1e-07}, 1) == '{"epochs":1.0,"lr":1e-07}'
    assert payload_text({"epochs": 1.0, "lr": 1e-07}, 2) == '{"epochs":1,"lr":1e-7}'


def test_an_integer_past_2_53_is_refused_and_read_back_as_the_double_jcs_wrote() -> None:
    with pytest.raises(ValueError):
        payload_text({"n": 2**53}, 2)  # a recorded fact must mean the same to every JSON reader
    written = payload_text({"n": 1.429558948627382e20}, 2)
    assert written == '{"n":142955894862738200000}'
    assert read_json(written) == {"n": 1.429558948627382e20}
    assert payload_text(read_json(written), 2) == written


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(AuditVerificationError, match="unknown leaf format"):
        entry_body(seq=1, time="t", actor="a", action="x", subject="s", payload={}, prev_hash="0", format=3)
    with pytest.raises(ValueError):
        payload_text({"n": float("nan")}, 2)
