"""C2SP witnessing: cosignatures (c2sp.org/tlog-cosignature) and the witness protocol (c2sp.org/tlog-witness).

A witness keeps, for each log it knows, the latest checkpoint it cosigned. It cosigns a new checkpoint
only when the log's key signed it and a consistency proof shows it extends that latest one, and it
records the new one before it answers: so once a witness has cosigned a tree, no rewrite of the
entries behind it can be cosigned again, and a verifier holding the old cosignature sees the rewrite.

A cosignature/v1 (Ed25519) is a note signature line ``— <witness name> base64(key ID || u64 timestamp
|| signature)``; the key ID is SHA-256(name || 0x0A || 0x04 || public key)[:4] and the signed message is
``cosignature/v1\\ntime <timestamp>\\n`` followed by the checkpoint's note text. Pure: no gateway, no
HTTP; `audit.witness_server` serves `Witness` over HTTP with its state in a SQLite file.
"""

from __future__ import annotations

import base64
import binascii
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit import merkle
from audit.checkpoint import (
    SIG_PREFIX,
    Checkpoint,
    NoteError,
    Verifier,
    key_id,
    open_checkpoint,
    valid_key_name,
    vkey_parts,
)
from audit.errors import AuditVerificationError

ALG_COSIGNATURE_V1 = 0x04
COSIGNATURE_HEADER = "cosignature/v1\n"
MAX_TIMESTAMP = (1 << 63) - 1
MAX_PROOF_HASHES = 63  # the spec's bound on consistency proof lines
MAX_REQUEST_BYTES = 64 * 1024  # a checkpoint, a few signatures and 63 hashes fit many times over
MAX_SIGNATURE_LINES = 64
SIZE_CONTENT_TYPE = "text/x.tlog.size"


def cosignature_key_id(name: str, public_key: bytes) -> bytes:
    """SHA-256(name || 0x0A || 0x04 || public key)[:4]: a cosigner's key ID, distinct from its note key's."""
    return key_id(name, public_key, ALG_COSIGNATURE_V1)


def cosignature_message(text: str, timestamp: int) -> bytes:
    """What a cosignature/v1 signs: the header, the time line, then the checkpoint's note text."""
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{text}".encode()


@dataclass(frozen=True)
class CosignatureVerifier:
    """A witness's public key: its name, key ID and raw Ed25519 key (vkey type 0x04)."""

    name: str
    key_hash: bytes
    public_key: bytes

    @classmethod
    def parse(cls, vkey: str) -> CosignatureVerifier:
        """Read a verifier key ``<name>+<hex key ID>+<base64(0x04 || public key)>``."""
        kind = "an Ed25519 cosignature/v1 key"
        return cls(*vkey_parts(vkey, alg=ALG_COSIGNATURE_V1, what="witness key", kind=kind))

    def encode(self) -> str:
        key64 = base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + self.public_key).decode()
        return f"{self.name}+{self.key_hash.hex()}+{key64}"

    def verify(self, text: str, blob: bytes) -> int:
        """The timestamp of a valid cosignature blob (key ID, time, signature) over ``text``; raise if bad."""
        if len(blob) != 4 + 8 + 64 or blob[:4] != self.key_hash:
            raise NoteError(f"malformed cosignature by witness {self.name}")
        timestamp = int.from_bytes(blob[4:12], "big")
        if timestamp > MAX_TIMESTAMP:
            raise NoteError(f"cosignature by witness {self.name} has an impossible timestamp")
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(
                blob[12:], cosignature_message(text, timestamp)
            )
        except InvalidSignature as exc:
            raise NoteError(f"invalid cosignature by witness {self.name}") from exc
        return timestamp


def cosigner_for(name: str, key: Ed25519PrivateKey) -> CosignatureVerifier:
    """The verifier of the witness key ``key`` under the name ``name``."""
    if not valid_key_name(name):
        raise ValueError(f"invalid witness name {name!r}")
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return CosignatureVerifier(name, cosignature_key_id(name, raw), raw)


def cosign(text: str, *, name: str, key: Ed25519PrivateKey, timestamp: int) -> str:
    """One cosignature/v1 line (ending in a newline) over a checkpoint's note text."""
    if not text.endswith("\n") or "\n\n" in text:
        raise ValueError("note text must end in one newline and contain no blank line")
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise ValueError(f"timestamp {timestamp} out of range")
    verifier = cosigner_for(name, key)
    signature = key.sign(cosignature_message(text, timestamp))
    blob = verifier.key_hash + timestamp.to_bytes(8, "big") + signature
    return f"{SIG_PREFIX}{name} {base64.b64encode(blob).decode()}\n"


