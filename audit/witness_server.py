"""A witness as its own process: its key, its state and its HTTP server, all in one directory.

    WDIR/witness.json      its name (and nothing secret)
    WDIR/witness-key.pem   its Ed25519 key, 0600, made once by `init`
    WDIR/witness.db        SQLite: the logs it witnesses and the latest checkpoint it cosigned for each

It never touches a gateway's home or database: the point of a witness is that whoever can rewrite the
log cannot also rewrite what the witness remembers. Each add-checkpoint runs in one SQLite
`BEGIN IMMEDIATE` transaction (the check of the old size and the record of the new checkpoint
together), committed before the answer is sent, so two racing requests cannot roll the state back,
even across processes serving the same directory.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.checkpoint import Checkpoint, Verifier
from audit.errors import AuditError
from audit.signing import generate_key, load_key
from audit.witness import (
    MAX_REQUEST_BYTES,
    Cosigned,
    LogState,
    Witness,
    WitnessAnswer,
    WitnessStore,
    cosigner_for,
)
from ftgate_core.files import create_private, private_dir

CONFIG_FILE = "witness.json"
KEY_FILE = "witness-key.pem"
DB_FILE = "witness.db"
REQUEST_TIMEOUT_SECONDS = 10.0  # a client that sends its body slower than this is cut off
BUSY_TIMEOUT_SECONDS = 5.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS logs (origin TEXT PRIMARY KEY, vkey TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cosigned (
    origin TEXT PRIMARY KEY REFERENCES logs(origin),
    size INTEGER NOT NULL,
    root_hash BLOB NOT NULL,
    note TEXT NOT NULL,
    time INTEGER NOT NULL
);
"""


class WitnessSetupError(AuditError):
    """The witness directory is missing, incomplete, or the request to change it is wrong."""

    code = "witness_setup"


@dataclass(frozen=True)
class WitnessInfo:
    name: str
    verifier_key: str
    directory: Path


