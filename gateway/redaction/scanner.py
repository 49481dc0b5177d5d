"""Scan every string of a dataset with Presidio and replace each finding with a typed placeholder.

A scan:
1. collects every string value and string dict key, in reading order, once per distinct string;
2. analyses the distinct non-blank strings in spaCy batches (Presidio's `BatchAnalyzerEngine`). A key
   without whitespace is one token with no context, where spaCy's NER guesses (the small model calls
   "metadata" a PERSON), so such keys get every recognizer but the NER ones: a key like
   `jane@example.com` is still caught, a key like `metadata` is left alone;
3. replaces the findings: an NER finding is first cut around pattern findings of another type inside
   it (`spans.split_ner_around_patterns`), then Presidio's anonymizer resolves what still overlaps
   (`REMOVE_INTERSECTIONS`: the higher score keeps the shared characters, nothing of either survives)
   and writes `pseudonym` placeholders, numbered in reading order;
4. analyses the strings it changed again. Changing a string changes the context spaCy sees, so this
   second pass sometimes finds a name the first missed: up to `redaction_rounds` rounds redact those
   too, and whatever the check after the last round still finds outside a placeholder is
   `residual_findings`. With `redaction_rounds=1` that check is a plain second pass;
5. rebuilds the records in their original shape and counts, per occurrence, for the report.

Strings with no finding are not analysed again: Presidio is deterministic, so they would give the
same empty answer.
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import structlog
from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine, RecognizerResult
from presidio_analyzer.predefined_recognizers import SpacyRecognizer
from presidio_anonymizer.entities import ConflictResolutionStrategy, OperatorConfig
from presidio_anonymizer.entities import RecognizerResult as AnonymizerResult

from gateway.errors import ConfigError, InvalidInput, RedactionError
from gateway.redaction.engine import build_analyzer, build_anonymizer, describe_analyzer
from gateway.redaction.operators import Pseudonymizer, PseudonymOperator
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


# One unit of analysis: a distinct string, and whether it is a whitespace-free dict key (analysed
# without the NER recognizers).
_Unit = tuple[str, bool]


@dataclass(frozen=True)
class _Redaction:
    text: str
    entities: Counter[str]


@dataclass
class _Tally:
    strings: int = 0
    entities: Counter[str] = field(default_factory=Counter)
    fields: Counter[str] = field(default_factory=Counter)
    residual: Counter[str] = field(default_factory=Counter)
    record_changed: bool = False
    record_residual: bool = False


class Scanner:
    """Redacts datasets with one Presidio analyzer; `scan` is the one call an upload makes."""

    def __init__(
        self,
        *,
        pseudonym_key: bytes,
        score_threshold: float = 0.5,
        language: str = "en",
        analyzer: AnalyzerEngine | None = None,
        redaction_rounds: int = 2,
    ) -> None:
        """Set up a scanner; only `pseudonym_key` is required.

        `analyzer` defaults to the process-wide `build_analyzer()`. `redaction_rounds` bounds how often
        the redacted output is analysed and redacted again (1: redact once, then only check).
        """
        if not isinstance(pseudonym_key, bytes) or not pseudonym_key:
            raise ConfigError("pseudonym_key must be non-empty bytes")
        if not 0.0 <= score_threshold <= 1.0:
            raise ConfigError(f"score_threshold must be within [0, 1], got {score_threshold}")
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
        self.score_threshold = score_threshold
        self.language = language
        self.redaction_rounds = redaction_rounds
        self._batch = BatchAnalyzerEngine(analyzer_engine=analyzer)
        self._anonymizer = build_anonymizer()
        ner_entities = set(analyzer.nlp_engine.get_supported_entities())
        # Stanza and transformers recognizers subclass SpacyRecognizer: any NLP-engine NER counts.
        self._ner_ids = {r.id for r in analyzer.registry.recognizers if isinstance(r, SpacyRecognizer)}
        self._key_entities = sorted(set(analyzer.get_supported_entities(language)) - ner_entities)
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
        for record in records:
            _collect(record, units)
        try:
            redactions, residuals = self._redact(list(units))
        except Exception as exc:
            raise _failure(exc) from None

        tally = _Tally()
        redacted: list[dict[str, Any]] = []
        sample: list[dict[str, Any]] = []
        records_changed = 0
        for index, record in enumerate(records):
            tally.record_changed = tally.record_residual = False
            new_record = _rebuild(record, "", redactions, residuals, tally, index)
            redacted.append(new_record)
            if tally.record_changed:
                records_changed += 1
                # A record with residual PII could show it: never sample one.
                if not tally.record_residual and len(sample) < SAMPLE_SIZE:
                    sample.append(copy.deepcopy(new_record))

        report = ScanReport(
            records=len(records),
            records_changed=records_changed,
            strings_scanned=tally.strings,
            entities=dict(sorted(tally.entities.items())),
            fields=dict(sorted(tally.fields.items())),
            residual_findings=sum(tally.residual.values()),
            residual_entities=dict(sorted(tally.residual.items())),
            score_threshold=self.score_threshold,
            analyzer=self.analyzer_name,
            sample=sample,
        )
        log.info(
            "redaction.scanned",
            records=report.records,
            records_changed=report.records_changed,
            strings=report.strings_scanned,
            distinct_strings=len(units),
            findings=sum(report.entities.values()),
            residual=report.residual_findings,
            seconds=round(time.perf_counter() - started, 3),
        )
        return ScanResult(redacted=redacted, report=report)

    def _analyze(self, units: Iterable[_Unit]) -> dict[_Unit, list[RecognizerResult]]:
        """Findings above the threshold for each distinct non-blank unit, through spaCy in batches."""
        found: dict[_Unit, list[RecognizerResult]] = {}
        distinct = dict.fromkeys(unit for unit in units if unit[0].strip())
        for key_token in (False, True):
            texts = [text for text, is_key in distinct if is_key == key_token]
            if not texts:
                continue
            # None means every recognizer (an empty list would mean the same to Presidio).
            entities = self._key_entities if key_token else None
            results = self._batch.analyze_iterator(
                texts,
                language=self.language,
                batch_size=BATCH_SIZE,
                score_threshold=self.score_threshold,
                entities=entities,
            )
            found.update(zip(((text, key_token) for text in texts), results, strict=True))
        return found

    def _redact(self, units: list[_Unit]) -> tuple[dict[_Unit, _Redaction], dict[_Unit, Counter[str]]]:
        """Redact in rounds until one finds nothing new; what a check after the last finds is residual.

        Units are visited in reading order, so placeholder numbers follow it. Round n+1 only looks at
        the units that round n changed: an unchanged string has already been seen clean.
        """
        pseudonymizer = Pseudonymizer(self._pseudonym_key)
        current: dict[_Unit, str] = {}
        entities: dict[_Unit, Counter[str]] = {}
        pending = units
        for _ in range(self.redaction_rounds):
            texts = {unit: (current.get(unit, unit[0]), unit[1]) for unit in pending}
            found = self._analyze(texts.values())
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
        findings = [
            AnonymizerResult(r.entity_type, r.start, r.end, r.score)
            for r in split_ner_around_patterns(text, results, self._is_ner)
        ]
        # Presidio operates right to left; a first pass with `keep` yields the resolved spans so that
        # numbers are handed out left to right.
        resolved = self._anonymizer.anonymize(text, findings, _KEEP, conflict_resolution=_CONFLICTS)
        spans = sorted(resolved.items, key=lambda item: item.start)
        for span in spans:
            pseudonymizer.number(span.entity_type, span.text)
        operators = {"DEFAULT": OperatorConfig(_PSEUDONYM, {PseudonymOperator.PSEUDONYMIZER: pseudonymizer})}
        replaced = self._anonymizer.anonymize(text, findings, operators, conflict_resolution=_CONFLICTS)
        return replaced.text, Counter(span.entity_type for span in spans)


def _failure(exc: Exception) -> RedactionError:
    # Only the type: messages from spaCy or Presidio may quote the text they choked on.
    log.warning("redaction.failed", error=type(exc).__name__)
    return RedactionError(f"scanner failed: {type(exc).__name__}")


def _is_key_token(key: str) -> bool:
    return not any(char.isspace() for char in key)


def _collect(value: Any, units: dict[_Unit, None]) -> None:
    """Every string and string key under `value`, in reading order, into the ordered set `units`."""
    if isinstance(value, str):
        units.setdefault((value, False))
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
