"""Worker processes for the scanner's analysis: spaCy and Presidio are CPU-bound Python, one core each.

A scan spends nearly all its time in `Scanner._analyze` (spaCy's pipeline and Presidio's recognizers),
and the GIL keeps that on one core however many threads call it. `AnalysisPool` runs it in worker
processes instead: each worker builds its own `Scanner` from the same `RedactionConfig` and language
(and its own analyzer, `analyzer_for(config)` as `gateway.runtime` builds it), and answers `_analyze` for one
partition of the units; the pool splits the distinct units into partitions balanced by characters, one
per worker, and merges the answers.

- Workers are started with `forkserver` (`spawn` where there is none), never `fork`: the gateway runs
  threads (uvicorn, torch) and a forked copy of a threaded process can deadlock on a lock held at fork
  time. The fork server is a fresh single-threaded process that imports spaCy, Presidio and torch once
  (`_PRELOAD`); a worker forked from it only loads the model. Measured on 2 cores under load ~8: 2
  workers ready in ~15 s the first time and ~2 s after (the fork server stays), against ~25-29 s with
  `spawn`; at load ~2, 5.6 s the first time.
- A worker costs seconds to start (it loads the spaCy model), so the pool starts lazily, on the first
  input of at least `start_units` units (or an explicit `start()`), and inputs below `min_units` are
  analysed in the calling process even when the workers are warm (sending them would cost more than
  it saves). The defaults come from benchmarks/redaction_throughput.py on 2 cores.
- Fail closed: a worker that raises, dies or does not answer within `timeout` makes `analyze` raise
  `RedactionError`; no partial result is ever returned. The pool is then shut down and the next call
  starts fresh workers, so one bad batch cannot leave a half-answered worker behind.

A finding names the recognizer object that made it (`recognition_metadata["recognizer_identifier"]`
is `f"{name}_{id(obj)}"`), and the scanner tells NER findings by those identifiers. A worker's objects
are not the caller's, so each worker rewrites an identifier to the recognizer's position in
`recognizers_of(its scanner)` and the pool rewrites the position to the identifier of the caller's
recognizer at that position, after checking that both lists name the same recognizers in the same
order (they do when both scanners are built alike; if not, `analyze` raises).

Integration, in `Scanner._analyze` (the current body renamed `_analyze_here`):

    if self._pool is not None:
        return self._pool.analyze(units, local=self._analyze_here, recognizers=recognizers_of(self))
    return self._analyze_here(units)

The pool must be built from the scanner's effective config (`scanner.config`, which already carries a
`score_threshold` override) and language, and only for a scanner on `analyzer_for(config)`: a worker
cannot receive an analyzer object, it builds that one (a different recognizer list is refused).
"""

from __future__ import annotations

import contextlib
import heapq
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any, Literal, cast

import structlog

from gateway.errors import ConfigError, RedactionError
from gateway.redaction.config import RedactionConfig

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from presidio_analyzer import EntityRecognizer, RecognizerResult

log = structlog.get_logger(__name__)

# One unit of analysis, as in gateway.redaction.scanner: (distinct text, is a key token or a number).
Unit = tuple[str, bool]
Findings = dict[Unit, list["RecognizerResult"]]

# Measured on 2 shared cores (benchmarks/redaction_throughput.py --sweep, load average ~1.8): with 2
# warm workers, 8 units took 56 ms against 128 ms in-process, 16 took 141 against 136, 32 took 113
# against 169, 512 took 1.6 s against 3.0 s; below ~16 units the split is noise, and in-process
# analysis leaves the pool free for a concurrent large upload. Starting 2 workers took 5.6 s (fork
# server cold; ~2 s once it runs), and 1,398 distinct units analysed on them saved 5 s of a 12 s scan:
# a one-off scan pays the start back from ~1,500-2,000 distinct units.
DEFAULT_MIN_UNITS = 16
DEFAULT_START_UNITS = 2000
START_TIMEOUT_S = 300.0
_CHUNKS_PER_WORKER = 4
_MIN_CHUNK = 64  # units; smaller chunks cost more in messages than they gain in balance
_IDENTIFIER = "recognizer_identifier"  # RecognizerResult.RECOGNIZER_IDENTIFIER_KEY
_ANALYSIS_KEY = b"analysis-only"  # workers never replace anything: the pseudonym key is never used
_WARM_UP = "Dear Jane Smith, your order ships to 12 Main Street, Springfield; call 212-555-0100."