def split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """A signed note's text and its signature lines as (key name, decoded blob); raise if malformed."""
    if len(note.encode()) > MAX_REQUEST_BYTES:
        raise NoteError("note is too large")
    if not note.endswith("\n"):
        raise NoteError("malformed note: it must end in a newline")
    split = note.find("\n\n")
    if split < 0:
        raise NoteError("malformed note: no blank line before the signatures")
    text, lines = note[: split + 1], note[split + 2 :].splitlines()
    if not lines or len(lines) > MAX_SIGNATURE_LINES:
        raise NoteError("malformed note: no signature lines, or too many")
    return text, [parse_signature_line(line) for line in lines]


def parse_signature_line(line: str) -> tuple[str, bytes]:
    """``— <name> <base64>`` as (name, decoded bytes)."""
    if not line.startswith(SIG_PREFIX):
        raise NoteError("malformed note: a signature line must start with an em dash")
    name, _, blob = line[len(SIG_PREFIX) :].partition(" ")
    if not valid_key_name(name) or not blob or " " in blob:
        raise NoteError("malformed note: bad signature line")
    try:
        raw = base64.b64decode(blob, validate=True)
    except binascii.Error as exc:
        raise NoteError("malformed note: signature is not base64") from exc
    if len(raw) < 5:
        raise NoteError("malformed note: signature too short")
    return name, raw


def verify_cosignatures(note: str, witnesses: list[CosignatureVerifier]) -> dict[str, int]:
    """{witness name: timestamp} of the valid cosignatures on a note by the given witnesses.

    As for any signed note: a line by an unknown key is ignored, and a bad signature by a known key is
    an error (NoteError), never silently dropped.
    """
    text, lines = split_note(note)
    known = {(w.name, w.key_hash): w for w in witnesses}
    found: dict[str, int] = {}
    for name, blob in lines:
        witness = known.get((name, blob[:4]))
        if witness is not None:
            found[name] = witness.verify(text, blob)
    return found


# --- add-checkpoint requests -----------------------------------------------------------------------


@dataclass(frozen=True)
class AddCheckpoint:
    """An add-checkpoint request: the size the submitter believes the witness holds, a consistency
    proof from that size, and the signed checkpoint note."""

    old_size: int
    proof: tuple[bytes, ...]
    note: str

    def encode(self) -> bytes:
        lines = [f"old {self.old_size}", *(base64.b64encode(h).decode() for h in self.proof)]
        return ("\n".join(lines) + "\n\n" + self.note).encode()


