"""A tiny OPA decision-log service for tests: a real HTTP server on a loopback port that takes
`POST /logs` as OPA's decision-log API documents it, keeps what it was sent, and answers with the
statuses a test lines up (200 once they run out), or holds its answer until the test releases it."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Upload:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def events(self) -> list[dict[str, Any]]:
        """The body as OPA sends it: a gzip-compressed JSON array of events."""
        events = json.loads(gzip.decompress(self.body))
        assert isinstance(events, list)
        return events


@dataclass
class LogService:
    url: str
    statuses: list[int] = field(default_factory=list)  # answered in turn, then 200
    uploads: list[Upload] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)  # cleared: hold every answer
    arrived: threading.Event = field(default_factory=threading.Event)  # set by the first request
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.release.set()

    def accepted(self) -> list[dict[str, Any]]:
        """Every event of every upload answered 2xx, in the order received."""
        with self.lock:
            return [e for u in self.uploads if 200 <= u.status < 300 for e in u.events]

    def wait_for(self, uploads: int, timeout: float = 20.0) -> list[Upload]:
        """The uploads received once there are at least `uploads` of them (fails after `timeout`)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if len(self.uploads) >= uploads:
                    return list(self.uploads)
            assert time.monotonic() < deadline, f"{len(self.uploads)} uploads, not {uploads}"
            time.sleep(0.02)


@contextmanager
def log_service() -> Iterator[LogService]:
    """A decision-log service on a free loopback port, stopped afterwards."""
    service: LogService

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            service.arrived.set()
            service.release.wait(30)
            with service.lock:
                status = service.statuses.pop(0) if service.statuses else 200
                service.uploads.append(Upload(self.path, dict(self.headers.items()), body, status))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the test's output is not the place for an access log

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    service = LogService(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        service.release.set()
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    """The URL of a loopback port nothing listens on (bound, then closed)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
