"""Recurrence: a value found once is a finding wherever it recurs, and a name's parts stand for the name.

Presidio judges each string alone, so a value it found in one sentence passes where it recurs without
context (a bare phone number scores 0.4, a name in a list is no sentence for spaCy). `Recurrences` is
filled with every string's findings in reading order (`gather`), then indexed (`build`), and then
answers, per string:
1. dataset-wide: each value found (3+ characters; from NER, two words or more; a number, 6 digits or
   more) is a finding wherever it recurs as a whole word sequence, with the score it had; names match
   with their case, other types ignore case. The first string in reading order to hold a value sets its
   type and score;
2. the parts of the names found (each capitalised word of 3+ letters of a PERSON): anywhere in the same
   record ("Sara Schwarz" in one turn, "Ms Schwarz" in the next, "Anna" twice in one sentence), and,
   for the parts of multi-word names that the name gazetteer knows, anywhere in the dataset where the
   part does not open a sentence.
   A sentence-initial "Will" or "Rose" is most often the word, so only the record that names Will
   Smith reads it as him there.
It also says which full name a part belongs to (`person_of`), so that "Hannah" in a reply takes the
placeholder of "Hannah Müller": the record's own name first, else the one name in the dataset that has
that part (accents and case folded: Chloé is Chloe). A part that belongs to several names of the
dataset and to none of its record keeps a placeholder of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from presidio_analyzer import RecognizerResult

from gateway.redaction.findings import decoded_value, is_ner, make_result
from gateway.redaction.names import gazetteer
from gateway.redaction.operators import TITLES, fold, name_words

PERSON = "PERSON"
# Entity types whose values are names: their recurrences must match with their case.
CASED_TYPES = frozenset({"PERSON", "LOCATION", "NRP", "ORGANIZATION", "STREET_ADDRESS"})
MIN_RECURRENCE = 3
PERSON_KEY = "ftgate_person"  # a PERSON finding's metadata: the full name it belongs to, as written

_WORD = re.compile(r"\w+")
_DIGITS = re.compile(r"[\s\-./()+]")  # separators inside a number: "1100-053", "(212) 555"
MIN_NUMBER_RECURRENCE = 6  # digits a value made only of digits needs before it spreads


def is_part(word: str) -> bool:
    """Whether one word of a name stands for the person alone: capitalised, letters, 3 or more."""
    return len(word) >= MIN_RECURRENCE and word[0].isupper() and word.isalpha()


class Recurrences:
    """Every recurrence of a found value, and of a found name's parts (see the module doc)."""

    def __init__(self, *, persons: bool) -> None:
        """`persons`: whether PERSON is redacted at all (without it, names have no parts to spread)."""
        self._persons = persons
        self._values: dict[str, tuple[str, float]] = {}
        self._index: SurfaceIndex | None = None
        self._parts: dict[str, tuple[str, float]] = {}  # part as written -> (PERSON, score)
        self._names_of_part: dict[str, set[str]] = {}  # folded part -> folded full names
        self._written: dict[str, str] = {}  # folded full name -> as first written (titles left out)
        self._saw_person = False

    def gather(self, text: str, results: list[RecognizerResult]) -> None:
        """Note the recurring values and the names among one string's findings."""
        for r in results:
            if decoded_value(r) is not None:
                continue  # an encoded segment recurs as itself only if encoded alike: found anyway
            surface = text[r.start : r.end]
            if r.entity_type == PERSON:
                self._saw_person = True
                self._note_name(surface, r.score)
            if len(surface.strip()) < MIN_RECURRENCE:
                continue
            digits = _DIGITS.sub("", surface)
            if digits.isdigit() and len(digits) < MIN_NUMBER_RECURRENCE:
                # A short number ("1317" was a postcode once) is as often a count, a year or an id.
                continue
            if is_ner(r) and len(_WORD.findall(surface)) < 2:
                # spaCy's one-word guesses ("Box" of "P.O. Box", a country read as a name) are its
                # commonest mistakes; spread across a dataset they would be most of the false
                # positives. Checked patterns and multi-word names spread.
                continue
            self._values.setdefault(surface, (r.entity_type, r.score))

    def _note_name(self, surface: str, score: float) -> None:
        words = name_words(surface)
        if len(words) < 2:
            return
        full = fold(" ".join(words))
        self._written.setdefault(full, without_titles(surface))
        for word in words:
            if is_part(word):
                self._names_of_part.setdefault(fold(word), set()).add(full)
                if gazetteer().is_name(word):
                    # Only a known given name or surname spreads alone: a part of a wrong guess
                    # ("Globex Mail" read as a person) would otherwise spread the mistake everywhere.
                    self._parts.setdefault(word, (PERSON, score))

    def name_parts(self) -> frozenset[str]:
        """Every part of every full name found in the dataset, folded: what no fake name may reuse."""
        return frozenset(self._names_of_part)

    def build(self) -> None:
        """Index what was gathered; no `gather` after this."""
        if self._values:
            self._index = SurfaceIndex(self._values, case_sensitive=CASED_TYPES)
        self._values = {}
        self._part_index = SurfaceIndex(self._parts, case_sensitive={PERSON}) if self._parts else None

    def needed(self) -> bool:
        """Whether any string could gain a finding: a value to spread, or a name to split."""
        return self._index is not None or (self._persons and self._saw_person)

    def dataset_extras(self, text: str, existing: list[RecognizerResult]) -> list[RecognizerResult]:
        """Recurrences in `text` of a value found anywhere, and name parts not opening a sentence."""
        extras = self._index.find(text, existing) if self._index is not None else []
        if self._persons and self._part_index is not None:
            found = self._part_index.find(text, [*existing, *extras])
            extras += [r for r in found if not opens_sentence(text, r.start)]
        return extras

    def record_extras(
        self, members: list[tuple[str, list[RecognizerResult]]]
    ) -> list[list[RecognizerResult]]:
        """For each (distinct string, findings) of one record: the parts of the record's names in it.

        Also stamps each single-part PERSON finding of the record with the full name it belongs to.
        """
        if not self._persons:
            return [[] for _ in members]
        names = self.record_names(members)
        parts: dict[str, tuple[str, float]] = {}
        for text, results in members:
            for r in results:
                if r.entity_type != PERSON:
                    continue
                words = name_words(text[r.start : r.end])
                # A one-word name too ("Anna had given Anna her address"), unless it is only spaCy's
                # guess at an unknown word: "Globex" read as a person must not spread through the
                # strings this record shares with others.
                if len(words) == 1 and is_ner(r) and not gazetteer().is_name(words[0]):
                    continue
                for word in words:
                    if is_part(word):
                        parts.setdefault(word, (PERSON, r.score))
        extras: list[list[RecognizerResult]] = []
        index = SurfaceIndex(parts, case_sensitive={PERSON}) if parts else None
        for text, results in members:
            found = index.find(text, results) if index is not None else []
            for r in [*results, *found]:
                if r.entity_type == PERSON:
                    self._stamp(r, text, names)
            extras.append(found)
        return extras

    @staticmethod
    def record_names(members: Iterable[tuple[str, list[RecognizerResult]]]) -> dict[str, dict[str, str]]:
        """Folded part -> {folded full name: as written}, for the multi-word PERSON findings of one record."""
        names: dict[str, dict[str, str]] = {}
        for text, results in members:
            for r in results:
                if r.entity_type != PERSON:
                    continue
                surface = text[r.start : r.end]
                words = name_words(surface)
                if len(words) >= 2:
                    full = fold(" ".join(words))
                    for word in words:
                        names.setdefault(fold(word), {}).setdefault(full, without_titles(surface))
        return names

    def _stamp(self, result: RecognizerResult, text: str, record_names: dict[str, dict[str, str]]) -> None:
        """Set the full name a one-word PERSON finding stands for, if the record or dataset says."""
        metadata: dict[str, Any] = result.recognition_metadata or {}
        if PERSON_KEY in metadata:
            return  # the first record to reach a string decides, as for its placeholder numbers
        words = name_words(text[result.start : result.end])
        if len(words) != 1:
            return
        part = fold(words[0])
        in_record = record_names.get(part, {})
        full: str | None
        if len(in_record) == 1:
            full = next(iter(in_record.values()))
        elif not in_record:
            full = self.person_of(words[0])
        else:
            return  # two people of this record share the name: no telling which
        if full is not None:
            result.recognition_metadata = {**metadata, PERSON_KEY: full}

    def person_of(self, surface: str) -> str | None:
        """The one full name of the dataset, as first written, that a one-word name belongs to."""
        words = name_words(surface)
        if len(words) != 1:
            return None
        owners = self._names_of_part.get(fold(words[0]), set())
        return self._written[next(iter(owners))] if len(owners) == 1 else None