class WitnessRequestError(AuditVerificationError):
    """A request the witness refuses, with the HTTP status the protocol gives it."""

    code = "witness_refused"

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _decimal(text: str) -> int | None:
    if not text.isascii() or not text.isdigit() or (text != "0" and text.startswith("0")) or len(text) > 19:
        return None
    value = int(text)
    return value if value <= MAX_TIMESTAMP else None


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """Parse a request body; WitnessRequestError(400) when malformed or over the limits."""
    if len(body) > MAX_REQUEST_BYTES:
        raise WitnessRequestError(400, f"request body over {MAX_REQUEST_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WitnessRequestError(400, "request body is not UTF-8") from exc
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise WitnessRequestError(400, "no blank line between the proof and the checkpoint")
    first, *proof_lines = head.split("\n")
    if not first.startswith("old ") or (old := _decimal(first[4:])) is None:
        raise WitnessRequestError(400, "the first line must be `old <size>`")
    if len(proof_lines) > MAX_PROOF_HASHES:
        raise WitnessRequestError(400, f"more than {MAX_PROOF_HASHES} consistency proof lines")
    proof = []
    for line in proof_lines:
        try:
            digest = base64.b64decode(line, validate=True)
        except binascii.Error as exc:
            raise WitnessRequestError(400, "a consistency proof line is not base64") from exc
        if len(digest) != 32:
            raise WitnessRequestError(400, "a consistency proof line is not a SHA-256 hash")
        proof.append(digest)
    return AddCheckpoint(old, tuple(proof), note)


def parse_size_response(body: bytes) -> int:
    """The witness's size in a 409 answer (``<size>\\n``)."""
    text = body.decode("ascii", errors="replace")
    size = _decimal(text[:-1]) if text.endswith("\n") else None
    if size is None:
        raise WitnessRequestError(502, "the witness's 409 answer does not carry a tree size")
    return size


# --- the witness ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cosigned:
    """The latest checkpoint a witness cosigned for a log."""

    size: int
    root_hash: bytes


class LogState(ABC):
    """One log's record, read and updated inside one atomic transaction of the witness's store."""

    @abstractmethod
    def latest(self) -> Cosigned | None: ...

    @abstractmethod
    def record(self, checkpoint: Checkpoint, note: str) -> None:
        """Replace the latest cosigned checkpoint; durable once the transaction commits."""


class WitnessStore(ABC):
    """Where a witness keeps the logs it knows and what it cosigned for each."""

    @abstractmethod
    def log_keys(self, origin: str) -> list[Verifier] | None:
        """The keys trusted for a log; None when the origin is unknown."""

    @abstractmethod
    def transaction(self, origin: str) -> AbstractContextManager[LogState]:
        """Exclusive access to one log's state: commits on a clean exit, rolls back on an error.

        Checking the old size and recording the new checkpoint must happen in one such transaction,
        or two racing requests could roll the state back (tlog-witness, add-checkpoint).
        """


@dataclass(frozen=True)
class WitnessAnswer:
    """An HTTP answer: status, content type, body."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


class Witness:
    """The add-checkpoint state machine over a store (c2sp.org/tlog-witness)."""

    def __init__(self, *, name: str, key: Ed25519PrivateKey, store: WitnessStore) -> None:
        self.name = name
        self.key = key
        self.store = store
        self.verifier = cosigner_for(name, key)

    def add_checkpoint(self, body: bytes, *, now: int) -> WitnessAnswer:
        """Check a request and cosign its checkpoint, or say why not (400/403/404/409/422)."""
        try:
            return self._add(body, now)
        except WitnessRequestError as exc:
            return WitnessAnswer(exc.status, (exc.message + "\n").encode())

    def _add(self, body: bytes, now: int) -> WitnessAnswer:
        request = parse_add_checkpoint(body)
        try:
            text, _ = split_note(request.note)
            claimed = Checkpoint.parse(text)
        except NoteError as exc:
            raise WitnessRequestError(400, f"malformed checkpoint: {exc}") from exc
        keys = self.store.log_keys(claimed.origin)
        if keys is None:
            raise WitnessRequestError(404, f"unknown log {claimed.origin!r}")
        try:
            checkpoint = open_checkpoint(request.note, keys, origin=claimed.origin)
        except NoteError as exc:
            raise WitnessRequestError(403, f"no valid signature by the log's key: {exc}") from exc
        if request.old_size > checkpoint.size:
            raise WitnessRequestError(400, "old size is larger than the checkpoint's size")
        if request.old_size == 0 and request.proof:
            raise WitnessRequestError(400, "a consistency proof from size 0 must be empty")
        with self.store.transaction(checkpoint.origin) as state:
            latest = state.latest() or Cosigned(0, b"")
            if request.old_size != latest.size:
                return WitnessAnswer(409, f"{latest.size}\n".encode(), SIZE_CONTENT_TYPE)
            if latest.size == checkpoint.size:
                if latest.size and latest.root_hash != checkpoint.root_hash:
                    raise WitnessRequestError(409, "same size as the cosigned checkpoint, another root hash")
            elif latest.size:
                try:
                    merkle.verify_consistency(
                        latest.size, checkpoint.size, latest.root_hash, checkpoint.root_hash, request.proof
                    )
                except AuditVerificationError as exc:
                    raise WitnessRequestError(
                        422, f"the checkpoint does not extend the one cosigned at size {latest.size}"
                    ) from exc
            state.record(checkpoint, request.note)
        line = cosign(checkpoint.text(), name=self.name, key=self.key, timestamp=now)
        return WitnessAnswer(200, line.encode())


__all__ = [
    "ALG_COSIGNATURE_V1",
    "MAX_PROOF_HASHES",
    "MAX_REQUEST_BYTES",
    "SIZE_CONTENT_TYPE",
    "AddCheckpoint",
    "CosignatureVerifier",
    "Cosigned",
    "LogState",
    "Witness",
    "WitnessAnswer",
    "WitnessRequestError",
    "WitnessStore",
    "cosign",
    "cosignature_key_id",
    "cosignature_message",
    "cosigner_for",
    "parse_add_checkpoint",
    "parse_signature_line",
    "parse_size_response",
    "split_note",
    "verify_cosignatures",
]
