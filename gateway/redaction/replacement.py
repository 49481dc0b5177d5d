"""Replacing one string's findings, by the operators compliance chose for each entity type.

An NER finding is first cut around pattern findings of another type inside it
(`spans.split_ner_around_patterns`), then Presidio's anonymizer resolves what still overlaps
(`REMOVE_INTERSECTIONS`: the higher score keeps the shared characters, nothing of either survives) and
applies each type's operator. `pseudonym` placeholders are numbered in reading order, by the scan's one
`Pseudonymizer`, so the same value gets the same number across the dataset; a one-word name that stands
for a fuller one ("Hannah" for "Hannah Müller", `recurrence.PERSON_KEY`) takes that name's number.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from presidio_analyzer import RecognizerResult
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import ConflictResolutionStrategy, OperatorConfig
from presidio_anonymizer.entities import RecognizerResult as AnonymizerResult

from gateway.redaction.config import RedactionConfig
from gateway.redaction.engine import build_anonymizer
from gateway.redaction.findings import decoded_value, is_ner
from gateway.redaction.operators import (
    KeepLastMaskOperator,
    KeyedHashOperator,
    Pseudonymizer,
    PseudonymOperator,
)
from gateway.redaction.recurrence import PERSON, PERSON_KEY
from gateway.redaction.spans import Mark, split_ner_around_patterns
from gateway.redaction.surrogates import SurrogateOperator, Surrogates

_CONFLICTS = ConflictResolutionStrategy.REMOVE_INTERSECTIONS
_KEEP = {"DEFAULT": OperatorConfig("keep")}
_PSEUDONYM = PseudonymOperator().operator_name()
_KEYED_HASH = KeyedHashOperator().operator_name()
_MASK = KeepLastMaskOperator().operator_name()

# The full name (as written) a one-word PERSON value belongs to, if the dataset says.
PersonOf = Callable[[str], str | None]


class Replacer:
    """Replaces findings for one scan; its `Pseudonymizer` numbers values across the whole dataset."""

    def __init__(self, *, config: RedactionConfig, key: bytes) -> None:
        self._pseudonymizer = pseudonymizer = Pseudonymizer(key)
        self._anonymizer: AnonymizerEngine = build_anonymizer()
        self._surrogates: Surrogates | None = None
        # PERSON surface -> the full name it stands for, for the string being replaced (see `replace`).
        self._full_names: dict[str, str] = {}
        entities = config.enabled()
        self._pseudonymised = frozenset(
            e for e in entities if config.operator(e) in ("pseudonym", "drop_record")
        )
        pseudonym = OperatorConfig(_PSEUDONYM, {PseudonymOperator.PSEUDONYMIZER: pseudonymizer})
        self._operators: dict[str, OperatorConfig] = {"DEFAULT": pseudonym}
        for entity in entities:
            match config.operator(entity):
                case "hash":
                    keyed = {KeyedHashOperator.PSEUDONYMIZER: pseudonymizer}
                    self._operators[entity] = OperatorConfig(_KEYED_HASH, keyed)
                case "mask":
                    rule = config.rule(entity)
                    mask = {"mask_char": rule.mask_char, "keep_last": rule.keep_last}
                    self._operators[entity] = OperatorConfig(_MASK, mask)
                case "surrogate":
                    surrogates = self._surrogates_for(key)
                    params = {
                        SurrogateOperator.SURROGATES: surrogates,
                        SurrogateOperator.FULL_NAMES: self._full_names,
                    }
                    self._operators[entity] = OperatorConfig(SurrogateOperator().operator_name(), params)
                case _:
                    # drop_record too: its record is left out, the placeholder is never seen.
                    self._operators[entity] = pseudonym

    def _surrogates_for(self, key: bytes) -> Surrogates:
        if self._surrogates is None:
            self._surrogates = Surrogates(key)
            self._anonymizer.add_anonymizer(SurrogateOperator)
        return self._surrogates

    def avoid_person_names(self, parts: Iterable[str]) -> None:
        """The name parts of the dataset's real people, which no surrogate name may reuse."""
        if self._surrogates is not None:
            self._surrogates.avoid_names(parts)

    def replace(
        self, text: str, results: list[RecognizerResult], marks: list[Mark], person_of: PersonOf
    ) -> tuple[str, Counter[str], list[Mark]]:
        """`text` with each finding replaced, the replaced findings by type, and every replaced span.

        `marks` are the spans an earlier round replaced in `text`; `results` must lie outside them
        (`spans.outside`). The marks returned are those moved to the new text, and the new ones.
        """
        for r in results:
            decoded = decoded_value(r)
            if decoded is not None:
                self._pseudonymizer.alias(r.entity_type, text[r.start : r.end], decoded)
                if self._surrogates is not None:
                    self._surrogates.alias(r.entity_type, text[r.start : r.end], decoded)
        pieces = split_ner_around_patterns(text, results, is_ner)
        findings = [AnonymizerResult(r.entity_type, r.start, r.end, r.score) for r in pieces]
        # Presidio operates right to left; a first pass with `keep` yields the resolved spans so that
        # numbers are handed out left to right.
        resolved = self._anonymizer.anonymize(text, findings, _KEEP, conflict_resolution=_CONFLICTS)
        spans = sorted(resolved.items, key=lambda item: item.start)
        people = _people(text, pieces, person_of)
        self._full_names.clear()
        self._full_names.update({surface: full for (_, surface), full in people.items()})
        with self._pseudonymizer.standing_for(people):
            for span in spans:
                if span.entity_type in self._pseudonymised:
                    self._pseudonymizer.number(span.entity_type, span.text)
            replaced = self._anonymizer.anonymize(
                text, findings, self._operators, conflict_resolution=_CONFLICTS
            )
        written = sorted(replaced.items, key=lambda item: item.start)
        new_marks = [(item.start, item.end, item.entity_type) for item in written]
        # Each earlier mark moves by what the replacements before it changed in length.
        moved: list[Mark] = []
        for start, end, entity in marks:
            shift = sum(
                (out.end - out.start) - (span.end - span.start)
                for span, out in zip(spans, written, strict=True)
                if span.end <= start
            )
            moved.append((start + shift, end + shift, entity))
        return replaced.text, Counter(span.entity_type for span in spans), sorted(moved + new_marks)


def _people(text: str, results: list[RecognizerResult], person_of: PersonOf) -> dict[tuple[str, str], str]:
    """(PERSON, surface) -> the full name a one-word name in `text` stands for, where one is known."""
    aliases: dict[tuple[str, str], str] = {}
    for r in results:
        if r.entity_type != PERSON:
            continue
        surface = text[r.start : r.end]
        full = (r.recognition_metadata or {}).get(PERSON_KEY) or person_of(surface)
        if full:
            aliases[(PERSON, surface)] = full
    return aliases