StartMethod = Literal["spawn", "forkserver"]
_PRELOAD = ("gateway.redaction.scanner", "gateway.redaction.recognizers")


class AnalysisPool:
    """A lazily started set of worker processes answering `Scanner._analyze` for partitions of units."""

    def __init__(
        self,
        *,
        config: RedactionConfig,
        language: str = "en",
        workers: int | None = None,
        min_units: int = DEFAULT_MIN_UNITS,
        start_units: int = DEFAULT_START_UNITS,
        timeout: float | None = None,
        start_method: StartMethod | None = None,
    ) -> None:
        """Describe the pool; no process starts here.

        `workers` defaults to `os.cpu_count()`. `timeout` bounds one `analyze` call in the workers
        (None: no bound); a worker past it counts as failed. `start_method` defaults to `forkserver`
        where the platform has it, else `spawn`.
        """
        workers = (os.cpu_count() or 1) if workers is None else workers
        if start_method is None:
            start_method = (
                "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
            )
        if workers < 1:
            raise ConfigError(f"scan workers must be at least 1, got {workers}")
        if min_units < 1 or start_units < 1:
            raise ConfigError("min_units and start_units must be at least 1")
        if start_method not in ("spawn", "forkserver"):
            # fork would copy the caller's threads' locks in whatever state they are in.
            raise ConfigError(f"start_method must be spawn or forkserver, got {start_method!r}")
        self.config = config
        self.language = language
        self.workers = workers
        self.min_units = min_units
        self.start_units = start_units
        self.timeout = timeout
        # Any: typeshed's get_context(str) is a BaseContext, without the Process it has.
        self._context: Any = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            # The fork server imports spaCy, Presidio and torch once; each worker forked from it then
            # only loads the model. (A no-op if this process's fork server is already running.)
            self._context.set_forkserver_preload(list(_PRELOAD))
        self._config_json = config.model_dump_json()
        self._procs: list[BaseProcess] = []
        self._conns: list[Connection] = []
        self._lock = threading.Lock()  # one request/answer cycle at a time over the pipes
        self._local_scanner: Any = None
        self._worker_recognizers: list[str] = []  # names, in the order the workers' positions refer to

    @property
    def started(self) -> bool:
        return bool(self._procs)

    def start(self) -> None:
        """Start the workers now and wait until each has loaded its analyzer (or raise RedactionError)."""
        with self._lock:
            self._start()

    def close(self) -> None:
        """Stop the workers; the pool can start again later."""
        with self._lock:
            self._stop()

    def __enter__(self) -> AnalysisPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        # A forgotten pool must not leave processes behind (they are daemons, this is the tidy way).
        if getattr(self, "_procs", None):
            with contextlib.suppress(Exception):  # at interpreter exit multiprocessing may be half gone
                self._stop()

    def analyze(
        self,
        units: Iterable[Unit],
        *,
        recognizers: Sequence[EntityRecognizer],
        local: Callable[[list[Unit]], Findings] | None = None,
    ) -> Findings:
        """Findings for each distinct non-blank unit, as `Scanner._analyze` gives them.

        `recognizers` is `recognizers_of(the calling scanner)`: findings name those objects. Small
        inputs (see the module docstring) go to `local`, the caller's in-process analysis, or, without
        one, to a scanner this pool builds in the calling process. Raises `RedactionError` if any
        worker fails: all partitions answer or none counts.
        """
        distinct = list(dict.fromkeys(unit for unit in units if unit[0].strip()))
        with self._lock:
            in_process = len(distinct) < self.min_units or (
                not self._procs and len(distinct) < self.start_units
            )
            if not in_process:
                return self._analyze_in_workers(distinct, list(recognizers))
        return (local or self._local())(distinct)

    def _local(self) -> Callable[[list[Unit]], Findings]:
        if self._local_scanner is None:
            self._local_scanner = _build_scanner(self._config_json, self.language)
        return self._local_scanner._analyze

    def _analyze_in_workers(self, distinct: list[Unit], recognizers: list[EntityRecognizer]) -> Findings:
        self._start()
        names = _names(recognizers)
        if names != self._worker_recognizers:
            # Positions would point at other recognizers: NER findings would pass for pattern ones.
            raise _failed("the workers' recognizers differ from the scanner's (a custom analyzer?)")
        identifiers = [recognizer.id for recognizer in recognizers]
        # A few chunks per worker, each sent to whichever worker answers next: characters predict a
        # text's cost only roughly, and a worker left idle at the end is a core wasted.
        chunks = max(self.workers, min(self.workers * _CHUNKS_PER_WORKER, len(distinct) // _MIN_CHUNK))
        queue = deque(part for part in partition(distinct, chunks) if part)
        started = time.perf_counter()
        deadline = _deadline(self.timeout)
        try:
            pending: dict[Connection, BaseProcess] = {}
            for conn, proc in zip(self._conns, self._procs, strict=True):
                if queue:
                    conn.send(("analyze", queue.popleft()))
                    pending[conn] = proc
            busy = len(pending)
            merged: Findings = {}
            while pending:
                conn, answer = self._next_answer(pending, deadline=deadline)
                merged.update(answer)
                if queue:
                    conn.send(("analyze", queue.popleft()))
                else:
                    del pending[conn]
        except RedactionError:
            self._stop()
            raise
        except Exception as exc:  # a pipe broken mid-send, an answer that does not unpickle, ...
            self._stop()
            raise _failed(f"worker pool failed: {type(exc).__name__}") from None
        missing = len(set(distinct) - merged.keys())
        if missing:
            self._stop()
            raise _failed(f"worker pool left {missing} units unanswered")
        log.debug(
            "redaction.pool_analyzed",
            units=len(distinct),
            workers=busy,
            chunks=chunks,
            seconds=round(time.perf_counter() - started, 3),
        )
        # The caller's reading order, whatever order the workers answered in.
        out = {unit: merged[unit] for unit in distinct}

        def caller_identifier(position: Any) -> str | None:
            return identifiers[position] if isinstance(position, int) else None

        for results in out.values():
            for result in results:
                _relabel(result, caller_identifier)
        return out

    def _next_answer(
        self, pending: dict[Connection, BaseProcess], *, deadline: float | None
    ) -> tuple[Connection, Any]:
        """The next answer of a pending worker; RedactionError if one fails, dies or the deadline passes."""
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            sentinels = {proc.sentinel: conn for conn, proc in pending.items()}
            ready = wait([*pending, *sentinels], timeout=remaining)
            if not ready:
                raise _failed("worker pool did not answer in time")
            # Answers first: a worker may have answered and then died, and the answer still counts.
            for item in sorted(ready, key=lambda item: not isinstance(item, Connection)):
                if isinstance(item, Connection):
                    try:
                        status, payload = item.recv()
                    except EOFError:
                        status, payload = "error", "worker closed its pipe"
                    if status != "ok":
                        raise _failed(f"worker failed: {payload}")
                    return item, payload
                conn = sentinels[cast(int, item)]
                if not conn.poll():
                    # The process ended without an answer waiting: killed, crashed, out of memory.
                    raise _failed(f"worker exited with code {pending[conn].exitcode} before answering")

    def _start(self) -> None:
        if self._procs:
            return
        started = time.perf_counter()
        try:
            for _ in range(self.workers):
                parent, child = self._context.Pipe()
                proc = self._context.Process(
                    target=_worker_main, args=(child, self._config_json, self.language), daemon=True
                )
                self._conns.append(parent)
                proc.start()
                self._procs.append(proc)
                child.close()
            # Every worker says it has loaded its analyzer (or why it could not) before any work, and
            # which recognizers its positions refer to.
            pending = dict(zip(self._conns, self._procs, strict=True))
            deadline = _deadline(START_TIMEOUT_S)
            lists = []
            while pending:
                conn, names = self._next_answer(pending, deadline=deadline)
                lists.append(names)
                del pending[conn]
        except RedactionError:
            self._stop()
            raise
        except Exception as exc:  # no process, no pipe: out of resources
            self._stop()
            raise _failed(f"worker pool could not start: {type(exc).__name__}") from None
        if any(names != lists[0] for names in lists):
            self._stop()
            raise _failed("workers built different recognizers")
        self._worker_recognizers = lists[0]
        log.info(
            "redaction.pool_started",
            workers=self.workers,
            seconds=round(time.perf_counter() - started, 3),
        )

    def _stop(self) -> None:
        for conn in self._conns:
            with contextlib.suppress(OSError, ValueError):  # already gone
                conn.send(("stop", None))
            conn.close()
        for proc in self._procs:
            # An idle worker stops at once; one still busy with a failed call's partition is killed.
            proc.join(timeout=1)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5)
        self._procs, self._conns = [], []


def partition(units: list[Unit], parts: int) -> list[list[Unit]]:
    """`parts` lists of units with near-equal characters (longest first onto the lightest), order kept.

    spaCy's and Presidio's cost grows with the text, so the character count, not the unit count, is
    what balances the workers.
    """
    heap = [(0, index) for index in range(parts)]
    assigned = [0] * len(units)
    for position in sorted(range(len(units)), key=lambda i: -len(units[i][0])):
        load, index = heapq.heappop(heap)
        assigned[position] = index
        heapq.heappush(heap, (load + len(units[position][0]) + 1, index))
    out: list[list[Unit]] = [[] for _ in range(parts)]
    for position, index in enumerate(assigned):
        out[index].append(units[position])
    return out


def recognizers_of(scanner: Any) -> list[EntityRecognizer]:
    """Every recognizer a scanner's findings can name: its analyzer's registry, then its custom ones."""
    return [*scanner._batch.analyzer_engine.registry.recognizers, *scanner._ad_hoc]


def _names(recognizers: Sequence[EntityRecognizer]) -> list[str]:
    return [str(recognizer.name) for recognizer in recognizers]  # type: ignore[has-type]


def _relabel(result: RecognizerResult, new: Callable[[Any], Any]) -> None:
    """Replace the result's recognizer identifier by `new(identifier)`, unless that is None."""
    metadata = result.recognition_metadata
    if not metadata:
        return
    replacement = new(metadata.get(_IDENTIFIER))
    if replacement is not None:
        # A copy: Presidio may share one metadata dict between results.
        result.recognition_metadata = {**metadata, _IDENTIFIER: replacement}


def _deadline(seconds: float | None) -> float | None:
    return None if seconds is None else time.monotonic() + seconds


def _failed(message: str) -> RedactionError:
    log.warning("redaction.pool_failed", error=message)
    return RedactionError(f"scanner failed: {message}")


def _build_scanner(config_json: str, language: str) -> Any:
    """The scanner `gateway.runtime` builds for this config, minus the pseudonym key it never uses."""
    # Imported here: the scanner may import this module, and a worker needs nothing else loaded first.
    from gateway.redaction.recognizers import analyzer_for
    from gateway.redaction.scanner import Scanner

    config = RedactionConfig.model_validate_json(config_json)
    return Scanner(
        pseudonym_key=_ANALYSIS_KEY, config=config, language=language, analyzer=analyzer_for(config)
    )


def _worker_main(conn: Connection, config_json: str, language: str) -> None:
    """A worker's life: build the scanner, say ready (or why not), answer `analyze` until `stop`."""
    # Ctrl-C reaches the whole process group: the caller handles it and stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        scanner = _build_scanner(config_json, language)
        # spaCy's first documents are several times slower than the rest: pay that before any work.
        scanner._analyze([(_WARM_UP, False)])
    except Exception as exc:
        conn.send(("error", _describe(exc)))
        return
    recognizers = recognizers_of(scanner)
    positions = {recognizer.id: index for index, recognizer in enumerate(recognizers)}
    conn.send(("ok", _names(recognizers)))
    while True:
        try:
            command, payload = conn.recv()
        except EOFError:
            return  # the parent is gone
        if command != "analyze":
            return
        try:
            found = scanner._analyze(payload)
            for results in found.values():
                for result in results:
                    _relabel(result, positions.get)
            answer: tuple[str, Any] = ("ok", found)
        except Exception as exc:
            answer = ("error", _describe(exc))
        conn.send(answer)


def _describe(exc: Exception) -> str:
    # The type only, unless it is ftgate's own error: spaCy's or Presidio's messages may quote the text.
    if isinstance(exc, RedactionError | ConfigError):
        return exc.message
    return type(exc).__name__
