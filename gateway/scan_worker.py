"""Scan workers: processes that claim received datasets and scan them (`services.dataset_scans`).

`run_scan_worker` is the loop; `ftgate worker --scan` runs it on a host that only scans, and
`ftgate serve` starts `ScanWorkers`, processes of its own that each run it, so that no scan ever runs in
the process that answers HTTP. They start on the first upload the server receives (or at once when
datasets are waiting, after a restart), since each loads the spaCy models (seconds, ~800 MB), and a
worker that dies is started again.

Processes come from `forkserver` (`spawn` where there is none), never `fork`: the server runs threads,
and a forked copy of a threaded process can deadlock on a lock held at fork time. They are daemons,
at a lower CPU priority than the server: scans never starve requests.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import signal
import socket
import threading
import time
import weakref
from typing import Any

import structlog

from gateway.errors import FtgateError
from gateway.leases import LeaseLost
from gateway.runtime import Runtime
from gateway.services import dataset_scans
from gateway.settings import Settings

log = structlog.get_logger(__name__)

# How much lower a scan worker's CPU priority is than the server's (`nice`).
NICENESS = 10
# A scan worker that died is started again at most this often.
RESTART_INTERVAL_S = 5.0


class Stop(BaseException):
    """SIGTERM: stop scanning; the scan in hand is handed back (`dataset_scans.release`)."""


def run_scan_worker(
    *,
    rt: Runtime,
    owner: str,
    once: bool = False,
    poll_seconds: float = 1.0,
    lease_seconds: float = dataset_scans.DEFAULT_LEASE_SECONDS,
    max_attempts: int = dataset_scans.DEFAULT_MAX_ATTEMPTS,
    stop: threading.Event | None = None,
) -> int:
    """Claim and scan datasets until `stop` is set (or, with `once`, until none is waiting); returns
    how many scans this worker ended. A scan's outcome, failures included, is on the dataset."""
    stop = stop or threading.Event()
    scanned = 0
    while not stop.is_set():
        dataset_id = dataset_scans.claim(
            rt=rt, owner=owner, lease_seconds=lease_seconds, max_attempts=max_attempts
        )
        if dataset_id is None:
            if once:
                break
            stop.wait(poll_seconds)
            continue
        try:
            dataset = dataset_scans.scan_dataset(
                rt=rt, dataset_id=dataset_id, owner=owner, lease_seconds=lease_seconds
            )
            log.info("dataset.scanned", dataset_id=dataset_id, status=dataset.status.value)
        except LeaseLost:
            log.warning("dataset.scan_lease_lost", dataset_id=dataset_id, worker=owner)
        except FtgateError as error:  # recorded on the dataset as `failed`
            log.warning("dataset.scan_failed", dataset_id=dataset_id, code=error.code)
        except Exception:  # recorded as `failed` too; this worker goes on with the next
            log.exception("dataset.scan_crashed", dataset_id=dataset_id)
        except BaseException:
            dataset_scans.release(rt=rt, dataset_id=dataset_id, owner=owner)
            raise
        scanned += 1
    return scanned


def worker_name(kind: str = "scan") -> str:
    return f"{kind}@{socket.gethostname()}:{os.getpid()}"


def _stop(signum: int, frame: Any) -> None:
    raise Stop


def scan_worker_main(settings: Settings, poll_seconds: float) -> None:
    """A scan worker process of `ftgate serve`: analyses in this process, until SIGTERM."""
    from gateway.logging import configure_logging

    configure_logging(settings.log_level)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server's Ctrl-C reaches it too: the server stops it
    os.nice(NICENESS)
    # The scan runs here, in this process: no pool of its own.
    rt = Runtime(settings.model_copy(update={"scan_workers": 0}))
    try:
        run_scan_worker(rt=rt, owner=worker_name(), poll_seconds=poll_seconds)
    except Stop:
        pass
    finally:
        rt.engine.dispose()


_LIVE: weakref.WeakSet[ScanWorkers] = weakref.WeakSet()


def close_all() -> None:
    """Stop every `ScanWorkers` of this process (at exit; test fixtures between tests)."""
    for workers in list(_LIVE):
        workers.close()


atexit.register(close_all)


class ScanWorkers:
    """The server's scan worker processes: started on demand, restarted when one dies, stopped with it.

    `count` processes (`FTGATE_SCAN_WORKERS`; None: one per CPU; 0: none, other hosts run
    `ftgate worker --scan`).
    """

    def __init__(self, settings: Settings, *, poll_seconds: float = 1.0) -> None:
        _LIVE.add(self)
        count = settings.scan_workers
        self.count = (os.cpu_count() or 1) if count is None else count
        self.settings, self.poll_seconds = settings, poll_seconds
        methods = multiprocessing.get_all_start_methods()
        self._context: Any = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        self._procs: list[Any] = []
        self._lock = threading.Lock()
        self._closed = False
        self._last_start = 0.0
        self._monitor: threading.Thread | None = None
        self._stopping = threading.Event()

    def ensure(self) -> None:
        """Have `count` live workers: start the missing ones (at most once per `RESTART_INTERVAL_S`
        after the first start, so a worker that dies at once cannot spin)."""
        with self._lock:
            if self._closed:
                return
            alive = [p for p in self._procs if p.is_alive()]
            if len(alive) >= self.count:
                return
            if self._procs and time.monotonic() - self._last_start < RESTART_INTERVAL_S:
                return
            for proc in self._procs:
                if not proc.is_alive():
                    log.warning("scan_worker.died", pid=proc.pid, exitcode=proc.exitcode)
            self._procs = alive
            while len(self._procs) < self.count:
                proc = self._context.Process(
                    target=scan_worker_main,
                    args=(self.settings, self.poll_seconds),
                    name="ftgate-scan-worker",
                    daemon=True,
                )
                proc.start()
                self._procs.append(proc)
            self._last_start = time.monotonic()
            if self._monitor is None:
                self._monitor = threading.Thread(target=self._watch, name="scan-workers", daemon=True)
                self._monitor.start()

    def _watch(self) -> None:
        while not self._stopping.wait(RESTART_INTERVAL_S):
            self.ensure()

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs if p.is_alive()]

    def close(self, timeout: float = 10.0) -> None:
        """SIGTERM each worker (it hands its scan back), then SIGKILL what is left after `timeout`."""
        self._stopping.set()
        with self._lock:
            self._closed = True
            procs, self._procs = self._procs, []
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        deadline = time.monotonic() + timeout
        for proc in procs:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join(1.0)
