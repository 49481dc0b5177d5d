"""The embedded backend: regorus, Microsoft's Rego interpreter in Rust, in the gateway's process.

Policies and data are compiled once into a prototype `regorus.Engine`; each evaluation works on a
`clone()` of it (microseconds), so no input or cached value survives from one request to the next.

Two regorus properties shape this module:

- A `regorus.Engine` is a PyO3 "unsendable" object: touched from any thread but the one that built
  it, it panics, and dropped on another thread it leaks with a warning. Each `RegorusEngine`
  therefore evaluates on one thread of its own, which keeps the prototype (compiled from the same
  bundle bytes) in storage it owns, so it is freed there, also when the thread ends. Evaluating on
  the callers' threads instead made each new one compile the bundle again: a server's request threads
  come and go (anyio ends one idle for 10 s), and a compile holds the interpreter lock for 8-25 ms,
  so under load the other requests waited in turn (stalls of 50 ms and more were seen with four
  threads compiling at once).
- regorus checks little when a policy is added: an unknown function or an unsafe variable (a typo)
  surfaces only when an evaluation reaches it. Worse, a rule body it cannot order is reported on
  stderr alone, then evaluated in source order: the error appears only for inputs that get that
  far. `compile_bundle` forces regorus's analysis at load time (it is lazy), watches stderr while
  it runs, and refuses such a bundle, so a broken edit is never served.

A bundle that cannot be loaded at start raises ConfigError: the gateway refuses to start. Hot
reload: every evaluation checks the directory's snapshot (`gateway/policy/watch.py`) and recompiles
when it is stale. A bundle that fails to load after a change
is not served: decisions deny with ENGINE_ERROR until the files are fixed, and `check()` raises
ConfigError with regorus's message meanwhile (for a health check).
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import tempfile
import threading
import weakref
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import regorus
import structlog

from gateway.errors import ConfigError
from gateway.policy.bundle import PolicyBundle
from gateway.policy.engine import DECISION_RULE, PolicyBundleError, PolicyEngine, UnknownEntrypoint
from gateway.policy.watch import Snapshot
from gateway.settings import Settings

log = structlog.get_logger(__name__)

# What regorus prints (and then carries on) when it cannot order a rule body's statements.
_UNSCHEDULABLE = "could not schedule all statements"

# On each engine's evaluating thread: (bundle generation, prototype), freed on that thread.
_thread_prototype = threading.local()
_tokens = itertools.count(1)  # names the evaluating threads


def engine_message(exc: BaseException) -> str:
    """An engine error's message without the Rust backtrace regorus appends under RUST_BACKTRACE."""
    return str(exc).split("Stack backtrace:", 1)[0].strip()


class _Captured:
    text = ""


@contextmanager
def _stderr_captured() -> Iterator[_Captured]:
    """Collect what native code writes to file descriptor 2 meanwhile, then pass it on unchanged."""
    captured = _Captured()
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to watch (a daemon with fd 2 closed): evaluate unwatched
        yield captured
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            data = sink.read()
            captured.text = data.decode("utf-8", errors="replace")
            if data:  # other threads may have written too; nothing written to stderr is lost
                os.write(2, data)


def compile_bundle(
    bundle: PolicyBundle, *, include_tests: bool = False, check: bool = True
) -> regorus.Engine:
    """A prepared regorus engine holding the bundle's policies (and tests, if asked) and its data.

    Raises PolicyBundleError for anything regorus refuses, and, when `check` is set, for a rule
    regorus cannot schedule.
    """
    engine = regorus.Engine()
    error = _fill(engine, bundle, include_tests=include_tests, check=check)
    if error is not None:
        # Let the engine go here, on its own thread: this frame, kept by the traceback, could
        # otherwise hold it until a collection on another thread, where a regorus engine leaks.
        del engine
        raise PolicyBundleError(error)
    return engine


def _fill(engine: regorus.Engine, bundle: PolicyBundle, *, include_tests: bool, check: bool) -> str | None:
    """Load the bundle into engine and run regorus's analysis; why that failed, if it did."""
    engine.set_rego_v0(False)  # the default in regorus 0.13 already; pinned because the style relies on v1
    files = bundle.policy_files + (bundle.test_files if include_tests else [])
    stderr = _Captured()
    try:
        for file in files:
            engine.add_policy(file.path, file.text)
        for file in bundle.data_files:
            engine.add_data_json(json.dumps(file.document()))
        # Any evaluation analyses every module; clones of an analysed engine skip that work
        # (about 5x faster per decision), so it is done here once either way.
        with _stderr_captured() if check else nullcontext(stderr) as stderr:
            engine.eval_query("true")
    except Exception as exc:  # regorus raises RuntimeError; decoding and JSON errors come as ValueError
        return engine_message(exc)
    if _UNSCHEDULABLE in stderr.text:
        return (
            "regorus cannot schedule a rule body (an unsafe or misspelt variable?) and would leave the "
            "rule undefined; run the Rego tests to find it"
        )
    return None


