"""Scan every string of a dataset with Presidio and replace each finding with a typed placeholder.

What is found and how it is replaced comes from the compliance-owned `RedactionConfig`
(policies/ftgate/redaction/data.json): entity types, a threshold per type, an operator per type
(pseudonym, mask, keyed hash, drop the record), an allow-list and custom regex recognizers with
context words, passed to Presidio per call so the shared analyzer is never changed.

A scan:
1. collects every string value, JSON number (as its text: a card stored as an integer is still a
   card) and string dict key, in reading order, once per distinct string;
2. analyses the distinct non-blank strings in spaCy batches (Presidio's `BatchAnalyzerEngine`), each
   with its disguises undone (`normalize`: NFKC, invisible characters, homoglyphs, split digits) and
   the findings mapped back to the original offsets, plus the decoded text of each base64, hex or
   URL-encoded segment (a finding there takes the whole segment). A key without whitespace, and a
   number, is one token with no context, where spaCy's NER guesses (the small model calls
   "metadata" a PERSON), so such units get every recognizer but the NER ones: a key like
   `jane@example.com` is still caught, a key like `metadata` is left alone. Each finding must reach
   its own type's threshold and not be on the allow-list; then every recurrence of a found value in
   the dataset, and of a found name's parts within its record, is a finding too;
3. replaces the findings: an NER finding is first cut around pattern findings of another type inside
   it (`spans.split_ner_around_patterns`), then Presidio's anonymizer resolves what still overlaps
   (`REMOVE_INTERSECTIONS`: the higher score keeps the shared characters, nothing of either survives)
   and applies each type's operator; `pseudonym` placeholders are numbered in reading order;
4. analyses the strings it changed again. Changing a string changes the context spaCy sees, so this
   second pass sometimes finds a name the first missed: up to `redaction_rounds` rounds redact those
   too, and whatever the check after the last round still finds outside a placeholder is
   `residual_findings`. With `redaction_rounds=1` that check is a plain second pass;
5. rebuilds the records in their original shape (a redacted number becomes its placeholder string),
   leaves out each record holding a `drop_record` type, and counts, per occurrence, for the report.

Strings with no finding are not analysed again: Presidio is deterministic, so they would give the
same empty answer.
"""

from __future__ import annotations

import copy
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import structlog
from presidio_analyzer import (
    AnalyzerEngine,
    BatchAnalyzerEngine,
    EntityRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerResult,
)
from presidio_analyzer.predefined_recognizers import SpacyRecognizer
from presidio_anonymizer.entities import ConflictResolutionStrategy, OperatorConfig
from presidio_anonymizer.entities import RecognizerResult as AnonymizerResult

from gateway.errors import ConfigError, InvalidInput, RedactionError
from gateway.redaction.config import RedactionConfig, default_config
from gateway.redaction.engine import build_analyzer, build_anonymizer, describe_analyzer
from gateway.redaction.normalize import encoded_segments, normalize
from gateway.redaction.operators import (
    KeepLastMaskOperator,
    KeyedHashOperator,
    Pseudonymizer,
    PseudonymOperator,
    canonical_value,
)
from gateway.redaction.report import ScanReport, ScanResult
from gateway.redaction.spans import outside_placeholders, split_ner_around_patterns

log = structlog.get_logger(__name__)

BATCH_SIZE = 64
SAMPLE_SIZE = 3
KEY_SEGMENT = "{key}"  # field path of a finding inside a dict key
REDACTED_KEY_SEGMENT = "*"  # field path segment standing for a key that was redacted
_CONFLICTS = ConflictResolutionStrategy.REMOVE_INTERSECTIONS
_KEEP = {"DEFAULT": OperatorConfig("keep")}
_PSEUDONYM = PseudonymOperator().operator_name()
_KEYED_HASH = KeyedHashOperator().operator_name()
_MASK = KeepLastMaskOperator().operator_name()
_ENCODED_ID = "ftgate-encoded-segment"
_DECODED_VALUE = "ftgate_decoded_value"


# One unit of analysis: a distinct string, and whether it is a whitespace-free dict key or a number's
# text (analysed without the NER recognizers: one token, no context).
_Unit = tuple[str, bool]


@dataclass(frozen=True)
class _Redaction:
    text: str
    entities: Counter[str]


