"""Typed, dataset-wide placeholders (`<PERSON_1>`, `<EMAIL_ADDRESS_2>`) as a Presidio anonymizer operator."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from presidio_anonymizer.entities import InvalidParamError
from presidio_anonymizer.operators import Operator, OperatorType

from gateway.redaction.normalize import normalize

# What a placeholder looks like, so the second pass can tell ours from residual PII: a numbered
# pseudonym `<PERSON_1>` or a keyed hash `<PERSON#0123456789abcdef>`.
PLACEHOLDER_RE = re.compile(r"<[A-Z][A-Z0-9_]*(?:_[0-9]+|#[0-9a-f]{16})>")
HASH_HEX_CHARS = 16

# Types whose values are written with varying separators ("460-89-9847" / "460 89 9847"): these
# separators do not make a different value.
_SEPARATED_TYPES = frozenset(
    {"CREDIT_CARD", "IBAN_CODE", "PHONE_NUMBER", "US_SSN", "US_ITIN", "US_BANK_NUMBER", "UK_NHS"}
)
_SEPARATORS_RE = re.compile(r"[\s\-./()]+")


_NAME_WORD_RE = re.compile(r"\w+")
# Courtesy and academic titles, as written: a capitalised word after one is a surname, and "Mr. Müller"
# is Müller.
TITLE_WORDS = (
    "Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "Prof", "Sir", "Dame", "Madam", "Mme", "Mlle", "Herr", "Frau",
)  # fmt: skip
TITLES = frozenset(title.casefold() for title in TITLE_WORDS)


def canonical_value(entity_type: str, value: str) -> str:
    """The form of a value that decides its identity: whitespace, case and disguises never make a new one.

    A person's name also drops its accents and titles: Chloé Dubois is Chloe Dubois, Mr. Müller is Müller.
    """
    value = normalize(value).text
    if entity_type in _SEPARATED_TYPES:
        return _SEPARATORS_RE.sub("", value).casefold()
    if entity_type == "PERSON":
        return " ".join(name_words(fold(value)))
    return " ".join(value.split()).casefold()


def fold(text: str) -> str:
    """Accents, case and spacing folded ("Chloé  DUBOIS" is "chloe dubois")."""
    if text.isascii():  # the common case, on every word a gazetteer lookup folds
        plain = text
    else:
        decomposed = unicodedata.normalize("NFKD", text)
        plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(plain.casefold().split())


def name_words(surface: str) -> list[str]:
    """The words of a name as written, titles left out ("Mr. Müller" -> ["Müller"])."""
    return [word for word in _NAME_WORD_RE.findall(surface) if word.casefold() not in TITLES]


class Pseudonymizer:
    """Numbers each (entity type, value) in order of first sight; holds keyed HMACs, never the values.

    One instance per dataset, so the same value gets the same placeholder everywhere in it.
    """

    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("pseudonym key is empty")
        self._key = key
        self._numbers: dict[tuple[str, bytes], int] = {}
        self._next: Counter[str] = Counter()
        self._aliases: dict[tuple[str, str], str] = {}

    def alias(self, entity_type: str, surface: str, value: str) -> None:
        """Let `surface` (an encoded segment) stand for the `value` decoded from it."""
        self._aliases[(entity_type, surface)] = value

    @contextmanager
    def standing_for(self, aliases: Mapping[tuple[str, str], str]) -> Iterator[None]:
        """Within the block, each (type, surface) stands for its value: "Hannah" for "Hannah Müller".

        Scoped, because the same first name stands for another person in another record.
        """
        saved = {key: self._aliases[key] for key in aliases if key in self._aliases}
        self._aliases.update(aliases)
        try:
            yield
        finally:
            for key in aliases:
                self._aliases.pop(key, None)
            self._aliases.update(saved)

    def value_of(self, entity_type: str, surface: str) -> str:
        """What `surface` stands for: its alias if it has one, else itself."""
        return self._aliases.get((entity_type, surface), surface)

    def digest(self, entity_type: str, value: str) -> bytes:
        """HMAC-SHA256 of the canonical value, keyed with the pseudonym key and bound to the type."""
        value = self.value_of(entity_type, value)
        message = f"{entity_type}\x1f{canonical_value(entity_type, value)}".encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def number(self, entity_type: str, value: str) -> int:
        """The value's number within its type, assigning the next free one on first sight."""
        slot = (entity_type, self.digest(entity_type, value))
        number = self._numbers.get(slot)
        if number is None:
            self._next[entity_type] += 1
            number = self._numbers[slot] = self._next[entity_type]
        return number

    def placeholder(self, entity_type: str, value: str) -> str:
        """`<TYPE_N>` for this value."""
        return f"<{entity_type}_{self.number(entity_type, value)}>"

    def hashed(self, entity_type: str, value: str) -> str:
        """`<TYPE#hex>`: the first 64 bits of the keyed digest; stable across datasets with one key."""
        return f"<{entity_type}#{self.digest(entity_type, value).hex()[:HASH_HEX_CHARS]}>"


