"""Undo disguises before analysis, keeping a map back to the original text's offsets.

Presidio's recognizers read the text as written, so `jane＠example.com`, `ja\u200bne@example.com`,
`Јohn Smith` (Cyrillic J) or `4 4 5 4 7 9 4 5 1 1 3 9 0 9 3 3` slip past them. `normalize` returns a
text a recognizer can read and, for every character of it, the span of original characters it came
from, so a finding is mapped back (`Normalized.original_span`) and the original characters, disguise
included, are what gets replaced. Steps, per original character:

1. invisible characters (Unicode format characters: zero-width space/joiners, word joiner, BOM, soft
   hyphen, bidi controls; variation selectors) are dropped;
2. NFKC, per character: full-width letters and digits, `＠`, ligatures, circled and super/subscript
   digits become their plain forms (a character may expand, e.g. `ﬁ` -> `fi`: every piece maps to it);
3. confusable Cyrillic and Greek letters become the Latin letter they imitate, but only inside a
   token that also holds Latin letters, digits or `@`: mixed script inside one word is the disguise;
   a word wholly in Cyrillic or Greek is left as it is (it is probably Russian or Greek);
4. digits split into groups of one or two by spaces, dots, dashes or similar (`4 4 5 4 7 9 ...`,
   `2-1-2-5-5-5-0-1-7-8`) are joined, when the run holds at least 9 digits. Ordinary groupings (cards in
   fours, phones 3-3-4, SSNs 3-2-4, IPs, dates) always have a group of 3 or more and are left alone.

Encoded segments (base64, URL-encoding, hex) are a different matter: their decoded text has no offset
map worth having, so `encoded_segments` returns each segment's span and decoded text, and the caller
redacts the whole segment if the decoded text holds a finding.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote

# Cyrillic and Greek letters that render like a Latin one (Unicode confusables, the common subset).
CONFUSABLES: dict[str, str] = {
    # Cyrillic lower case
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "һ": "h", "ӏ": "l",
    "ԛ": "q", "ԝ": "w", "ь": "b", "ү": "y", "ѵ": "v",
    # Cyrillic upper case
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "У": "Y", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S", "Ԁ": "D", "Һ": "H", "Ӏ": "I",
    "Ԛ": "Q", "Ԝ": "W", "Ү": "Y", "Ѵ": "V",
    # Greek
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "ο": "o", "ρ": "p", "ι": "i", "κ": "k",
    "ν": "v", "υ": "u", "α": "a", "τ": "t", "χ": "x", "ϲ": "c", "ϳ": "j",
}  # fmt: skip

_SPLIT_DIGITS = re.compile(r"(?<![\w])\d{1,2}(?:[ .\-_/·•]\d{1,2}){4,}(?![\w])")
_MIN_SPLIT_DIGITS = 9
_TOKEN = re.compile(r"\S+")

_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{12,}={0,2}(?![A-Za-z0-9+/=_-])")
_HEX = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){8,}(?![0-9A-Fa-f])")
# A segment starts where a run of non-blanks starts or after a `%`, and its runs are possessive: started
# at every character of a long run, the search would read to the run's end from each (64 s on
# "a" * 60000 + "%"). The matches are the same: a start inside a run reaches the same `%` as the run's
# first character, so it matches only if that one did (tests/unit/redaction/test_linear_time.py).
_URL_ENCODED = re.compile(r"(?<![^\s%])[^\s%]*+(?:%[0-9A-Fa-f]{2}[^\s%]*+)++")
_MIN_DECODED = 6
_URL_DELIMITERS = re.compile(r"[?&=#/:;]")


def _invisible(char: str) -> bool:
    if unicodedata.category(char) == "Cf":  # zero-width, joiners, BOM, soft hyphen, bidi controls
        return True
    code = ord(char)
    return 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF  # variation selectors


@dataclass(frozen=True)
class Normalized:
    """The normalised text and, per character of it, the original span it came from (None: unchanged)."""

    text: str
    starts: tuple[int, ...] | None = None
    ends: tuple[int, ...] | None = None

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original characters behind normalised `[start, end)`."""
        if self.starts is None or self.ends is None:
            return start, end
        return self.starts[start], self.ends[end - 1]


def normalize(text: str) -> Normalized:
    """`text` with the disguises above undone, and the offset map back."""
    if text.isascii() and not _SPLIT_DIGITS.search(text):
        return Normalized(text)  # the common case, at the cost of two C-level scans
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for index, char in enumerate(text):
        if char.isascii():  # fast path: nothing to undo
            chars.append(char)
            starts.append(index)
            ends.append(index + 1)
            continue
        if _invisible(char):
            continue
        for piece in unicodedata.normalize("NFKC", char):
            chars.append(piece)
            starts.append(index)
            ends.append(index + 1)
    _map_confusables(chars)
    out = "".join(chars)
    if _SPLIT_DIGITS.search(out):
        out, starts, ends = _join_split_digits(out, starts, ends)
    if out == text:
        return Normalized(text)
    return Normalized(out, tuple(starts), tuple(ends))


