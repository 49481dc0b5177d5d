"""The `http` decision-log sink: OPA's decision-log upload API, as OPA's own `decision_logs` plugin uses it.

The protocol (https://www.openpolicyagent.org/docs/management-decision-logs, "Decision Log Service API",
and the `decision_logs.reporting` settings of https://www.openpolicyagent.org/docs/configuration):

- `POST <service url>/logs` with `Content-Encoding: gzip` and `Content-Type: application/json`; the body
  is a gzip-compressed JSON array of events. A bearer token, when configured, goes in `Authorization`.
- Each upload's compressed body is at most `upload_size_limit_bytes` (OPA's default, 32768): the events
  waiting are cut into as many chunks as that takes, in order, each POSTed in turn. An event that does
  not fit a chunk on its own is dropped with an error, as OPA drops it.
- Uploads happen every `interval` seconds. A failed one (no answer, or any status but 2xx) is tried
  again after an exponential backoff with jitter (OPA's: from 0.1 s, times 1.6 a try, up to the longer
  of a minute and the interval), its events kept ahead of the newer ones.
- The buffer is bounded (`buffer_size_limit_bytes`, of encoded events): when it is full the oldest
  events are dropped, counted, and the count logged as a warning, as OPA does with
  `buffer_size_limit_bytes`.

`send`, on the request path, only appends to the buffer under a lock the uploader never holds across
the network, so a slow or absent service neither slows nor fails a request. The thread starts with the
first event; `close` (the server's shutdown, the interpreter's exit) makes one last attempt within its
timeout and says how many events it had to give up. OPA accepts only 200; any 2xx is taken here, since
a service that answers 204 has the events, and retrying them would send them twice.
"""

from __future__ import annotations

import atexit
import random
import threading
import time
import zlib
from collections import deque
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import structlog

from gateway.errors import ConfigError
from gateway.policy.decision_sinks import CLOSE_TIMEOUT_S, DecisionSink, encode
from gateway.settings import Settings

log = structlog.get_logger(__name__)

RESOURCE = "/logs"  # OPA's `decision_logs.resource` default
REQUEST_TIMEOUT_S = 10.0  # one upload; the thread waits, never a request
MIN_RETRY_DELAY_S = 0.1  # OPA's minRetryDelay
RETRY_FACTOR = 1.6  # OPA's util.DefaultBackoff
RETRY_JITTER = 0.2
MIN_MAX_RETRY_DELAY_S = 60.0


def gzip_bound(n: int) -> int:
    """The most bytes gzip can make of `n` bytes (zlib's deflateBound, plus gzip's header and trailer):
    a chunk whose bound is under the limit needs no trial compression to know that it fits."""
    return n + (n >> 12) + (n >> 14) + (n >> 25) + 13 + 18


def chunks(events: list[bytes], limit: int) -> tuple[list[tuple[bytes, int]], list[int]]:
    """Cut encoded events, in order, into gzip-compressed JSON arrays of at most `limit` bytes each.

    Returns the chunks as (body, number of events in it) and the indices of the events that did not fit
    a chunk alone. The size of each body is exact: a chunk's compressor is copied to try the next event.
    """
    out: list[tuple[bytes, int]] = []
    too_large: list[int] = []
    compressor: Any = None
    body = b""
    count = 0
    raw = 0  # uncompressed bytes in the chunk so far

    def closed_size(trial: Any, tail: bytes) -> int:
        return len(body) + len(trial.compress(tail)) + len(trial.flush())

    for i, event in enumerate(events):
        if count:
            piece = b"," + event
            if gzip_bound(raw + len(piece) + 1) <= limit or (
                closed_size(compressor.copy(), piece + b"]") <= limit
            ):
                body += compressor.compress(piece)
                raw += len(piece)
                count += 1
                continue
            out.append((body + compressor.compress(b"]") + compressor.flush(), count))
        compressor = zlib.compressobj(wbits=31)  # 31: the gzip format, header and trailer
        body = compressor.compress(b"[" + event)
        raw = 1 + len(event)
        count = 1
        if gzip_bound(raw + 1) > limit and closed_size(compressor.copy(), b"]") > limit:
            too_large.append(i)
            compressor, body, raw, count = None, b"", 0, 0
    if count:
        out.append((body + compressor.compress(b"]") + compressor.flush(), count))
    return out, too_large