@dataclass(frozen=True)
class _State:
    """One load of the policy directory: what was watched and what came of it."""

    generation: int
    snapshot: Snapshot
    bundle: PolicyBundle | None
    packages: frozenset[str]
    error: BaseException | None

    def stale(self) -> bool:
        return self.snapshot.stale()


class RegorusEngine(PolicyEngine):
    """Evaluates the bundle in `policy_dir` with regorus; reloads it when its files change."""

    def __init__(self, policy_dir: Path | str) -> None:
        self.policy_dir = Path(policy_dir)
        self._lock = threading.Lock()
        self._token = next(_tokens)
        # The one thread that touches this engine's regorus engines (see the module doc); it ends when
        # this object is collected.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"regorus-{self._token}")
        weakref.finalize(self, self._thread.shutdown, wait=False)
        self._state = self._load(generation=1)
        self.check()  # refuse to start on a bundle that cannot be served

    @classmethod
    def name(cls) -> str:
        return "regorus"

    @classmethod
    def from_settings(cls, settings: Settings) -> RegorusEngine:
        return cls(settings.policy_dir)

    def check(self) -> None:
        """Return if the bundle on disk can be served; raise ConfigError saying why it cannot."""
        state = self._current()
        if state.error is not None:
            raise ConfigError(
                f"cannot load the policy bundle in {self.policy_dir}: {engine_message(state.error)}"
            ) from state.error

    @property
    def bundle(self) -> PolicyBundle | None:
        """The bundle now served, or the one that failed to load; None when none could be read."""
        return self._current().bundle

    @property
    def bundle_sha256(self) -> str:
        bundle = self.bundle
        return bundle.sha256 if bundle is not None else "unknown"

    def evaluate(self, entrypoint: str, input: dict[str, Any], rule: str = DECISION_RULE) -> Any:
        return self.evaluate_with_bundle(entrypoint, input, rule)[0]

    def evaluate_with_bundle(
        self, entrypoint: str, input: dict[str, Any], rule: str = DECISION_RULE
    ) -> tuple[Any, str]:
        state = self._current()
        if state.error is not None or state.bundle is None:
            raise PolicyBundleError(
                f"the policy bundle in {self.policy_dir} cannot be loaded"
            ) from state.error
        if f"data.{entrypoint}" not in state.packages:
            raise UnknownEntrypoint(f"no policy package {entrypoint!r}")
        # allow_nan=False: NaN is not JSON, and a value the policy cannot read must not slip through.
        document = json.dumps(input, allow_nan=False)
        result = self._thread.submit(self._evaluate, state, f"data.{entrypoint}.{rule}", document).result()
        return result, state.bundle.sha256

    def _evaluate(self, state: _State, rule: str, document: str) -> Any:
        """On this engine's own thread: `rule` on a clone of the prototype, with `document` as input."""
        engine = self._prototype(state).clone()
        try:
            engine.set_input_json(document)
            return engine.eval_rule(rule)
        finally:
            del engine  # not left to a traceback that another thread might collect (see compile_bundle)

    def _current(self) -> _State:
        state = self._state
        if state.stale():
            with self._lock:
                if self._state is state:  # else another thread reloaded while this one waited
                    self._state = self._load(generation=state.generation + 1)
                state = self._state
        return state

    def _prototype(self, state: _State) -> regorus.Engine:
        """This engine's prototype for `state`, on its own thread (which serves no other engine)."""
        entry: tuple[int, regorus.Engine] | None = getattr(_thread_prototype, "entry", None)
        if entry is not None and entry[0] == state.generation:
            return entry[1]
        assert state.bundle is not None
        # The bundle compiled in the loading thread already; the same bytes compile here too.
        prototype = compile_bundle(state.bundle, check=False)
        _thread_prototype.entry = (state.generation, prototype)  # the previous one is freed here
        return prototype

    def _load(self, *, generation: int) -> _State:
        snapshot = Snapshot.take(self.policy_dir)  # before reading: a later change is seen next time
        bundle: PolicyBundle | None = None
        try:
            bundle = PolicyBundle.load(self.policy_dir)
            prototype = compile_bundle(bundle)
        except Exception as exc:
            log.error(
                "policy.load_failed",
                policy_dir=str(self.policy_dir),
                bundle_sha256=bundle.sha256 if bundle else None,
                error=engine_message(exc),
            )
            return _State(generation, snapshot, bundle, frozenset(), exc)
        packages = frozenset(prototype.get_packages())
        del prototype  # on the thread that built it; the evaluating thread compiles its own
        log.info(
            "policy.loaded",
            policy_dir=str(self.policy_dir),
            bundle_sha256=bundle.sha256,
            files=len(bundle.files),
            generation=generation,
        )
        return _State(generation, snapshot, bundle, packages, None)
