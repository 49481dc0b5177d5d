"""The record walk and rebuild: which strings of a record are analysed, and the record put back together.

A record is any JSON object. Every string value, every JSON number (as the text it was written as: a
card stored as an integer is still a card) and every string dict key is a *unit* of analysis, at any
depth. A unit is `(text, bare)`: `bare` marks a whitespace-free dict key or a number's text, a single
token without context, which the analysis reads without its NER recognizers.

Units are deduplicated dataset-wide by a 16-byte digest, so memory holds digests of the strings seen,
never the strings. `rebuild` walks a record again and swaps each string for its redaction, in the
record's own shape, counting findings per entity type and per field path for the scan report.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from gateway.errors import InvalidInput

# One unit of analysis: a distinct string, and whether it is a bare token (a whitespace-free dict key or
# a number's text).
Unit = tuple[str, bool]

KEY_SEGMENT = "{key}"  # field path of a finding inside a dict key
REDACTED_KEY_SEGMENT = "*"  # field path segment standing for a key that was redacted


@dataclass(frozen=True)
class Occurrence:
    """Where a unit stands in a record: its field path and the name of the key that holds it."""

    unit: Unit
    path: str
    key: str | None  # the nearest enclosing string key (for a list item, the list's key)


@dataclass(frozen=True)
class Redaction:
    """A unit's redacted text and the findings replaced in it, by entity type."""

    text: str
    entities: Counter[str]


@dataclass
class Tally:
    """Counts for one record; merged into the dataset's once the record is kept or dropped."""

    strings: int = 0
    entities: Counter[str] = field(default_factory=Counter)
    fields: Counter[str] = field(default_factory=Counter)
    residual: Counter[str] = field(default_factory=Counter)
    # (field path, entity type) -> residual findings there: what the report lists per record.
    residual_at: Counter[tuple[str, str]] = field(default_factory=Counter)
    record_changed: bool = False

    @property
    def record_residual(self) -> bool:
        return bool(self.residual)

    def merge(self, other: Tally, *, dropped: bool) -> None:
        self.strings += other.strings
        self.entities.update(other.entities)
        self.fields.update(other.fields)
        if not dropped:  # a dropped record's leftovers never reach the dataset
            self.residual.update(other.residual)


def digest(unit: Unit) -> bytes:
    """16 bytes standing for a distinct string (and its kind) in the scan's memory, not the string."""
    person = b"key-token" if unit[1] else b"text"
    # surrogatepass: JSON may carry a lone surrogate escape, which plain UTF-8 cannot encode.
    return hashlib.blake2b(unit[0].encode("utf-8", "surrogatepass"), digest_size=16, person=person).digest()


def is_key_token(key: str) -> bool:
    return not any(char.isspace() for char in key)


def is_number(value: Any) -> bool:
    # bool is an int subclass; true/false are never PII.
    return isinstance(value, int | float) and not isinstance(value, bool)


def number_unit(value: int | float) -> Unit:
    """A JSON number as the text it was written as (a card stored as an integer is still a card)."""
    return (repr(value), True)


def units_of(record: Any) -> dict[Unit, None]:
    """Every unit under `record`, in reading order, once each (an ordered set)."""
    return dict.fromkeys(occurrence.unit for occurrence in walk(record))


def walk(
    value: Any,
    path: str = "",
    key: str | None = None,
    *,
    renamed: Callable[[Unit], bool] | None = None,
    indexed: bool = False,
) -> Iterator[Occurrence]:
    """Every unit under `value` in reading order, with its field path and enclosing key.

    `renamed(unit)` says whether a key is redacted: paths below it then read `*`, as `rebuild` writes
    them, so a path never carries a redacted key's text. `indexed` writes list positions (`messages[1]`)
    where the report's counts write `messages[]`, to point at one string.
    """
    if isinstance(value, str):
        yield Occurrence((value, False), path, key)
    elif is_number(value):
        yield Occurrence(number_unit(value), path, key)
    elif isinstance(value, list):
        for position, item in enumerate(value):
            segment = f"[{position}]" if indexed else "[]"
            yield from walk(item, f"{path}{segment}", key, renamed=renamed, indexed=indexed)
    elif isinstance(value, dict):
        for item_key, item in value.items():
            segment = str(item_key)
            if isinstance(item_key, str):
                unit = (item_key, is_key_token(item_key))
                yield Occurrence(unit, join(path, KEY_SEGMENT), key)
                if renamed is not None and renamed(unit):
                    segment = REDACTED_KEY_SEGMENT
            child_key = item_key if isinstance(item_key, str) else key
            yield from walk(item, join(path, segment), child_key, renamed=renamed, indexed=indexed)


def join(path: str, segment: str) -> str:
    return f"{path}.{segment}" if path else segment


def rebuild(
    value: Any,
    path: str,
    redactions: dict[bytes, Redaction],
    residuals: dict[bytes, Counter[str]],
    tally: Tally,
    record_index: int,
) -> Any:
    """`value` with every unit redacted, counting into `tally`; same shape, keys redacted too.

    Raises `InvalidInput` if two keys of one object would redact to the same text.
    """
    if isinstance(value, str):
        return _visit((value, False), path, redactions, residuals, tally)
    if is_number(value):
        # A redacted number becomes its placeholder string; an untouched one keeps its type.
        unit = number_unit(value)
        redacted = _visit(unit, path, redactions, residuals, tally)
        return value if redacted == unit[0] else redacted
    if isinstance(value, list):
        return [rebuild(item, f"{path}[]", redactions, residuals, tally, record_index) for item in value]
    if isinstance(value, dict):
        rebuilt: dict[Any, Any] = {}
        for key, item in value.items():
            new_key, segment = key, str(key)
            if isinstance(key, str):
                unit = (key, is_key_token(key))
                new_key = _visit(unit, join(path, KEY_SEGMENT), redactions, residuals, tally)
                if new_key != key or digest(unit) in residuals:
                    # The path names the key's position, never its text once it held a finding.
                    segment = REDACTED_KEY_SEGMENT
            if new_key in rebuilt:
                raise InvalidInput(f"record {record_index}: two keys redact to the same placeholder")
            child_path = join(path, segment)
            rebuilt[new_key] = rebuild(item, child_path, redactions, residuals, tally, record_index)
        return rebuilt
    return value


def _visit(
    unit: Unit,
    path: str,
    redactions: dict[bytes, Redaction],
    residuals: dict[bytes, Counter[str]],
    tally: Tally,
) -> str:
    tally.strings += 1
    if not redactions and not residuals:
        return unit[0]
    key = digest(unit)
    residual = residuals.get(key)
    if residual:
        # A string may hold residual findings whether or not anything in it was replaced.
        tally.residual.update(residual)
        for entity, count in residual.items():
            tally.residual_at[(path, entity)] += count
    redaction = redactions.get(key)
    if redaction is None:
        return unit[0]
    tally.record_changed = True
    tally.entities.update(redaction.entities)
    tally.fields[path] += sum(redaction.entities.values())
    return redaction.text