class PseudonymOperator(Operator):
    """Presidio operator `pseudonym`: replaces an entity with its `Pseudonymizer` placeholder.

    Presidio passes the entity type in `params["entity_type"]`; the caller passes the dataset's
    `Pseudonymizer` as `params["pseudonymizer"]`.
    """

    PSEUDONYMIZER = "pseudonymizer"

    def operate(self, text: str, params: dict[str, Any] | None = None) -> str:
        """Return the placeholder for `text`."""
        params = params or {}
        return params[self.PSEUDONYMIZER].placeholder(params["entity_type"], text)

    def validate(self, params: dict[str, Any] | None = None) -> None:
        """Require a `Pseudonymizer` and an entity type usable in a placeholder."""
        params = params or {}
        if not isinstance(params.get(self.PSEUDONYMIZER), Pseudonymizer):
            raise InvalidParamError("pseudonym operator needs a Pseudonymizer in params['pseudonymizer']")
        entity_type = params.get("entity_type")
        if not isinstance(entity_type, str) or not PLACEHOLDER_RE.fullmatch(f"<{entity_type}_1>"):
            raise InvalidParamError("pseudonym operator needs an UPPER_SNAKE entity type")

    def operator_name(self) -> str:
        """Name used in `OperatorConfig`."""
        return "pseudonym"

    def operator_type(self) -> OperatorType:
        """An anonymizer (it cannot be reversed)."""
        return OperatorType.Anonymize


class KeyedHashOperator(PseudonymOperator):
    """Presidio operator `keyed_hash`: `<TYPE#hex>` from the dataset's keyed HMAC (no key, no reversal).

    Unlike Presidio's own `hash` operator, which is an unkeyed SHA-256 that anyone can brute-force over
    the small space of phone numbers or SSNs.
    """

    def operate(self, text: str, params: dict[str, Any] | None = None) -> str:
        """Return the keyed-hash placeholder for `text`."""
        params = params or {}
        return params[self.PSEUDONYMIZER].hashed(params["entity_type"], text)

    def operator_name(self) -> str:
        """Name used in `OperatorConfig`."""
        return "keyed_hash"


class KeepLastMaskOperator(Operator):
    """Presidio operator `mask_keep_last`: every character but the last `keep_last` becomes `mask_char`.

    Presidio's `mask` needs a fixed `chars_to_mask`, which cannot follow each finding's length.
    """

    def operate(self, text: str, params: dict[str, Any] | None = None) -> str:
        """Return `text` masked."""
        params = params or {}
        keep = int(params.get("keep_last", 0))
        kept = text[len(text) - keep :] if 0 < keep < len(text) else ""
        return params.get("mask_char", "*") * (len(text) - len(kept)) + kept

    def validate(self, params: dict[str, Any] | None = None) -> None:
        """A one-character mask and a small non-negative count."""
        params = params or {}
        char = params.get("mask_char", "*")
        if not isinstance(char, str) or len(char) != 1:
            raise InvalidParamError("mask_char must be one character")
        keep = params.get("keep_last", 0)
        if not isinstance(keep, int) or keep < 0:
            raise InvalidParamError("keep_last must be a non-negative integer")

    def operator_name(self) -> str:
        """Name used in `OperatorConfig`."""
        return "mask_keep_last"

    def operator_type(self) -> OperatorType:
        """An anonymizer (it cannot be reversed)."""
        return OperatorType.Anonymize
