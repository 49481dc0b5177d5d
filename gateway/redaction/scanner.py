"""The scanner: redact a dataset and report what was found. A small facade over the redaction package.

What is found and how it is replaced comes from the compliance-owned `RedactionConfig`
(policies/ftgate/redaction/data.json). The pieces, each in its own module:
- `records.py`: which strings of a record are analysed, and the record rebuilt in its own shape;
- `disguises.py`: what the analyzer reads for a text (disguises undone, encoded segments decoded);
- `analysis.py`: the unit of analysis, two detectors (`main` and an independent `residual` check);
- `parallel.py`: the same analysis in worker processes;
- `fields.py` and `recurrence.py`: findings from a field's key, and from a value found elsewhere;
- `replacement.py`: the operators, with one pseudonymizer per dataset;
- `passes.py`: one scan as passes over the records (analysis, recurrence, redaction to a fixed point,
  the residual check, writing and the report).

Where the analysis runs: in this process, in an `AnalysisPool`'s workers for large inputs, or, with
`in_process=False`, only ever in the workers (the HTTP server: one slow string analysed there would
stall every request).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import structlog
from presidio_analyzer import AnalyzerEngine, RecognizerResult

from gateway.errors import ConfigError, FtgateError, InvalidInput, RedactionError
from gateway.redaction.analysis import Analysis, Detector, Findings, build_analysis
from gateway.redaction.config import RedactionConfig, default_config
from gateway.redaction.parallel import AnalysisPool
from gateway.redaction.passes import CHUNK_SIZE, Progress, ScanRun
from gateway.redaction.records import Unit
from gateway.redaction.recurrence import PERSON, Recurrences
from gateway.redaction.report import ScanReport, ScanResult

log = structlog.get_logger(__name__)

DEFAULT_ROUNDS = 4

__all__ = ["CHUNK_SIZE", "Progress", "Scanner"]


class Scanner:
    """Redacts datasets; `scan_stream` is the one call an upload makes."""

    def __init__(
        self,
        *,
        pseudonym_key: bytes,
        config: RedactionConfig | None = None,
        score_threshold: float | None = None,
        language: str = "en",
        analyzer: AnalyzerEngine | None = None,
        redaction_rounds: int = DEFAULT_ROUNDS,
        pool: AnalysisPool | None = None,
        in_process: bool = True,
        budget: float | None = None,
    ) -> None:
        """Set up a scanner; only `pseudonym_key` is required.

        `config` defaults to `default_config()`; `score_threshold`, if given, replaces its
        `default_threshold`. `analyzer` is the main detector's Presidio analyzer (default: the one
        `engine.analyzer_for(config)` builds). `redaction_rounds` bounds the rounds of redaction (1:
        redact once). `pool`, built from this scanner's effective config, analyses large inputs in
        worker processes (the findings are the same); with `in_process=False` it analyses all of them,
        and this process never loads a model. `budget` bounds the seconds one string may take to
        analyse in this process (the pool has its own).
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
        if not in_process and pool is None:
            raise ConfigError("a scanner that may not analyse in process needs a pool of workers")
        self._pseudonym_key = pseudonym_key
        self.config = config
        self.config_sha256 = config.sha256()
        self.score_threshold = config.default_threshold
        self.language = language
        self.redaction_rounds = redaction_rounds
        self.in_process = in_process
        self.budget = budget
        self._pool = pool
        self._local: dict[Detector, Analysis] = {}
        if in_process:
            # Built now, so a config the analyzer cannot serve is refused at start.
            with _fail_closed():
                if analyzer is None:
                    self._local["main"] = build_analysis(config, language=language)
                else:
                    self._local["main"] = Analysis(config=config, analyzer=analyzer, language=language)

    @property
    def analyzer_name(self) -> str:
        """The main detector: analyzer and model, with versions."""
        return self._describe("main")

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

        `read_records()` must yield the same records, in the same order, every time it is called (once
        per pass, `passes.py`). Memory holds one chunk of records, the findings of the strings that had
        some, a 16-byte digest of every other distinct string, and the redacted text of the strings
        that changed, never the dataset. `progress(phase, done, total)` is called after each chunk.

        Raises like `scan`; records already handed to `write` must then be thrown away by the caller.
        An exception raised by `write` or `progress` is the caller's own and passes through unchanged
        (not a `RedactionError`): a caller stops a scan by raising from `progress`.
        """
        if chunk_size < 1:
            raise ConfigError(f"chunk_size must be at least 1, got {chunk_size}")
        run = ScanRun(
            config=self.config,
            analyst=self,
            key=self._pseudonym_key,
            rounds=self.redaction_rounds,
            description=self._describe,
            read_records=read_records,
            write=_theirs(write),
            notify=_theirs(progress) if progress is not None else _no_progress,
            total=total,
            chunk_size=chunk_size,
        )
        with _fail_closed():
            return run.run()

    def analyze(self, units: list[Unit], detector: Detector) -> Findings:
        """Findings per distinct unit by `detector`, wherever this scanner's analysis runs."""
        if self._pool is not None:
            local = self._analyze_here if self.in_process else None
            return self._pool.analyze(units, detector=detector, local=local)
        return self._analyze_here(list(dict.fromkeys(units)), detector)

    def entities_in(self, texts: Sequence[str]) -> list[list[str]]:
        """The entity types found in each free text (a dataset name, a review note), sorted.

        Each text is analysed as a string value of a record would be (disguises undone, encoded segments
        decoded, the config's thresholds and allow-list); the values found are never returned.
        Raises `RedactionError` if the analysis fails (fail closed).
        """
        units: list[Unit] = [(text, False) for text in texts]
        with _fail_closed():
            found = self.analyze(units, "main")
        return [sorted({r.entity_type for r in found.get(unit, [])}) for unit in units]

    def analyze_texts(self, texts: list[str]) -> list[list[RecognizerResult]]:
        """The findings a scan would act on for each text (original offsets), each text one record.

        For measuring the scanner (benchmarks/redaction_efficacy.py) against plain Presidio: the same
        analysis, thresholds, allow-list and recurrence as `scan`, before replacement.
        """
        units: list[Unit] = [(text, False) for text in dict.fromkeys(texts)]
        with _fail_closed():
            found = self.analyze(units, "main")
            recurrences = Recurrences(persons=PERSON in self.config.enabled())
            for unit in units:
                recurrences.gather(unit[0], found.get(unit, []))
            recurrences.build()
            for unit in units:
                base = found.get(unit, [])
                found[unit] = base + recurrences.dataset_extras(unit[0], base)
            for unit in units:  # each text is its own record
                found[unit] = found[unit] + recurrences.record_extras([(unit[0], found[unit])])[0]
        return [found.get((text, False), []) for text in texts]

    def _analyze_here(self, units: list[Unit], detector: Detector) -> Findings:
        return self._analysis(detector).analyze(units, budget=self.budget)

    def _analysis(self, detector: Detector) -> Analysis:
        if not self.in_process:
            raise RedactionError("scanner failed: analysis may not run in this process")
        analysis = self._local.get(detector)
        if analysis is None:
            analysis = self._local[detector] = build_analysis(
                self.config, detector=detector, language=self.language
            )
        return analysis

    def _describe(self, detector: Detector) -> str:
        if self.in_process or self._pool is None:
            return self._analysis(detector).description
        return self._pool.describe(detector)


def _failure(exc: Exception) -> RedactionError:
    # Only the type: messages from spaCy or Presidio may quote the text they choked on.
    log.warning("redaction.failed", error=type(exc).__name__)
    return RedactionError(f"scanner failed: {type(exc).__name__}")


class _CallerFailed(Exception):
    """Carries an exception from the caller's own callback (`write`, `progress`) out of the scan."""

    def __init__(self, error: Exception) -> None:
        super().__init__(type(error).__name__)
        self.error = error


def _theirs(callback: Callable[..., None]) -> Callable[..., None]:
    """`callback`, its exceptions marked as the caller's (see `_fail_closed`)."""

    def call(*args: Any) -> None:
        try:
            callback(*args)
        except Exception as exc:
            raise _CallerFailed(exc) from exc

    return call


@contextmanager
def _fail_closed() -> Iterator[None]:
    """Any failure of Presidio, spaCy or the replacement is a `RedactionError`; our own errors pass,
    and so does what the caller's callbacks raised."""
    try:
        yield
    except _CallerFailed as failed:
        raise failed.error from None
    except FtgateError:
        raise
    except Exception as exc:
        raise _failure(exc) from None


def _no_progress(phase: str, done: int, total: int | None) -> None:
    pass