@dataclass
class _Tally:
    """Counts for one record; merged into the dataset's once the record is kept or dropped."""

    strings: int = 0
    entities: Counter[str] = field(default_factory=Counter)
    fields: Counter[str] = field(default_factory=Counter)
    residual: Counter[str] = field(default_factory=Counter)
    record_changed: bool = False
    record_residual: bool = False

    def merge(self, other: _Tally, *, dropped: bool) -> None:
        self.strings += other.strings
        self.entities.update(other.entities)
        self.fields.update(other.fields)
        if not dropped:  # a dropped record's leftovers never reach the dataset
            self.residual.update(other.residual)


class Scanner:
    """Redacts datasets with one Presidio analyzer; `scan` is the one call an upload makes."""

    def __init__(
        self,
        *,
        pseudonym_key: bytes,
        config: RedactionConfig | None = None,
        score_threshold: float | None = None,
        language: str = "en",
        analyzer: AnalyzerEngine | None = None,
        redaction_rounds: int = 2,
    ) -> None:
        """Set up a scanner; only `pseudonym_key` is required.

        `config` defaults to `default_config()`; `score_threshold`, if given, replaces its
        `default_threshold`. `analyzer` defaults to the process-wide `build_analyzer()`; custom
        recognizers are passed per call, so a shared analyzer is never changed. `redaction_rounds` bounds
        how often the redacted output is analysed and redacted again (1: redact once, then only check).
        """
        if not isinstance(pseudonym_key, bytes) or not pseudonym_key:
            raise ConfigError("pseudonym_key must be non-empty bytes")
        config = config or default_config()
        if score_threshold is not None:
            if not 0.0 <= score_threshold <= 1.0:
                raise ConfigError(f"score_threshold must be within [0, 1], got {score_threshold}")
            config = config.model_copy(update={"default_threshold": score_threshold})
        if redaction_rounds < 1:
            raise ConfigError(f"redaction_rounds must be at least 1, got {redaction_rounds}")
        if analyzer is None:
            try:
                analyzer = build_analyzer()
            except Exception as exc:
                raise _failure(exc) from None
        if language not in analyzer.supported_languages:
            raise ConfigError(f"language {language!r} is not one of {analyzer.supported_languages}")
        self._pseudonym_key = pseudonym_key
        self.config = config
        self.config_sha256 = config.sha256()
        self.score_threshold = config.default_threshold
        self.language = language
        self.redaction_rounds = redaction_rounds
        self._batch = BatchAnalyzerEngine(analyzer_engine=analyzer)
        self._anonymizer = build_anonymizer()
        self._ad_hoc: list[EntityRecognizer] = [
            PatternRecognizer(
                supported_entity=spec.entity,
                name=spec.name,
                supported_language=language,
                patterns=[Pattern(p.name, p.regex, p.score) for p in spec.patterns],
                context=list(spec.context),
            )
            for spec in config.recognizers
        ]
        known = set(analyzer.get_supported_entities(language)) | {spec.entity for spec in config.recognizers}
        unknown = sorted(set(config.enabled()) - known)
        if unknown:
            # A typo must not switch an entity off quietly.
            raise ConfigError(f"redaction config names entities no recognizer finds: {', '.join(unknown)}")
        self._entities = config.enabled()
        if not self._entities:
            raise ConfigError("redaction config enables no entity type")
        self._thresholds = {entity: config.threshold(entity) for entity in self._entities}
        self._min_threshold = min(self._thresholds.values())
        self._drop = frozenset(e for e in self._entities if config.operator(e) == "drop_record")
        self._pseudonymised = frozenset(
            e for e in self._entities if config.operator(e) in ("pseudonym", "drop_record")
        )
        self._allowed: dict[str, frozenset[str]] = {}
        ner_entities = set(analyzer.nlp_engine.get_supported_entities())
        self._ner_entities = frozenset(ner_entities)
        # Stanza and transformers recognizers subclass SpacyRecognizer: any NLP-engine NER counts.
        self._ner_ids = {r.id for r in analyzer.registry.recognizers if isinstance(r, SpacyRecognizer)}
        self._key_entities = sorted(set(self._entities) - ner_entities)
        self.analyzer_name = describe_analyzer(analyzer, language)

    def scan(self, records: list[dict[str, Any]]) -> ScanResult:
        """Redact every string (values and keys, at any depth) and report what was found.

        Raises `RedactionError` if Presidio or spaCy fails (fail closed) and `InvalidInput` if a record
        is not an object or two of its keys would redact to the same placeholder.
        """
        started = time.perf_counter()
        for index, record in enumerate(records):
            if not isinstance(record, dict):
                raise InvalidInput(f"record {index} is not a JSON object")
        units: dict[_Unit, None] = {}
        record_units: list[list[_Unit]] = []
        for record in records:
            mine: dict[_Unit, None] = {}
            _collect(record, mine)
            record_units.append(list(mine))
            units.update(mine)
        try:
            redactions, residuals = self._redact(list(units), record_units)
        except Exception as exc:
            raise _failure(exc) from None

        tally = _Tally()
        redacted: list[dict[str, Any]] = []
        sample: list[dict[str, Any]] = []
        records_changed = records_dropped = 0
        for index, record in enumerate(records):
            record_tally = _Tally()
            new_record = _rebuild(record, "", redactions, residuals, record_tally, index)
            dropped = bool(self._drop & record_tally.entities.keys())
            tally.merge(record_tally, dropped=dropped)
            if dropped:
                records_dropped += 1
                continue
            redacted.append(new_record)
            if record_tally.record_changed:
                records_changed += 1
                # A record with residual PII could show it: never sample one.
                if not record_tally.record_residual and len(sample) < SAMPLE_SIZE:
                    sample.append(copy.deepcopy(new_record))

        report = ScanReport(
            records=len(records),
            records_changed=records_changed,
            records_dropped=records_dropped,
            strings_scanned=tally.strings,
            entities=dict(sorted(tally.entities.items())),
            fields=dict(sorted(tally.fields.items())),
            residual_findings=sum(tally.residual.values()),
            residual_entities=dict(sorted(tally.residual.items())),
            score_threshold=self.score_threshold,
            thresholds=dict(sorted(self._thresholds.items())),
            operators={entity: self.config.operator(entity) for entity in sorted(tally.entities)},
            config_sha256=self.config_sha256,
            analyzer=self.analyzer_name,
            sample=sample,
        )
        log.info(
            "redaction.scanned",
            records=report.records,
            records_changed=report.records_changed,
            records_dropped=report.records_dropped,
            strings=report.strings_scanned,
            distinct_strings=len(units),
            findings=sum(report.entities.values()),
            residual=report.residual_findings,
            seconds=round(time.perf_counter() - started, 3),
        )
        return ScanResult(redacted=redacted, report=report)

    def analyze_texts(self, texts: list[str]) -> list[list[RecognizerResult]]:
        """The findings a scan would act on for each text (original offsets), each text one record.

        For measuring the scanner (benchmarks/redaction_efficacy.py) against plain Presidio: the same
        normalising, decoding, thresholds, allow-list and recurrence as `scan`, before replacement.
        """
        units: list[_Unit] = [(text, False) for text in dict.fromkeys(texts)]
        try:
            found = self._analyze(units)
            self._add_recurrences(found, units, [[unit] for unit in units])
        except Exception as exc:
            raise _failure(exc) from None
        return [found.get((text, False), []) for text in texts]

    def _analyze(self, units: Iterable[_Unit]) -> dict[_Unit, list[RecognizerResult]]:
        """Findings at or above their entity's threshold for each distinct non-blank unit, not allowed.

        Presidio gets the lowest threshold of all; each finding is then held to its own entity's.
        """
        found: dict[_Unit, list[RecognizerResult]] = {}
        distinct = dict.fromkeys(unit for unit in units if unit[0].strip())
        for key_token in (False, True):
            texts = [text for text, is_key in distinct if is_key == key_token]
            entities = self._key_entities if key_token else self._entities
            # An empty list would mean "every entity" to Presidio.
            if not texts or not entities:
                continue
            # What Presidio reads: each text with its disguises undone, and the decoded form of each
            # encoded segment in it, every distinct string once.
            views = {text: normalize(text) for text in texts}
            segments = {text: encoded_segments(text) for text in texts}
            decoded = {seg.decoded: normalize(seg.decoded).text for segs in segments.values() for seg in segs}
            readable = list(dict.fromkeys([*(view.text for view in views.values()), *decoded.values()]))
            results = self._batch.analyze_iterator(
                readable,
                language=self.language,
                batch_size=BATCH_SIZE,
                score_threshold=self._min_threshold,
                entities=entities,
                ad_hoc_recognizers=self._ad_hoc or None,
            )
            by_text = dict(zip(readable, results, strict=True))
            for text in texts:
                view = views[text]
                kept = []
                for r in self._kept(view.text, by_text[view.text]):
                    start, end = view.original_span(r.start, r.end)
                    kept.append(_result(r.entity_type, start, end, r.score, r.recognition_metadata))
                for seg in segments[text]:
                    # A finding inside an encoded segment takes the whole segment: a part of an encoding
                    # left in place would still decode to part of the value.
                    hits = self._kept(decoded[seg.decoded], by_text[decoded[seg.decoded]])
                    if hits:
                        # A checked pattern names the segment before an NER guess on decoded text.
                        best = max(hits, key=lambda r: (not self._is_ner(r), r.score))
                        metadata = {
                            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: _ENCODED_ID,
                            RecognizerResult.RECOGNIZER_NAME_KEY: f"encoded-{seg.encoding}",
                            # So the segment gets the placeholder its decoded value would get.
                            _DECODED_VALUE: decoded[seg.decoded][best.start : best.end],
                        }
                        # Score 1: a decoded finding is checked evidence, so it must win over an NER
                        # guess that reads the encoded run as a name.
                        kept.append(_result(best.entity_type, seg.start, seg.end, 1.0, metadata))
                found[(text, key_token)] = self._drop_ner_over_segments(kept)
        return found

    def _drop_ner_over_segments(self, results: list[RecognizerResult]) -> list[RecognizerResult]:
        """An NER guess overlapping a decoded segment is spaCy reading the encoding as a word: drop it."""
        segments = [r for r in results if (r.recognition_metadata or {}).get(_DECODED_VALUE) is not None]
        if not segments:
            return results
        return [
            r
            for r in results
            if not (self._is_ner(r) and any(s.start < r.end and r.start < s.end for s in segments))
        ]

    def _add_recurrences(
        self,
        found: dict[_Unit, list[RecognizerResult]],
        units: list[_Unit],
        record_units: list[list[_Unit]],
    ) -> None:
        """In place: every recurrence of a found value, and of a found name's parts within its record.

        Presidio judges each string alone, so a value it found in one sentence passes where it recurs
        without context (a bare phone number scores 0.4, a name in a list is no sentence for spaCy).
        1. dataset-wide: each value found (3+ characters; from NER, two words or more) is a finding
           wherever it recurs as a whole word sequence, with the score it had; names match with their
           case, other types ignore case;
        2. record-wide: each capitalised part (3+ letters) of a multi-word PERSON is a PERSON anywhere
           in the same record ("Sara Schwarz" in one turn, "Ms Schwarz" in the next). Limited to the
           record, because "Will" or "Rose" alone across a dataset would be mostly words.
        Units are distinct strings shared by records, so a part found through one record is redacted
        wherever that same string occurs.
        """
        values: dict[str, tuple[str, float]] = {}
        for unit in units:
            for r in found.get(unit, []):
                if (r.recognition_metadata or {}).get(_DECODED_VALUE) is not None:
                    continue  # an encoded segment recurs as itself only if encoded alike: found anyway
                surface = unit[0][r.start : r.end]
                if len(surface.strip()) < _MIN_RECURRENCE:
                    continue
                if self._is_ner(r) and len(_WORD.findall(surface)) < 2:
                    # spaCy's one-word guesses ("Box" of "P.O. Box", a country read as a name) are
                    # its commonest mistakes; spread across a dataset they would be most of the
                    # false positives. Checked patterns and multi-word names spread.
                    continue
                values.setdefault(surface, (r.entity_type, r.score))
        if values:
            index = _SurfaceIndex(values, case_sensitive=self._ner_entities)
            for unit in units:
                extra = index.find(unit[0], found.get(unit, []))
                if extra:
                    found[unit] = found.get(unit, []) + extra
        if "PERSON" not in self._thresholds:
            return
        for members in record_units:
            parts: dict[str, tuple[str, float]] = {}
            for unit in members:
                for r in found.get(unit, []):
                    if r.entity_type != "PERSON":
                        continue
                    words = _WORD.findall(unit[0][r.start : r.end])
                    if len(words) < 2:
                        continue
                    for word in words:
                        if len(word) >= _MIN_RECURRENCE and word[0].isupper() and word.isalpha():
                            parts.setdefault(word, ("PERSON", r.score))
            if not parts:
                continue
            part_index = _SurfaceIndex(parts, case_sensitive={"PERSON"})
            for unit in members:
                extra = part_index.find(unit[0], found.get(unit, []))
                if extra:
                    found[unit] = found.get(unit, []) + extra

    def _kept(self, text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
        """Findings at or above their entity's threshold and not on the allow-list."""
        return [
            r
            for r in results
            if r.score >= self._thresholds.get(r.entity_type, 1.1)
            and not self._is_allowed(r.entity_type, text[r.start : r.end])
        ]

    def _is_allowed(self, entity_type: str, value: str) -> bool:
        """On the allow-list, compared in the entity's canonical form (case, spacing, separators)."""
        if not self.config.allow_list:
            return False
        allowed = self._allowed.get(entity_type)
        if allowed is None:
            allowed = frozenset(canonical_value(entity_type, v) for v in self.config.allow_list)
            self._allowed[entity_type] = allowed
        return canonical_value(entity_type, value) in allowed

    def _operators(self, pseudonymizer: Pseudonymizer) -> dict[str, OperatorConfig]:
        """Presidio operator configs per entity type, from the config; pseudonym for anything else."""
        pseudonym = OperatorConfig(_PSEUDONYM, {PseudonymOperator.PSEUDONYMIZER: pseudonymizer})
        operators = {"DEFAULT": pseudonym}
        for entity in self._entities:
            match self.config.operator(entity):
                case "hash":
                    keyed = {KeyedHashOperator.PSEUDONYMIZER: pseudonymizer}
                    operators[entity] = OperatorConfig(_KEYED_HASH, keyed)
                case "mask":
                    rule = self.config.rule(entity)
                    mask = {"mask_char": rule.mask_char, "keep_last": rule.keep_last}
                    operators[entity] = OperatorConfig(_MASK, mask)
                case _:
                    # drop_record too: its record is left out, the placeholder is never seen.
                    operators[entity] = pseudonym
        return operators

    def _redact(
        self, units: list[_Unit], record_units: list[list[_Unit]]
    ) -> tuple[dict[_Unit, _Redaction], dict[_Unit, Counter[str]]]:
        """Redact in rounds until one finds nothing new; what a check after the last finds is residual.

        Units are visited in reading order, so placeholder numbers follow it. Round n+1 only looks at
        the units that round n changed: an unchanged string has already been seen clean. The first
        round also adds every recurrence of a value it found (`_add_recurrences`).
        """
        pseudonymizer = Pseudonymizer(self._pseudonym_key)
        current: dict[_Unit, str] = {}
        entities: dict[_Unit, Counter[str]] = {}
        pending = units
        for round_number in range(self.redaction_rounds):
            texts = {unit: (current.get(unit, unit[0]), unit[1]) for unit in pending}
            found = self._analyze(texts.values())
            if round_number == 0:
                self._add_recurrences(found, units, record_units)
            changed: list[_Unit] = []
            for unit in pending:
                text = texts[unit][0]
                results = outside_placeholders(text, found.get(texts[unit], []))
                if not results:
                    continue
                current[unit], counts = self._replace(text, results, pseudonymizer)
                entities.setdefault(unit, Counter()).update(counts)
                changed.append(unit)
            pending = changed
            if not pending:
                break

        residuals: dict[_Unit, Counter[str]] = {}
        texts = {unit: (current[unit], unit[1]) for unit in pending}
        found = self._analyze(texts.values())
        for unit in pending:
            text = texts[unit][0]
            left = [r for r in found.get(texts[unit], []) if outside_placeholders(text, [r])]
            if left:
                residuals[unit] = Counter(result.entity_type for result in left)
        redactions = {unit: _Redaction(current[unit], entities[unit]) for unit in current}
        return redactions, residuals

    def _is_ner(self, result: RecognizerResult) -> bool:
        metadata = result.recognition_metadata or {}
        return metadata.get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY) in self._ner_ids

    def _replace(
        self, text: str, results: list[RecognizerResult], pseudonymizer: Pseudonymizer
    ) -> tuple[str, Counter[str]]:
        """`text` with each finding replaced by its placeholder, and the replaced findings by type."""
        for r in results:
            decoded = (r.recognition_metadata or {}).get(_DECODED_VALUE)
            if decoded is not None:
                pseudonymizer.alias(r.entity_type, text[r.start : r.end], decoded)
        findings = [
            AnonymizerResult(r.entity_type, r.start, r.end, r.score)
            for r in split_ner_around_patterns(text, results, self._is_ner)
        ]
        # Presidio operates right to left; a first pass with `keep` yields the resolved spans so that
        # numbers are handed out left to right.
        resolved = self._anonymizer.anonymize(text, findings, _KEEP, conflict_resolution=_CONFLICTS)
        spans = sorted(resolved.items, key=lambda item: item.start)
        for span in spans:
            if span.entity_type in self._pseudonymised:
                pseudonymizer.number(span.entity_type, span.text)
        operators = self._operators(pseudonymizer)
        replaced = self._anonymizer.anonymize(text, findings, operators, conflict_resolution=_CONFLICTS)
        return replaced.text, Counter(span.entity_type for span in spans)