def _map_confusables(chars: list[str]) -> None:
    """In place: confusables to Latin, within tokens that also hold Latin letters, digits or `@`."""
    if all(char.isascii() for char in chars):
        return
    text = "".join(chars)
    for match in _TOKEN.finditer(text):
        token = match.group()
        if not any(char in CONFUSABLES for char in token):
            continue
        if not any(char.isascii() and (char.isalnum() or char == "@") for char in token):
            continue
        for offset, char in enumerate(token):
            latin = CONFUSABLES.get(char)
            if latin is not None:
                chars[match.start() + offset] = latin


# Joined digits are regrouped the way the recognizers expect the common lengths to be written: 9 as an
# SSN (3-2-4), 10 as a North American phone (3-3-4); other lengths (cards, IBAN digits) stay unbroken.
_REGROUP = {9: (3, 5), 10: (3, 6)}


def _join_split_digits(text: str, starts: list[int], ends: list[int]) -> tuple[str, list[int], list[int]]:
    out: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    cursor = 0
    for match in _SPLIT_DIGITS.finditer(text):
        digits = [i for i in range(match.start(), match.end()) if text[i].isdigit()]
        if len(digits) < _MIN_SPLIT_DIGITS:
            continue
        for i in range(cursor, match.start()):
            out.append(text[i])
            new_starts.append(starts[i])
            new_ends.append(ends[i])
        dashes = _REGROUP.get(len(digits), ())
        for n, i in enumerate(digits):
            if n in dashes:  # an inserted dash stands for the separator it replaces
                out.append("-")
                new_starts.append(starts[i])
                new_ends.append(starts[i])
            out.append(text[i])
            new_starts.append(starts[i])
            new_ends.append(ends[i])
        cursor = match.end()
    for i in range(cursor, len(text)):
        out.append(text[i])
        new_starts.append(starts[i])
        new_ends.append(ends[i])
    return "".join(out), new_starts, new_ends


@dataclass(frozen=True)
class Segment:
    """An encoded run of the original text and what it decodes to."""

    start: int
    end: int
    encoding: str
    decoded: str


def _readable(data: bytes) -> str | None:
    """The bytes as text if they are UTF-8 and mostly printable: decoding noise is not text."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(text.strip()) < _MIN_DECODED:
        return None
    printable = sum(char.isprintable() or char in "\n\t" for char in text)
    return text if printable == len(text) else None


def _decode_base64(segment: str) -> bytes | None:
    padded = segment + "=" * (-len(segment) % 4)
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            return decode(padded.encode("ascii"))
        except (binascii.Error, ValueError):
            continue
    return None


def encoded_segments(text: str) -> list[Segment]:
    """Base64, hex and URL-encoded runs of `text` whose decoded form is readable text."""
    segments: list[Segment] = []
    if "%" in text:
        for match in _URL_ENCODED.finditer(text):
            # Sentence punctuation after a link is not part of it.
            raw = match.group().rstrip(".,;:!?)]}'\"")
            decoded = unquote(raw, errors="strict") if _valid_percent(raw) else None
            if decoded and decoded != raw and len(decoded.strip()) >= _MIN_DECODED:
                # URL delimiters read as spaces, so `?u=jane@example.com` is read as an address.
                spaced = _URL_DELIMITERS.sub(" ", decoded)
                segments.append(Segment(match.start(), match.start() + len(raw), "url", spaced))
    for match in _HEX.finditer(text):
        from_hex = _readable(bytes.fromhex(match.group()))
        if from_hex is not None:
            segments.append(Segment(match.start(), match.end(), "hex", from_hex))
    covered = _Coverage(segments)
    for match in _BASE64.finditer(text):
        if covered(match.start()):
            continue  # already read as hex
        data = _decode_base64(match.group())
        from_base64 = _readable(data) if data is not None else None
        if from_base64 is not None:
            segments.append(Segment(match.start(), match.end(), "base64", from_base64))
    return segments


class _Coverage:
    """Whether a position lies inside one of `segments`, asked for positions in increasing order.

    Linear over a text, where testing every segment for each base64 run took quadratic time on a text
    of many short hex runs (each of them both a hex segment and a base64 run).
    """

    def __init__(self, segments: list[Segment]) -> None:
        self._spans = sorted((s.start, s.end) for s in segments)
        self._next = 0
        self._reach = -1  # the furthest end among the spans that start at or before the last position

    def __call__(self, position: int) -> bool:
        while self._next < len(self._spans) and self._spans[self._next][0] <= position:
            self._reach = max(self._reach, self._spans[self._next][1])
            self._next += 1
        return position < self._reach


def _valid_percent(segment: str) -> bool:
    try:
        unquote(segment, errors="strict")
    except UnicodeDecodeError:
        return False
    return True