def _connect(directory: Path) -> sqlite3.Connection:
    # Autocommit mode: transactions are opened explicitly with BEGIN IMMEDIATE where state changes.
    db = sqlite3.connect(directory / DB_FILE, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")  # a cosigned state must survive a power cut once answered
    return db


def init_witness(*, directory: Path, name: str) -> WitnessInfo:
    """Make a new witness in ``directory``: its key (0600), its name and an empty state."""
    private_dir(directory)
    cosigner_for(name, Ed25519PrivateKey.generate())  # refuses a bad name before anything is written
    if (directory / KEY_FILE).exists():
        raise WitnessSetupError(f"{directory} already holds a witness key; it is never replaced")
    key = generate_key(directory / KEY_FILE)
    create_private(directory / CONFIG_FILE, (json.dumps({"name": name}) + "\n").encode())
    with closing(_connect(directory)) as db:
        db.executescript(SCHEMA)
    return WitnessInfo(name, cosigner_for(name, key).encode(), directory)


def load_witness(directory: Path) -> tuple[str, Ed25519PrivateKey]:
    """The witness's name and key; WitnessSetupError when the directory is not a witness's."""
    try:
        name = json.loads((directory / CONFIG_FILE).read_text())["name"]
        key = load_key(directory / KEY_FILE)
    except (OSError, ValueError, KeyError) as exc:
        raise WitnessSetupError(
            f"{directory} is not a witness directory (run `ftgate witness init`): {exc}"
        ) from exc
    return str(name), key


def witness_info(*, directory: Path) -> WitnessInfo:
    name, key = load_witness(directory)
    return WitnessInfo(name, cosigner_for(name, key).encode(), directory)


def add_log(*, directory: Path, origin: str, vkey: str) -> dict[str, str]:
    """Trust ``vkey`` (a note verifier key, type 0x01) for the log ``origin``."""
    load_witness(directory)
    try:
        verifier = Verifier.parse(vkey)
    except AuditError as exc:
        raise WitnessSetupError(f"log key: {exc}") from exc
    if not origin or origin != origin.strip() or "\n" in origin:
        raise WitnessSetupError(f"invalid log origin {origin!r}")
    with closing(_connect(directory)) as db:
        db.executescript(SCHEMA)
        db.execute("INSERT OR REPLACE INTO logs (origin, vkey) VALUES (?, ?)", (origin, verifier.encode()))
    return {"origin": origin, "vkey": verifier.encode()}


def list_logs(*, directory: Path) -> list[dict[str, object]]:
    """The logs the witness knows, with the size it last cosigned for each."""
    load_witness(directory)
    with closing(_connect(directory)) as db:
        rows = db.execute(
            "SELECT logs.origin, logs.vkey, cosigned.size FROM logs"
            " LEFT JOIN cosigned ON cosigned.origin = logs.origin ORDER BY logs.origin"
        ).fetchall()
    return [{"origin": o, "vkey": v, "size": s or 0} for o, v, s in rows]


class _SqliteLogState(LogState):
    def __init__(self, db: sqlite3.Connection, origin: str) -> None:
        self.db = db
        self.origin = origin

    def latest(self) -> Cosigned | None:
        row = self.db.execute(
            "SELECT size, root_hash FROM cosigned WHERE origin = ?", (self.origin,)
        ).fetchone()
        return None if row is None else Cosigned(int(row[0]), bytes(row[1]))

    def record(self, checkpoint: Checkpoint, note: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO cosigned (origin, size, root_hash, note, time) VALUES (?, ?, ?, ?, ?)",
            (self.origin, checkpoint.size, checkpoint.root_hash, note, int(time.time())),
        )


class SqliteWitnessStore(WitnessStore):
    """The witness's state in WDIR/witness.db."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        with closing(_connect(directory)) as db:
            db.executescript(SCHEMA)

    def log_keys(self, origin: str) -> list[Verifier] | None:
        with closing(_connect(self.directory)) as db:
            row = db.execute("SELECT vkey FROM logs WHERE origin = ?", (origin,)).fetchone()
        return None if row is None else [Verifier.parse(row[0])]

    @contextmanager
    def transaction(self, origin: str) -> Iterator[LogState]:
        with closing(_connect(self.directory)) as db:
            db.execute("BEGIN IMMEDIATE")  # the write lock first: no other request reads a stale size
            try:
                yield _SqliteLogState(db, origin)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")


def make_witness(directory: Path) -> Witness:
    name, key = load_witness(directory)
    return Witness(name=name, key=key, store=SqliteWitnessStore(directory))


def _handler(witness: Witness, prefix: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = REQUEST_TIMEOUT_SECONDS  # socket timeout: a slow or silent client cannot hold a thread
        protocol_version = "HTTP/1.1"  # keep-alive, as the spec asks clients and witnesses to use
        server_version = "ftgate-witness"

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path != f"{prefix}/add-checkpoint":
                self._answer(WitnessAnswer(404, b"not found\n"))
                return
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                self._answer(WitnessAnswer(411, b"Content-Length required\n"), close=True)
                return
            if not 0 <= length <= MAX_REQUEST_BYTES:
                self._answer(WitnessAnswer(413, b"request body too large\n"), close=True)
                return
            body = self.rfile.read(length)
            self._answer(witness.add_checkpoint(body, now=int(time.time())))

        def do_GET(self) -> None:  # noqa: N802
            self._answer(WitnessAnswer(404, b"not found\n"))

        def _answer(self, answer: WitnessAnswer, *, close: bool = False) -> None:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # the request line carries nothing worth a log line; answers are the protocol's

    return Handler


class WitnessServer(ThreadingHTTPServer):
    """One thread a connection, at most MAX_CONNECTIONS at once: a connection beyond is closed unanswered,
    so a flood of idle connections costs the witness a bounded number of threads."""

    daemon_threads = True
    MAX_CONNECTIONS = 64

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._slots = threading.BoundedSemaphore(self.MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def make_server(*, directory: Path, host: str, port: int, prefix: str = "") -> WitnessServer:
    """The HTTP server of the witness in ``directory`` (not yet serving)."""
    witness = make_witness(directory)
    return WitnessServer((host, port), _handler(witness, prefix.rstrip("/")))


def serve_in_thread(server: WitnessServer) -> threading.Thread:
    """Serve in a background thread (tests, and embedding); stop with server.shutdown()."""
    thread = threading.Thread(target=server.serve_forever, name="witness", daemon=True)
    thread.start()
    return thread


__all__ = [
    "DB_FILE",
    "KEY_FILE",
    "SqliteWitnessStore",
    "WitnessInfo",
    "WitnessServer",
    "WitnessSetupError",
    "add_log",
    "init_witness",
    "list_logs",
    "load_witness",
    "make_server",
    "make_witness",
    "serve_in_thread",
    "witness_info",
]