def without_titles(surface: str) -> str:
    """A name as written, without the courtesy titles before it ("Mr. Müller" -> "Müller")."""
    words = list(_WORD.finditer(surface))
    first = next((w for w in words if w.group().casefold() not in TITLES), None)
    return surface[first.start() :].strip() if first is not None else surface.strip()


def opens_sentence(text: str, start: int) -> bool:
    """Whether `start` is the first word of a sentence (or of the text, or of a line)."""
    index = start - 1
    while index >= 0 and text[index] in " \t\"'“‘(*-":
        index -= 1
    return index < 0 or text[index] in ".!?:;\n\r"


class SurfaceIndex:
    """Finds known values in a text by their first word: one pass over the words, not one regex per value."""

    def __init__(self, values: dict[str, tuple[str, float]], *, case_sensitive: Iterable[str]) -> None:
        self._case_sensitive = frozenset(case_sensitive)
        self._by_first: dict[str, list[tuple[str, int, str, float]]] = {}
        for surface, (entity, score) in values.items():
            first = _WORD.search(surface)
            if first is not None:
                entry = (surface, first.start(), entity, score)
                self._by_first.setdefault(first.group().casefold(), []).append(entry)

    def find(self, text: str, existing: list[RecognizerResult]) -> list[RecognizerResult]:
        """Occurrences in `text` that no existing finding overlaps."""
        taken = [(r.start, r.end) for r in existing]
        out: list[RecognizerResult] = []
        for word in _WORD.finditer(text):
            for surface, offset, entity, score in self._by_first.get(word.group().casefold(), ()):
                start = word.start() - offset
                end = start + len(surface)
                if start < 0 or end > len(text):
                    continue
                piece = text[start:end]
                if entity in self._case_sensitive:
                    if piece != surface:
                        continue
                elif piece.casefold() != surface.casefold():
                    continue
                if (start > 0 and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum()):
                    continue  # part of a longer word or number
                if any(s < end and start < e for s, e in taken):
                    continue
                taken.append((start, end))
                out.append(make_result(entity, start, end, score, "recurrence"))
        return out
