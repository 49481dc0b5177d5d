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

The steps run as passes over records read again each time (`scan_stream`), a chunk at a time, so a
dataset of any size is never held whole: analysis (1, 2), recurrences (2: a value found late recurs
early, so it needs its own pass), replacement in reading order (3), the later rounds over the changed
strings only (4), then rebuilding and writing (5). `scan` is the same passes over a list.
"""

from __future__ import annotations

import copy
import hashlib
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
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

from gateway.errors import ConfigError, FtgateError, InvalidInput, RedactionError
from gateway.redaction.config import RedactionConfig, default_config
from gateway.redaction.dates import DATE_TIME, is_calendar_point
from gateway.redaction.engine import build_analyzer, build_anonymizer, describe_analyzer
from gateway.redaction.normalize import encoded_segments, normalize
from gateway.redaction.operators import (
    KeepLastMaskOperator,
    KeyedHashOperator,
    Pseudonymizer,
    PseudonymOperator,
    canonical_value,
)
from gateway.redaction.parallel import AnalysisPool, recognizers_of
from gateway.redaction.report import ScanReport, ScanResult
from gateway.redaction.spans import outside_placeholders, split_ner_around_patterns

log = structlog.get_logger(__name__)

BATCH_SIZE = 64
CHUNK_SIZE = 2000  # records read per step of a streaming scan: bounds memory, not the result
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

# progress(phase, done, total): called as a streaming scan moves through its passes.
Progress = Callable[[str, int, int | None], None]


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
        pool: AnalysisPool | None = None,
    ) -> None:
        """Set up a scanner; only `pseudonym_key` is required.

        `config` defaults to `default_config()`; `score_threshold`, if given, replaces its
        `default_threshold`. `analyzer` defaults to the process-wide `build_analyzer()`; custom
        recognizers are passed per call, so a shared analyzer is never changed. `redaction_rounds` bounds
        how often the redacted output is analysed and redacted again (1: redact once, then only check).
        `pool` (gateway/redaction/parallel.py), built from this scanner's effective config, analyses
        large inputs in worker processes; the findings are the same as in-process.
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
        self._calendar_only = config.dates_calendar_only()
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
        self._pool = pool

    def scan(self, records: list[dict[str, Any]]) -> ScanResult:
        """Redact every string (values and keys, at any depth) and report what was found.

        Raises `RedactionError` if Presidio or spaCy fails (fail closed) and `InvalidInput` if a record
        is not an object or two of its keys would redact to the same placeholder.
        """
        for index, record in enumerate(records):
            if not isinstance(record, dict):
                raise InvalidInput(f"record {index} is not a JSON object")
        redacted: list[dict[str, Any]] = []
        # One chunk: a list already in memory gains nothing from being read in pieces.
        report = self.scan_stream(
            lambda: iter(records), redacted.append, chunk_size=max(len(records), 1), total=len(records)
        )
        return ScanResult(redacted=redacted, report=report)

    def scan_stream(
        self,
        read_records: Callable[[], Iterator[Any]],
        write: Callable[[dict[str, Any]], None],
        *,
        progress: Progress | None = None,
        total: int | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> ScanReport:
        """`scan` over records read again for each pass, each kept redacted record handed to `write`.

        `read_records()` must yield the same records, in the same order, every time it is called (it
        is called up to four times). Memory holds one chunk of records, the findings of the strings
        that had some, a 16-byte digest of every other distinct string, and the redacted text of the
        strings that changed, never the dataset. The output and report equal `scan`'s: the passes
        make the same calls in the same order, only the analysis is batched differently, and a
        string's findings do not depend on its batch. `progress(phase, done, total)` is called after
        each chunk; `done` counts records, but strings in the phases that only look at the changed ones
        (`round 2`, ..., `final check`).

        Raises like `scan`; records already handed to `write` must then be thrown away by the caller.
        """
        if chunk_size < 1:
            raise ConfigError(f"chunk_size must be at least 1, got {chunk_size}")
        started = time.perf_counter()
        notify = progress or _no_progress
        findings, clean, recurrences, total = self._analysis_pass(read_records, chunk_size, notify, total)
        distinct = len(findings) + len(clean)
        del clean  # only needed to skip repeats during analysis
        if recurrences.needed():
            self._recurrence_pass(read_records, chunk_size, notify, total, findings, recurrences)
        del recurrences
        redactions, residuals = self._redaction_passes(read_records, chunk_size, notify, total, findings)
        del findings

        tally = _Tally()
        sample: list[dict[str, Any]] = []
        records = records_changed = records_dropped = 0
        for chunk in _chunks(read_records(), chunk_size):
            for record in chunk:
                record_tally = _Tally()
                new_record = _rebuild(record, "", redactions, residuals, record_tally, records)
                records += 1
                dropped = bool(self._drop & record_tally.entities.keys())
                tally.merge(record_tally, dropped=dropped)
                if dropped:
                    records_dropped += 1
                    continue
                write(new_record)
                if record_tally.record_changed:
                    records_changed += 1
                    # A record with residual PII could show it: never sample one.
                    if not record_tally.record_residual and len(sample) < SAMPLE_SIZE:
                        sample.append(copy.deepcopy(new_record))
            notify("writing", records, total)

        report = ScanReport(
            records=records,
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
            distinct_strings=distinct,
            findings=sum(report.entities.values()),
            residual=report.residual_findings,
            seconds=round(time.perf_counter() - started, 3),
        )
        return report

    def analyze_texts(self, texts: list[str]) -> list[list[RecognizerResult]]:
        """The findings a scan would act on for each text (original offsets), each text one record.

        For measuring the scanner (benchmarks/redaction_efficacy.py) against plain Presidio: the same
        normalising, decoding, thresholds, allow-list and recurrence as `scan`, before replacement.
        """
        units: list[_Unit] = [(text, False) for text in dict.fromkeys(texts)]
        try:
            found = self._analyze(units)
            recurrences = _Recurrences(self)
            for unit in units:
                recurrences.gather(unit[0], found.get(unit, []))
            recurrences.build()
            for unit in units:
                base = found.get(unit, [])
                found[unit] = base + recurrences.dataset_extras(unit[0], base)
            for unit in units:  # each text is its own record
                found[unit] = found[unit] + recurrences.record_extras([(unit[0], found[unit])])[0]
        except Exception as exc:
            raise _failure(exc) from None
        return [found.get((text, False), []) for text in texts]

    def _analysis_pass(
        self, read_records: Callable[[], Iterator[Any]], chunk_size: int, notify: Progress, total: int | None
    ) -> tuple[dict[bytes, list[RecognizerResult]], set[bytes], _Recurrences, int]:
        """Pass 1: analyse each distinct string once, in reading order; gather the recurring values.

        Returns the findings of the strings that had some, the digests of those that had none, the
        recurrence index and the number of records.
        """
        findings: dict[bytes, list[RecognizerResult]] = {}
        clean: set[bytes] = set()
        recurrences = _Recurrences(self)
        records = 0
        for chunk in _chunks(read_records(), chunk_size):
            new: dict[_Unit, bytes] = {}
            for record in chunk:
                if not isinstance(record, dict):
                    raise InvalidInput(f"record {records} is not a JSON object")
                records += 1
                mine: dict[_Unit, None] = {}
                _collect(record, mine)
                for unit in mine:
                    digest = _digest(unit)
                    if digest not in clean and digest not in findings and unit not in new:
                        new[unit] = digest
            with _fail_closed():
                found = self._analyze(new)
                for unit, digest in new.items():
                    results = found.get(unit)
                    if results:
                        findings[digest] = results
                        recurrences.gather(unit[0], results)
                    else:
                        clean.add(digest)
            notify("analysing", records, total)
        with _fail_closed():
            recurrences.build()
        return findings, clean, recurrences, records

    def _recurrence_pass(
        self,
        read_records: Callable[[], Iterator[Any]],
        chunk_size: int,
        notify: Progress,
        total: int | None,
        findings: dict[bytes, list[RecognizerResult]],
        recurrences: _Recurrences,
    ) -> None:
        """Pass 2, in place: add to `findings` every recurrence of a found value, and of a name's parts.

        A separate pass because both reach backwards: a value first found in the last record recurs in
        the first, and a name part found through a later record is redacted wherever its string
        occurs, so no string can be replaced before every record has been looked at.
        """
        extended: set[bytes] = set()  # strings whose dataset-wide recurrences are already added
        parts: dict[bytes, list[RecognizerResult]] = {}
        done = 0
        for chunk in _chunks(read_records(), chunk_size):
            with _fail_closed():
                for record in chunk:
                    mine: dict[_Unit, None] = {}
                    _collect(record, mine)
                    members: list[tuple[bytes, str]] = []
                    for unit in mine:
                        digest = _digest(unit)
                        members.append((digest, unit[0]))
                        if digest in extended:
                            continue
                        extended.add(digest)
                        base = findings.get(digest, [])
                        extra = recurrences.dataset_extras(unit[0], base)
                        if extra:
                            findings[digest] = base + extra
                    extras = recurrences.record_extras(
                        [(text, findings.get(d, []) + parts.get(d, [])) for d, text in members]
                    )
                    for (digest, _), extra in zip(members, extras, strict=True):
                        if extra:
                            parts[digest] = parts.get(digest, []) + extra
            done += len(chunk)
            notify("indexing", done, total)
        for digest, extra in parts.items():
            findings[digest] = findings.get(digest, []) + extra

    def _redaction_passes(
        self,
        read_records: Callable[[], Iterator[Any]],
        chunk_size: int,
        notify: Progress,
        total: int | None,
        findings: dict[bytes, list[RecognizerResult]],
    ) -> tuple[dict[bytes, _Redaction], dict[bytes, Counter[str]]]:
        """Redact in rounds until one finds nothing new; what a check after the last finds is residual.

        Round 1 visits the strings in reading order (a pass over the records), so placeholder numbers
        follow it; round n+1 only looks at the strings that round n changed, an unchanged string
        having already been seen clean. `findings` is emptied as its strings are replaced.
        """
        pseudonymizer = Pseudonymizer(self._pseudonym_key)
        current: dict[bytes, _Unit] = {}
        entities: dict[bytes, Counter[str]] = {}
        pending: list[bytes] = []
        done = 0
        for chunk in _chunks(read_records(), chunk_size):
            with _fail_closed():
                for record in chunk:
                    mine: dict[_Unit, None] = {}
                    _collect(record, mine)
                    for unit in mine:
                        digest = _digest(unit)
                        results = findings.pop(digest, None)
                        if results is None:
                            continue  # no finding, or already replaced at its first occurrence
                        results = outside_placeholders(unit[0], results)
                        if not results:
                            continue
                        text, counts = self._replace(unit[0], results, pseudonymizer)
                        current[digest] = (text, unit[1])
                        entities[digest] = counts
                        pending.append(digest)
            done += len(chunk)
            notify("redacting", done, total)

        for round_number in range(2, self.redaction_rounds + 1):
            changed: list[bytes] = []
            checked = 0
            for batch in _chunks(iter(pending), chunk_size):
                with _fail_closed():
                    found = self._analyze(current[digest] for digest in batch)
                    for digest in batch:
                        unit = current[digest]
                        results = outside_placeholders(unit[0], found.get(unit, []))
                        if not results:
                            continue
                        text, counts = self._replace(unit[0], results, pseudonymizer)
                        current[digest] = (text, unit[1])
                        entities[digest].update(counts)
                        changed.append(digest)
                checked += len(batch)
                notify(f"round {round_number}", checked, len(pending))
            pending = changed
            if not pending:
                break

        residuals: dict[bytes, Counter[str]] = {}
        checked = 0
        for batch in _chunks(iter(pending), chunk_size):
            with _fail_closed():
                found = self._analyze(current[digest] for digest in batch)
                for digest in batch:
                    unit = current[digest]
                    left = [r for r in found.get(unit, []) if outside_placeholders(unit[0], [r])]
                    if left:
                        residuals[digest] = Counter(result.entity_type for result in left)
            checked += len(batch)
            notify("final check", checked, len(pending))
        redactions = {digest: _Redaction(unit[0], entities[digest]) for digest, unit in current.items()}
        return redactions, residuals

    def _analyze(self, units: Iterable[_Unit]) -> dict[_Unit, list[RecognizerResult]]:
        """Findings at or above their entity's threshold for each distinct non-blank unit, not allowed.

        With a pool, large inputs are split across its worker processes, each running `_analyze_here`.
        """
        if self._pool is not None:
            return self._pool.analyze(units, local=self._analyze_here, recognizers=recognizers_of(self))
        return self._analyze_here(units)

    def _analyze_here(self, units: Iterable[_Unit]) -> dict[_Unit, list[RecognizerResult]]:
        """`_analyze` in this process.

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

    def _kept(self, text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
        """Findings at or above their entity's threshold, not on the allow-list, and for spaCy's dates
        (with `calendar_only`) naming a calendar point."""
        return [
            r
            for r in results
            if r.score >= self._thresholds.get(r.entity_type, 1.1)
            and not self._is_allowed(r.entity_type, text[r.start : r.end])
            and not self._names_no_calendar_point(text, r)
        ]

    def _names_no_calendar_point(self, text: str, result: RecognizerResult) -> bool:
        """An NER DATE_TIME such as "next week", left as content under `calendar_only` (dates.py)."""
        return (
            self._calendar_only
            and result.entity_type == DATE_TIME
            and self._is_ner(result)
            and not is_calendar_point(text[result.start : result.end])
        )

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


class _Recurrences:
    """Every recurrence of a found value, and of a found name's parts within its record.

    Presidio judges each string alone, so a value it found in one sentence passes where it recurs
    without context (a bare phone number scores 0.4, a name in a list is no sentence for spaCy).
    1. dataset-wide: each value found (3+ characters; from NER, two words or more) is a finding
       wherever it recurs as a whole word sequence, with the score it had; names match with their
       case, other types ignore case. The first string in reading order to hold a value sets its type
       and score, so values are gathered in reading order (`gather`), then indexed (`build`);
    2. record-wide: each capitalised part (3+ letters) of a multi-word PERSON is a PERSON anywhere
       in the same record ("Sara Schwarz" in one turn, "Ms Schwarz" in the next). Limited to the
       record, because "Will" or "Rose" alone across a dataset would be mostly words.
    Strings are shared by records, so a part found through one record is redacted wherever that same
    string occurs.
    """

    def __init__(self, scanner: Scanner) -> None:
        self._scanner = scanner
        self._values: dict[str, tuple[str, float]] = {}
        self._index: _SurfaceIndex | None = None
        self._persons = "PERSON" in scanner._thresholds
        self._saw_person = False

    def gather(self, text: str, results: list[RecognizerResult]) -> None:
        """Note the recurring values among one string's findings."""
        for r in results:
            if r.entity_type == "PERSON":
                self._saw_person = True
            if (r.recognition_metadata or {}).get(_DECODED_VALUE) is not None:
                continue  # an encoded segment recurs as itself only if encoded alike: found anyway
            surface = text[r.start : r.end]
            if len(surface.strip()) < _MIN_RECURRENCE:
                continue
            if self._scanner._is_ner(r) and len(_WORD.findall(surface)) < 2:
                # spaCy's one-word guesses ("Box" of "P.O. Box", a country read as a name) are its
                # commonest mistakes; spread across a dataset they would be most of the false
                # positives. Checked patterns and multi-word names spread.
                continue
            self._values.setdefault(surface, (r.entity_type, r.score))

    def build(self) -> None:
        if self._values:
            self._index = _SurfaceIndex(self._values, case_sensitive=self._scanner._ner_entities)
        self._values = {}

    def needed(self) -> bool:
        """Whether any string could gain a finding: a value to spread, or a name to split."""
        return self._index is not None or (self._persons and self._saw_person)

    def dataset_extras(self, text: str, existing: list[RecognizerResult]) -> list[RecognizerResult]:
        """Recurrences in `text` of a value found anywhere, outside `existing`."""
        return self._index.find(text, existing) if self._index is not None else []

    def record_extras(
        self, members: list[tuple[str, list[RecognizerResult]]]
    ) -> list[list[RecognizerResult]]:
        """For each (distinct string, findings) of one record: the parts of the record's names in it."""
        if not self._persons:
            return [[] for _ in members]
        parts: dict[str, tuple[str, float]] = {}
        for text, results in members:
            for r in results:
                if r.entity_type != "PERSON":
                    continue
                words = _WORD.findall(text[r.start : r.end])
                if len(words) < 2:
                    continue
                for word in words:
                    if len(word) >= _MIN_RECURRENCE and word[0].isupper() and word.isalpha():
                        parts.setdefault(word, ("PERSON", r.score))
        if not parts:
            return [[] for _ in members]
        index = _SurfaceIndex(parts, case_sensitive={"PERSON"})
        return [index.find(text, results) for text, results in members]


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


@contextmanager
def _fail_closed() -> Iterator[None]:
    """Any failure of Presidio, spaCy or the replacement is a `RedactionError`; our own errors pass."""
    try:
        yield
    except FtgateError:
        raise
    except Exception as exc:
        raise _failure(exc) from None


def _no_progress(phase: str, done: int, total: int | None) -> None:
    pass


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while chunk := list(islice(items, size)):
        yield chunk


def _digest(unit: _Unit) -> bytes:
    """16 bytes standing for a distinct string (and its kind) in the scan's memory, not the string."""
    person = b"key-token" if unit[1] else b"text"
    # surrogatepass: JSON may carry a lone surrogate escape, which plain UTF-8 cannot encode.
    return hashlib.blake2b(unit[0].encode("utf-8", "surrogatepass"), digest_size=16, person=person).digest()


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
    redactions: dict[bytes, _Redaction],
    residuals: dict[bytes, Counter[str]],
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
    redactions: dict[bytes, _Redaction],
    residuals: dict[bytes, Counter[str]],
    tally: _Tally,
) -> str:
    tally.strings += 1
    if not redactions:
        return unit[0]
    digest = _digest(unit)
    redaction = redactions.get(digest)
    if redaction is None:
        return unit[0]
    tally.record_changed = True
    tally.entities.update(redaction.entities)
    tally.fields[path] += sum(redaction.entities.values())
    residual = residuals.get(digest)
    if residual:
        tally.residual.update(residual)
        tally.record_residual = True
    return redaction.text
