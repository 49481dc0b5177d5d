"""The unit of analysis: findings for a batch of distinct strings, the thing worker processes run.

An `Analysis` is built from the compliance-owned `RedactionConfig` and one Presidio analyzer. For each
unit (a distinct string, `records.Unit`) it returns the findings that count: Presidio runs on the
text's readings (`disguises.read`: normalised view and decoded segments) in spaCy batches, each finding
is held to its own entity's threshold, the allow-list and, for spaCy's dates, the calendar rule
(`dates.py`), and is stamped with its kind (`findings.py`). A bare unit (a whitespace-free dict key or a
number's text) is one token with no context, where spaCy's NER guesses (a model calls "metadata" a
PERSON), so such units get every recognizer but the NER ones.

Two detectors are built from one config (`build_analysis`):
- `main`: the analyzer that finds what is redacted (spaCy's en_core_web_md plus ftgate's recognizers);
- `residual`: the independent check on the redacted output. It runs spaCy's small model instead, a
  different NER with different mistakes, with the same pattern recognizers at thresholds lowered by
  `RESIDUAL_THRESHOLD_DROP`: a value the main pass scored just under its threshold is still reported.
  Of the small model's PERSON and LOCATION guesses it counts only those something confirms (a known name
  or place in them, or two words none of which is an ordinary word): its unconfirmed guesses are mostly
  product names ("Okta", "Wingtip Toys"), and a check that cries wolf drops clean records.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Literal

import regex
from presidio_analyzer import (
    AnalyzerEngine,
    BatchAnalyzerEngine,
    EntityRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerResult,
)
from presidio_analyzer.predefined_recognizers import SpacyRecognizer
from threadpoolctl import ThreadpoolController

from gateway.errors import ConfigError, RedactionError
from gateway.redaction.config import RedactionConfig
from gateway.redaction.dates import DATE_TIME, is_calendar_point
from gateway.redaction.disguises import read
from gateway.redaction.engine import describe_analyzer
from gateway.redaction.findings import is_ner
from gateway.redaction.names import gazetteer as names_gazetteer
from gateway.redaction.names import is_ordinary_word
from gateway.redaction.operators import canonical_value
from gateway.redaction.records import Unit

# spaCy reads texts in batches (`nlp.pipe`): at most BATCH_SIZE texts and about BATCH_CHARS characters
# each, so long texts never pile up in memory together. Measured on the 1,500-record throughput set
# (an in-process scan, 2 noisy cores, runs after the first in a process): 64 texts a batch took
# 21.7-23.3 s (4 runs), 256 took 18.7-19.6 s (2), 1,024 18.8 s, 4,096 20.4 s.
BATCH_SIZE = 256
BATCH_CHARS = 200_000
_WORDS = regex.compile(r"\p{L}[\p{L}'’]*+")
# How much lower the residual check's thresholds are than the main pass's.
RESIDUAL_THRESHOLD_DROP = 0.15

Detector = Literal["main", "residual"]
DETECTORS: tuple[Detector, ...] = ("main", "residual")
Findings = dict[Unit, list[RecognizerResult]]


# A batch's deadline is the budget per this many characters (the default longest string), at least once.
BUDGET_CHARS = 100_000


class TextTooSlow(RedactionError):
    """One string took longer than the analysis budget allows; `unit` is it, for the caller to place.

    The message never holds the string: the caller names the record it came from.
    """

    def __init__(self, unit: Unit, seconds: float) -> None:
        super().__init__(f"analysing one string took longer than the {seconds:g} s budget")
        self.unit = unit
        self.seconds = seconds


class _Expired(BaseException):
    """Raised by the alarm inside an analysis that ran out of time (a BaseException: no handler eats it)."""


@contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    """Interrupt the block after `seconds` with `_Expired` (main thread only; elsewhere no limit).

    A timer signal interrupts Python code between bytecodes, which is where Presidio and spaCy spend
    their time; every pattern they run is linear (tests/unit/redaction/test_linear_time.py), so no C
    call holds the interpreter for long.
    """
    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise _Expired

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@cache
def _blas_libraries() -> ThreadpoolController:
    return ThreadpoolController()  # the BLAS libraries loaded by now (numpy's, torch's)


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """The block's matrix products (spaCy's, through `engine.BlasOps`) on one BLAS thread.

    OpenBLAS starts a thread per core and its threads spin while they wait; a scan worker already takes
    a core, so more threads would only contend with the other workers. The previous limits come back
    after the block (a process that also trains wants its threads).
    """
    with _blas_libraries().limit(limits=1, user_api="blas"):
        yield


class Analysis:
    """Findings per distinct string for one config and one Presidio analyzer (see the module doc)."""

    def __init__(
        self,
        *,
        config: RedactionConfig,
        analyzer: AnalyzerEngine,
        language: str = "en",
        threshold_drop: float = 0.0,
        guesses_need_a_name: bool = False,
        label: str = "",
    ) -> None:
        """Check the config against what the analyzer can find; `ConfigError` names what is wrong.

        `threshold_drop` lowers every entity's threshold, and `guesses_need_a_name` drops spaCy's guesses
        made only of ordinary words (both for the residual check); `label` is added to the description
        the scan report shows.
        """
        if language not in analyzer.supported_languages:
            raise ConfigError(f"language {language!r} is not one of {analyzer.supported_languages}")
        self.config = config
        self.language = language
        self._analyzer = analyzer
        self._batch = BatchAnalyzerEngine(analyzer_engine=analyzer)
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
        self.entities = config.enabled()
        unknown = sorted(set(self.entities) - known)
        if unknown:
            # A typo must not switch an entity off quietly.
            raise ConfigError(f"redaction config names entities no recognizer finds: {', '.join(unknown)}")
        if not self.entities:
            raise ConfigError("redaction config enables no entity type")
        self.thresholds = {e: max(0.0, config.threshold(e) - threshold_drop) for e in self.entities}
        self._guesses_need_a_name = guesses_need_a_name
        self._min_threshold = min(self.thresholds.values())
        self._calendar_only = config.dates_calendar_only()
        self._allowed: dict[str, frozenset[str]] = {}
        ner_entities = set(analyzer.nlp_engine.get_supported_entities())
        # Stanza and transformers recognizers subclass SpacyRecognizer: any NLP-engine NER counts.
        self._ner_ids = {r.id for r in analyzer.registry.recognizers if isinstance(r, SpacyRecognizer)}
        self._bare_entities = sorted(set(self.entities) - ner_entities)
        description = describe_analyzer(analyzer, language)
        self.description = f"{description} ({label})" if label else description

    def analyze(self, units: Iterable[Unit], *, budget: float | None = None) -> Findings:
        """Findings for each distinct non-blank unit, at original offsets.

        With `budget` (seconds per string), a batch that runs past its deadline (the budget per
        `BUDGET_CHARS` characters) is analysed again one unit at a time, each within the budget, and
        the first that is not raises `TextTooSlow` naming it.
        """
        distinct = list(dict.fromkeys(unit for unit in units if unit[0].strip()))
        if budget is None:
            return self._analyze(distinct)
        chars = sum(len(unit[0]) for unit in distinct)
        try:
            with _deadline(budget * max(1.0, chars / BUDGET_CHARS)):
                return self._analyze(distinct)
        except _Expired:
            if len(distinct) == 1:  # the batch was that one string
                raise TextTooSlow(distinct[0], budget) from None
        out: Findings = {}
        for unit in distinct:
            try:
                with _deadline(budget):
                    out.update(self._analyze([unit]))
            except _Expired:
                raise TextTooSlow(unit, budget) from None
        return out

    def _analyze(self, distinct: Sequence[Unit]) -> Findings:
        with one_blas_thread():
            return self._analyze_all(distinct)

    def _analyze_all(self, distinct: Sequence[Unit]) -> Findings:
        found: Findings = {}
        for bare in (False, True):
            texts = [text for text, is_bare in distinct if is_bare == bare]
            entities = self._bare_entities if bare else self.entities
            # An empty list would mean "every entity" to Presidio.
            if not texts or not entities:
                continue
            readings = {text: read(text) for text in texts}
            readable = list(dict.fromkeys(t for reading in readings.values() for t in reading.texts()))
            by_text: dict[str, list[RecognizerResult]] = {}
            for batch in _batches(readable):
                results = self._batch.analyze_iterator(
                    batch,
                    language=self.language,
                    batch_size=len(batch),
                    score_threshold=self._min_threshold,
                    entities=entities,
                    ad_hoc_recognizers=self._ad_hoc or None,
                )
                by_text.update(zip(batch, results, strict=True))
            for text, reading in readings.items():
                found[(text, bare)] = reading.findings(by_text, self._kept, self._kind)
        return found

    def _kind(self, result: RecognizerResult) -> str:
        identifier = (result.recognition_metadata or {}).get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY)
        return "ner" if identifier in self._ner_ids else "pattern"

    def _kept(self, text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
        """Findings at or above their entity's threshold, not on the allow-list, and for spaCy's dates
        (with `calendar_only`) naming a calendar point; for the residual check, only spaCy guesses that
        look like a name or a place (`_unconfirmed_guess`)."""
        return [
            r
            for r in results
            if r.score >= self.thresholds.get(r.entity_type, 1.1)
            and not self.is_allowed(r.entity_type, text[r.start : r.end])
            and not self._names_no_calendar_point(text, r)
            and not (self._guesses_need_a_name and self._unconfirmed_guess(text, r))
        ]

    def _unconfirmed_guess(self, text: str, result: RecognizerResult) -> bool:
        """A PERSON or LOCATION guess of spaCy's with nothing to confirm it: no word of it a known name or
        place, and one word alone or an ordinary word among them ("Okta", "Salesperson", "Wingtip Toys",
        "Tailspin Scheduler"). These are the small model's commonest mistakes, on product names above
        all; a residual check that flags them would refuse or drop clean records. "Brosca Erdôs" (two
        words, neither ordinary) and "Charlotte" (a known name) still count."""
        if self._kind(result) != "ner" or result.entity_type not in ("PERSON", "LOCATION"):
            return False  # nationalities are dictionary words, and still findings
        words = _WORDS.findall(text[result.start : result.end])
        if not words:
            return False
        gazetteer = names_gazetteer()
        known = gazetteer.is_name if result.entity_type == "PERSON" else gazetteer.is_place
        if any(known(word) for word in words):
            return False
        return len(words) == 1 or any(is_ordinary_word(word) for word in words)

    def _names_no_calendar_point(self, text: str, result: RecognizerResult) -> bool:
        """An NER DATE_TIME such as "next week", left as content under `calendar_only` (dates.py)."""
        return (
            self._calendar_only
            and result.entity_type == DATE_TIME
            and self._kind(result) == "ner"
            and not is_calendar_point(text[result.start : result.end])
        )

    def is_allowed(self, entity_type: str, value: str) -> bool:
        """On the allow-list, compared in the entity's canonical form (case, spacing, separators)."""
        if not self.config.allow_list:
            return False
        allowed = self._allowed.get(entity_type)
        if allowed is None:
            allowed = frozenset(canonical_value(entity_type, v) for v in self.config.allow_list)
            self._allowed[entity_type] = allowed
        return canonical_value(entity_type, value) in allowed

    def recognizers(self) -> list[EntityRecognizer]:
        """Every recognizer this analysis runs: the analyzer's registry, then the config's own."""
        return [*self._analyzer.registry.recognizers, *self._ad_hoc]