def retry_delay(retry: int, *, max_delay: float) -> float:
    """Seconds to wait before try `retry` (1, 2, ...) of a failed upload: OPA's backoff with jitter."""
    delay = min(max_delay, MIN_RETRY_DELAY_S * RETRY_FACTOR ** (retry - 1))
    return delay * (1 + random.uniform(-RETRY_JITTER, RETRY_JITTER))


class OpaUploadSink(DecisionSink):
    """Events uploaded in batches to an OPA decision-log service (see the module doc)."""

    @classmethod
    def name(cls) -> str:
        return "http"

    @classmethod
    def from_settings(cls, settings: Settings) -> OpaUploadSink:
        assert settings.decision_log_url is not None
        return cls(
            settings.decision_log_url,
            token=read_token(settings.decision_log_token_file),
            interval=settings.decision_log_upload_interval,
            upload_size_limit_bytes=settings.decision_log_upload_size_limit_bytes,
            buffer_size_limit_bytes=settings.decision_log_buffer_size_limit_bytes,
        )

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        interval: float = 5.0,
        upload_size_limit_bytes: int = 32768,
        buffer_size_limit_bytes: int = 64 << 20,
        request_timeout: float = REQUEST_TIMEOUT_S,
    ) -> None:
        self.endpoint = url.rstrip("/") + RESOURCE
        self.interval = interval
        self.upload_size_limit_bytes = upload_size_limit_bytes
        self.buffer_size_limit_bytes = buffer_size_limit_bytes
        self._max_retry_delay = max(interval, MIN_MAX_RETRY_DELAY_S)
        headers = {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "User-Agent": f"ftgate/{version('ftgate')}",
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(headers=headers, timeout=request_timeout, follow_redirects=False)
        self._buffer: deque[bytes] = deque()
        self._buffered_bytes = 0
        self._in_flight = 0
        self._dropped = 0
        self._dropped_unreported = 0
        self._lock = threading.Lock()  # the buffer and counters; never held across the network
        self._uploading = threading.Lock()  # one upload at a time, so events keep their order
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- the request path ---------------------------------------------------------------------------

    def send(self, event: dict[str, Any]) -> None:
        data = encode(event)
        with self._lock:
            self._buffer.append(data)
            self._buffered_bytes += len(data)
            first_drop = self._drop_oldest_over_limit()
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="decision-log-upload", daemon=True)
                self._thread.start()
                atexit.register(self.close)
        if first_drop:
            # Once per stretch of drops; the uploader reports how many when it next runs.
            log.warning(
                "decision_log.buffer_full", endpoint=self.endpoint, limit=self.buffer_size_limit_bytes
            )

    @property
    def pending(self) -> int:
        """Events not yet accepted by the service: buffered, or in an upload under way."""
        with self._lock:
            return len(self._buffer) + self._in_flight

    @property
    def dropped(self) -> int:
        """Events given up since the start: the oldest when the buffer was full, and any too large."""
        with self._lock:
            return self._dropped

    # -- the uploader -------------------------------------------------------------------------------

    def upload(self, *, timeout: float | None = None) -> bool:
        """Upload every buffered event now, chunk by chunk; False (the rest kept, oldest first) once one
        fails. `timeout` bounds each request (default: the sink's)."""
        with self._uploading:
            with self._lock:
                events = list(self._buffer)
                self._buffer.clear()
                self._buffered_bytes = 0
                self._in_flight = len(events)
            if not events:
                return True
            bodies, too_large = chunks(events, self.upload_size_limit_bytes)
            if too_large:
                log.error(
                    "decision_log.event_too_large",
                    events=len(too_large),
                    upload_size_limit_bytes=self.upload_size_limit_bytes,
                )
                with self._lock:
                    self._dropped += len(too_large)
                skip = set(too_large)
                events = [e for i, e in enumerate(events) if i not in skip]
                with self._lock:
                    self._in_flight = len(events)
            sent = 0
            for body, count in bodies:
                problem = self._post(body, timeout)
                if problem is not None:
                    self._put_back(events[sent:])
                    log.warning(
                        "decision_log.upload_failed", endpoint=self.endpoint, problem=problem,
                        pending=len(events) - sent,
                    )  # fmt: skip
                    return False
                sent += count
                with self._lock:
                    self._in_flight -= count
            self._report_drops()
            return True

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Stop the uploader and make one last upload within `timeout` seconds; what remains is counted
        in a warning. Safe to call more than once."""
        if self._closed:
            return
        deadline = time.monotonic() + timeout
        self._closed = True
        self._stop.set()
        atexit.unregister(self.close)
        if self._thread is not None:
            self._thread.join(timeout)
        left = deadline - time.monotonic()
        if self.pending and left > 0 and self._uploading.acquire(timeout=left):
            self._uploading.release()
            self.upload(timeout=max(0.1, deadline - time.monotonic()))
        self._report_drops()
        if unsent := self.pending:
            log.warning("decision_log.unsent_at_shutdown", endpoint=self.endpoint, events=unsent)
        self._client.close()

    def _run(self) -> None:
        retry = 0
        while True:
            delay = self.interval if retry == 0 else retry_delay(retry, max_delay=self._max_retry_delay)
            if self._stop.wait(delay):
                return  # `close` makes the last upload, within its timeout
            try:
                ok = self.upload()
            except Exception as exc:  # a bug here must not end the uploader; the events stay
                log.error("decision_log.uploader_error", error=type(exc).__name__)
                ok = False
            retry = 0 if ok else retry + 1

    def _post(self, body: bytes, timeout: float | None) -> str | None:
        """POST one chunk; None when the service took it, else what went wrong (no response text: it
        could echo the events)."""
        try:
            response = self._client.post(
                self.endpoint,
                content=body,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            return type(exc).__name__
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"

    def _put_back(self, events: list[bytes]) -> None:
        """Return events whose upload failed to the front of the buffer, ahead of newer ones."""
        with self._lock:
            self._buffer.extendleft(reversed(events))
            self._buffered_bytes += sum(len(e) for e in events)
            self._in_flight = 0
            first_drop = self._drop_oldest_over_limit()
        if first_drop:
            log.warning(
                "decision_log.buffer_full", endpoint=self.endpoint, limit=self.buffer_size_limit_bytes
            )

    def _drop_oldest_over_limit(self) -> bool:
        """With the lock held: drop the oldest events while the buffer is over its limit; True when this
        starts a stretch of drops not yet reported."""
        before = self._dropped_unreported
        while self._buffered_bytes > self.buffer_size_limit_bytes and self._buffer:
            self._buffered_bytes -= len(self._buffer.popleft())
            self._dropped += 1
            self._dropped_unreported += 1
        return before == 0 and self._dropped_unreported > 0

    def _report_drops(self) -> None:
        with self._lock:
            count, self._dropped_unreported = self._dropped_unreported, 0
            total = self._dropped
        if count:
            log.warning("decision_log.events_dropped", endpoint=self.endpoint, events=count, total=total)


def read_token(path: Path | None) -> str | None:
    """The bearer token in `path` (stripped), or None without one; ConfigError if it cannot be read."""
    if path is None:
        return None
    try:
        token = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(
            f"FTGATE_DECISION_LOG_TOKEN_FILE {path}: cannot read it ({exc.strerror or exc})"
        ) from None
    if not token:
        raise ConfigError(f"FTGATE_DECISION_LOG_TOKEN_FILE {path} is empty")
    return token
