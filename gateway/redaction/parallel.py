"""Worker processes for the analysis: spaCy and Presidio are CPU-bound Python, one core each.

A scan spends nearly all its time in `Analysis.analyze` (spaCy's pipeline and Presidio's recognizers),
and the GIL keeps that on one core however many threads call it. `AnalysisPool` runs it in worker
processes instead: each worker builds the two detectors of `gateway.redaction.analysis` (`main` and
`residual`) from the same `RedactionConfig` and language, and answers `analyze` for partitions of the
units; the pool splits the distinct units into partitions balanced by characters and merges the answers.
Findings come back stamped with their kind (`findings.py`), so nothing in them refers to a worker's
objects.

- Workers are started with `forkserver` (`spawn` where there is none), never `fork`: the gateway runs
  threads (uvicorn, torch) and a forked copy of a threaded process can deadlock on a lock held at fork
  time. The fork server is a fresh single-threaded process that imports spaCy, Presidio and torch once
  (`_PRELOAD`); a worker forked from it only loads the models.
- A worker costs seconds to start (it loads the spaCy models), so the pool starts lazily, on the first
  input of at least `start_units` units (or an explicit `start()`), and inputs below `min_units` are
  analysed by the caller's `local` analysis even when the workers are warm (sending them would cost
  more than it saves). A caller that must never analyse in its own process (the HTTP server: one long
  text there would stall every request) passes no `local`, and then every input goes to the workers.
- Fail closed: a worker that raises, dies or does not answer within `timeout` makes `analyze` raise
  `RedactionError`; no partial result is ever returned. The pool is then shut down and the next call
  starts fresh workers, so one bad batch cannot leave a half-answered worker behind. A string that
  takes a worker longer than `budget` raises `TextTooSlow` naming it.
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
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any, Literal, cast

import structlog

from gateway.errors import ConfigError, RedactionError
from gateway.redaction.analysis import DETECTORS, Analysis, Detector, Findings, TextTooSlow, build_analysis
from gateway.redaction.config import RedactionConfig
from gateway.redaction.records import Unit

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

log = structlog.get_logger(__name__)

# Measured on 2 shared cores (benchmarks/redaction_throughput.py --sweep, load average ~1.8): with 2
# warm workers, 8 units took 56 ms against 128 ms in-process, 16 took 141 against 136, 32 took 113
# against 169, 512 took 1.6 s against 3.0 s; below ~16 units the split is noise, and in-process
# analysis leaves the pool free for a concurrent large upload. Starting 2 workers took 5.6 s (fork
# server cold; ~2 s once it runs), and 1,398 distinct units analysed on them saved 5 s of a 12 s scan:
# a one-off scan pays the start back from ~1,500-2,000 distinct units.
DEFAULT_MIN_UNITS = 16
DEFAULT_START_UNITS = 2000
START_TIMEOUT_S = 300.0
# How much lower a worker's CPU priority is than its parent's (`nice`): scans never starve requests.
WORKER_NICENESS = 10
_CHUNKS_PER_WORKER = 4
_MIN_CHUNK = 64  # units; smaller chunks cost more in messages than they gain in balance
_WARM_UP = "Dear Jane Smith, your order ships to 12 Main Street, Springfield; call 212-555-0100."

StartMethod = Literal["spawn", "forkserver"]
_PRELOAD = ("gateway.redaction.analysis", "gateway.redaction.recognizers")

# The caller's own analysis, for inputs too small to send: (distinct units, detector) -> findings.
Local = Callable[[list[Unit], Detector], Findings]


class AnalysisPool:
    """A lazily started set of worker processes answering `Analysis.analyze` for partitions of units."""

    def __init__(
        self,
        *,
        config: RedactionConfig,
        language: str = "en",
        workers: int | None = None,
        min_units: int = DEFAULT_MIN_UNITS,
        start_units: int = DEFAULT_START_UNITS,
        timeout: float | None = None,
        budget: float | None = None,
        start_method: StartMethod | None = None,
    ) -> None:
        """Describe the pool; no process starts here.

        `workers` defaults to `os.cpu_count()`. `timeout` bounds one `analyze` call in the workers
        (None: no bound); a worker past it counts as failed. `budget` bounds the time one string may
        take (`Analysis.analyze`). `start_method` defaults to `forkserver` where the platform has it,
        else `spawn`.
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
        if budget is not None and budget <= 0:
            raise ConfigError(f"the analysis budget must be positive, got {budget}")
        if start_method not in ("spawn", "forkserver"):
            # fork would copy the caller's threads' locks in whatever state they are in.
            raise ConfigError(f"start_method must be spawn or forkserver, got {start_method!r}")
        self.config = config
        self.language = language
        self.workers = workers
        self.min_units = min_units
        self.start_units = start_units
        self.timeout = timeout
        self.budget = budget
        # Any: typeshed's get_context(str) is a BaseContext, without the Process it has.
        self._context: Any = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            # The fork server imports spaCy, Presidio and torch once; each worker forked from it then
            # only loads the models. (A no-op if this process's fork server is already running.)
            self._context.set_forkserver_preload(list(_PRELOAD))
        self._config_json = config.model_dump_json()
        self._procs: list[BaseProcess] = []
        self._conns: list[Connection] = []
        self._lock = threading.Lock()  # one request/answer cycle at a time over the pipes
        self._descriptions: dict[str, str] = {}

    @property
    def started(self) -> bool:
        return bool(self._procs)

    def start(self) -> None:
        """Start the workers now and wait until each has built its analyses (or raise RedactionError)."""
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

    def describe(self, detector: Detector = "main") -> str:
        """What the workers' `detector` runs (analyzer, model, versions); starts the workers if needed."""
        with self._lock:
            self._start()
            return self._descriptions[detector]

    def analyze(
        self, units: Iterable[Unit], *, detector: Detector = "main", local: Local | None = None
    ) -> Findings:
        """Findings for each distinct non-blank unit, as `Analysis.analyze` gives them.

        Small inputs (see the module docstring) go to `local`, the caller's in-process analysis; without
        one, everything goes to the workers. Raises `RedactionError` if any worker fails: all partitions
        answer or none counts; `TextTooSlow` if a string takes longer than the budget.
        """
        distinct = list(dict.fromkeys(unit for unit in units if unit[0].strip()))
        if not distinct:
            return {}
        with self._lock:
            in_process = local is not None and (
                len(distinct) < self.min_units or (not self._procs and len(distinct) < self.start_units)
            )
            if not in_process:
                return self._analyze_in_workers(distinct, detector)
        assert local is not None
        return local(distinct, detector)

    def _analyze_in_workers(self, distinct: list[Unit], detector: Detector) -> Findings:
        self._start()
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
                    conn.send(("analyze", (detector, queue.popleft(), self.budget)))
                    pending[conn] = proc
            busy = len(pending)
            merged: Findings = {}
            while pending:
                conn, answer = self._next_answer(pending, deadline=deadline)
                merged.update(answer)
                if queue:
                    conn.send(("analyze", (detector, queue.popleft(), self.budget)))
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
            detector=detector,
            seconds=round(time.perf_counter() - started, 3),
        )
        # The caller's reading order, whatever order the workers answered in.
        return {unit: merged[unit] for unit in distinct}

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
                    if status == "slow":
                        unit, seconds = payload
                        raise TextTooSlow(unit, seconds)
                    if status == "config_error":
                        # The redaction config itself is wrong: the same error an in-process scanner gives.
                        raise ConfigError(payload)
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
            # Every worker says it has built its analyses (or why it could not) before any work, and
            # what they run.
            pending = dict(zip(self._conns, self._procs, strict=True))
            deadline = _deadline(START_TIMEOUT_S)
            described = []
            while pending:
                conn, descriptions = self._next_answer(pending, deadline=deadline)
                described.append(descriptions)
                del pending[conn]
        except (RedactionError, ConfigError):
            self._stop()
            raise
        except Exception as exc:  # no process, no pipe: out of resources
            self._stop()
            raise _failed(f"worker pool could not start: {type(exc).__name__}") from None
        if any(d != described[0] for d in described):
            self._stop()
            raise _failed("workers built different analyzers")
        self._descriptions = described[0]
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