_WORD = re.compile(r"\w+")
_MIN_RECURRENCE = 3
_RECURRENCE_ID = "ftgate-recurrence"


class _SurfaceIndex:
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
                metadata = {
                    RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: _RECURRENCE_ID,
                    RecognizerResult.RECOGNIZER_NAME_KEY: "recurrence",
                }
                out.append(_result(entity, start, end, score, metadata))
        return out


def _result(
    entity_type: str, start: int, end: int, score: float, metadata: dict[str, Any] | None
) -> RecognizerResult:
    return RecognizerResult(entity_type, start, end, score, recognition_metadata=metadata or {})


def _failure(exc: Exception) -> RedactionError:
    # Only the type: messages from spaCy or Presidio may quote the text they choked on.
    log.warning("redaction.failed", error=type(exc).__name__)
    return RedactionError(f"scanner failed: {type(exc).__name__}")


def _is_key_token(key: str) -> bool:
    return not any(char.isspace() for char in key)


def _is_number(value: Any) -> bool:
    # bool is an int subclass; true/false are never PII.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number_unit(value: int | float) -> _Unit:
    """A JSON number as the text it was written as (a card stored as an integer is still a card)."""
    return (repr(value), True)


def _collect(value: Any, units: dict[_Unit, None]) -> None:
    """Every string and string key under `value`, in reading order, into the ordered set `units`."""
    if isinstance(value, str):
        units.setdefault((value, False))
    elif _is_number(value):
        units.setdefault(_number_unit(value))
    elif isinstance(value, list):
        for item in value:
            _collect(item, units)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                units.setdefault((key, _is_key_token(key)))
            _collect(item, units)