def _batches(texts: list[str]) -> Iterator[list[str]]:
    """`texts` in order, in batches of at most `BATCH_SIZE` texts and, but for a longer text alone,
    `BATCH_CHARS` characters."""
    batch: list[str] = []
    chars = 0
    for text in texts:
        if batch and (len(batch) == BATCH_SIZE or chars + len(text) > BATCH_CHARS):
            yield batch
            batch, chars = [], 0
        batch.append(text)
        chars += len(text)
    if batch:
        yield batch


def build_analysis(config: RedactionConfig, *, detector: Detector = "main", language: str = "en") -> Analysis:
    """The analysis `detector` runs for `config`, on this process's shared spaCy models."""
    # Imported here: loading an analyzer loads spaCy, which a process that only orchestrates never needs.
    from gateway.redaction.engine import analyzer_for, residual_analyzer_for

    if detector == "main":
        return Analysis(config=config, analyzer=analyzer_for(config), language=language)
    return Analysis(
        config=config,
        analyzer=residual_analyzer_for(config),
        language=language,
        threshold_drop=RESIDUAL_THRESHOLD_DROP,
        guesses_need_a_name=True,
        label=f"residual check: thresholds lowered by {RESIDUAL_THRESHOLD_DROP}, "
        "spaCy's person and place guesses only where a known name or place or two unusual words confirm them",
    )


__all__ = ["DETECTORS", "Analysis", "Detector", "Findings", "TextTooSlow", "build_analysis", "is_ner"]