_shared: dict[tuple[Any, ...], AnalysisPool] = {}
_shared_lock = threading.Lock()


def shared_pool(
    *,
    config: RedactionConfig,
    workers: int | None = None,
    min_units: int = DEFAULT_MIN_UNITS,
    start_units: int = DEFAULT_START_UNITS,
    timeout: float | None = None,
    budget: float | None = None,
) -> AnalysisPool:
    """The process's one pool for this config and these settings (as `AnalysisPool` takes them).

    A server holds one pool for its life; several apps in one process (tests) with the same redaction
    config share it instead of each loading the models into workers of their own.
    """
    key = (config.model_dump_json(), workers, min_units, start_units, timeout, budget)
    with _shared_lock:
        pool = _shared.get(key)
        if pool is None:
            pool = _shared[key] = AnalysisPool(
                config=config,
                workers=workers,
                min_units=min_units,
                start_units=start_units,
                timeout=timeout,
                budget=budget,
            )
        return pool


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


def _deadline(seconds: float | None) -> float | None:
    return None if seconds is None else time.monotonic() + seconds


def _failed(message: str) -> RedactionError:
    log.warning("redaction.pool_failed", error=message)
    return RedactionError(f"scanner failed: {message}")


def _worker_main(conn: Connection, config_json: str, language: str) -> None:
    """A worker's life: build the analyses, say ready (or why not), answer `analyze` until `stop`."""
    # Ctrl-C reaches the whole process group: the caller handles it and stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Analysis is background work: the process that answers HTTP (and its /healthz) wins the CPU.
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)
    try:
        config = RedactionConfig.model_validate_json(config_json)
        analyses: dict[str, Analysis] = {}
        for detector in DETECTORS:
            analyses[detector] = build_analysis(config, detector=detector, language=language)
            # spaCy's first documents are several times slower than the rest: pay that before any work.
            analyses[detector].analyze([(_WARM_UP, False)])
    except ConfigError as exc:
        _answer(conn, ("config_error", exc.message))
        return
    except Exception as exc:
        _answer(conn, ("error", _describe(exc)))
        return
    _answer(conn, ("ok", {name: analysis.description for name, analysis in analyses.items()}))
    while True:
        try:
            command, payload = conn.recv()
        except EOFError:
            return  # the parent is gone
        if command != "analyze":
            return
        detector, units, budget = payload
        try:
            answer: tuple[str, Any] = ("ok", analyses[detector].analyze(units, budget=budget))
        except TextTooSlow as slow:
            answer = ("slow", (slow.unit, slow.seconds))
        except Exception as exc:
            answer = ("error", _describe(exc))
        if not _answer(conn, answer):
            return


def _answer(conn: Connection, message: tuple[str, Any]) -> bool:
    """Send to the parent; False if it has stopped listening (it closed the pool after a failure)."""
    try:
        conn.send(message)
    except OSError:  # BrokenPipeError: nothing left to answer to
        return False
    return True


def _describe(exc: Exception) -> str:
    # The type only, unless it is ftgate's own error: spaCy's or Presidio's messages may quote the text.
    if isinstance(exc, RedactionError | ConfigError):
        return exc.message
    return type(exc).__name__