def _join(path: str, segment: str) -> str:
    return f"{path}.{segment}" if path else segment


def _rebuild(
    value: Any,
    path: str,
    redactions: dict[_Unit, _Redaction],
    residuals: dict[_Unit, Counter[str]],
    tally: _Tally,
    record_index: int,
) -> Any:
    """`value` with every string redacted, counting into `tally`; same shape, keys redacted too."""
    if isinstance(value, str):
        return _visit((value, False), path, redactions, residuals, tally)
    if _is_number(value):
        # A redacted number becomes its placeholder string; an untouched one keeps its type.
        unit = _number_unit(value)
        redacted = _visit(unit, path, redactions, residuals, tally)
        return value if redacted == unit[0] else redacted
    if isinstance(value, list):
        return [_rebuild(item, f"{path}[]", redactions, residuals, tally, record_index) for item in value]
    if isinstance(value, dict):
        rebuilt: dict[Any, Any] = {}
        for key, item in value.items():
            new_key, segment = key, str(key)
            if isinstance(key, str):
                unit = (key, _is_key_token(key))
                new_key = _visit(unit, _join(path, KEY_SEGMENT), redactions, residuals, tally)
                if new_key != key:
                    # The path names the key's position, never its (redacted) text.
                    segment = REDACTED_KEY_SEGMENT
            if new_key in rebuilt:
                raise InvalidInput(f"record {record_index}: two keys redact to the same placeholder")
            child_path = _join(path, segment)
            rebuilt[new_key] = _rebuild(item, child_path, redactions, residuals, tally, record_index)
        return rebuilt
    return value


def _visit(
    unit: _Unit,
    path: str,
    redactions: dict[_Unit, _Redaction],
    residuals: dict[_Unit, Counter[str]],
    tally: _Tally,
) -> str:
    tally.strings += 1
    redaction = redactions.get(unit)
    if redaction is None:
        return unit[0]
    tally.record_changed = True
    tally.entities.update(redaction.entities)
    tally.fields[path] += sum(redaction.entities.values())
    residual = residuals.get(unit)
    if residual:
        tally.residual.update(residual)
        tally.record_residual = True
    return redaction.text
