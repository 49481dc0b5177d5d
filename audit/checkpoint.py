"""Signed checkpoints in the C2SP formats (c2sp.org/signed-note, c2sp.org/tlog-checkpoint).

A checkpoint is a note whose text is the log's origin line, the decimal tree size and the base64 root
hash; under a blank line come signature lines ``— <key name> <base64(key ID || Ed25519 signature)>``.
The rules follow Go's ``golang.org/x/mod/sumdb/note`` (the verifier the Go checksum database's
witnesses use), so a checkpoint ftgate writes can be checked by those tools, and the verifier here
accepts exactly the real sum.golang.org checkpoints in ``../shared/vectors/signed-note``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.errors import AuditVerificationError
from audit.signer import SignsBytes

ALG_ED25519 = 1
SIG_PREFIX = "\u2014 "  # an em dash and a space, as the spec requires
MAX_NOTE_BYTES = 1_000_000


class NoteError(AuditVerificationError):
    """The note is malformed, or no trusted key signed it."""

    code = "audit_verification_failed"


def key_id(name: str, public_key: bytes, alg: int = ALG_ED25519) -> bytes:
    """The 4-byte key ID: SHA-256(name || 0x0A || alg || public key)[:4] (0x01: a note key)."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()[:4]


def valid_key_name(name: str) -> bool:
    """A key name as signed-note allows one: printable, non-empty, no white space and no '+'."""
    return bool(name) and name.isprintable() and not any(c.isspace() or c == "+" for c in name)


def vkey_parts(vkey: str, *, alg: int, what: str, kind: str) -> tuple[str, bytes, bytes]:
    """(name, key ID, raw Ed25519 public key) of a verifier key ``<name>+<hex key ID>+<base64(alg ||
    key)>`` of type `alg`; NoteError naming `what` ("verifier key", "witness key") otherwise."""
    parts = vkey.strip().split("+", 2)  # base64 may itself contain "+"
    if len(parts) != 3 or not valid_key_name(parts[0]) or len(parts[1]) != 8:
        raise NoteError(f"malformed {what} {vkey!r}")
    try:
        hash_ = bytes.fromhex(parts[1])
        raw = base64.b64decode(parts[2], validate=True)
    except (ValueError, binascii.Error) as exc:
        raise NoteError(f"malformed {what} {vkey!r}") from exc
    if len(raw) != 33 or raw[0] != alg:
        raise NoteError(f"{what} {parts[0]!r} is not {kind} (type 0x{alg:02x})")
    if key_id(parts[0], raw[1:], alg) != hash_:
        raise NoteError(f"{what} {parts[0]!r}: key ID does not match its name and public key")
    return parts[0], hash_, raw[1:]


@dataclass(frozen=True)
class Verifier:
    """A trusted key: name, key ID and the raw Ed25519 public key."""

    name: str
    key_hash: bytes
    public_key: bytes

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        """Read a verifier key ``<name>+<hex key ID>+<base64(0x01 || public key)>``."""
        return cls(*vkey_parts(vkey, alg=ALG_ED25519, what="verifier key", kind="an Ed25519 note key"))

    def encode(self) -> str:
        key64 = base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_hash.hex()}+{key64}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


def verifier_for(name: str, key: SignsBytes) -> Verifier:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return Verifier(name, key_id(name, raw), raw)


def sign_note(text: str, *, name: str, key: SignsBytes) -> str:
    """Append one signature line to a note text (which must end in a newline)."""
    if not text.endswith("\n") or "\n\n" in text:
        raise ValueError("note text must end in one newline and contain no blank line")
    if not valid_key_name(name):
        raise ValueError(f"invalid key name {name!r}")
    signature = key.sign(text.encode())
    blob = base64.b64encode(verifier_for(name, key).key_hash + signature).decode()
    return f"{text}\n{SIG_PREFIX}{name} {blob}\n"


def open_note(note: str, verifiers: list[Verifier]) -> str:
    """Return the note's text once at least one known key's signature verifies; raise otherwise.

    As in Go's ``note.Open``: a signature by an unknown key is ignored, a bad signature by a known
    key is an error, and a note with no verified signature is refused.
    """
    raw = note.encode()
    if len(raw) > MAX_NOTE_BYTES:
        raise NoteError("note is too large")
    if not note.endswith("\n"):
        raise NoteError("malformed note: it must end in a newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("malformed note: no blank line before the signatures")
    text, sigs = note[: split + 1], note[split + 2 :]
    if any((ord(c) < 0x20 and c != "\n") or c == "\x7f" for c in text):
        raise NoteError("malformed note: control characters in the text")
    known = {(v.name, v.key_hash): v for v in verifiers}
    verified = 0
    for line in sigs.splitlines():
        if not line.startswith(SIG_PREFIX):
            raise NoteError("malformed note: a signature line must start with an em dash")
        name, _, blob = line[len(SIG_PREFIX) :].partition(" ")
        if not valid_key_name(name) or not blob or " " in blob:
            raise NoteError("malformed note: bad signature line")
        try:
            sig = base64.b64decode(blob, validate=True)
        except binascii.Error as exc:
            raise NoteError("malformed note: signature is not base64") from exc
        if len(sig) < 5:
            raise NoteError("malformed note: signature too short")
        verifier = known.get((name, sig[:4]))
        if verifier is None:
            continue
        if not verifier.verify(text.encode(), sig[4:]):
            raise NoteError(f"invalid signature by key {name}")
        verified += 1
    if verified == 0:
        raise NoteError("note has no valid signature by a trusted key")
    return text


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: origin, size and root hash (plus any extension lines)."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode(), *self.extensions]
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise NoteError("malformed checkpoint: expected origin, size and root hash lines")
        origin, size_s, root_s, *extensions = lines[:-1]
        if not origin:
            raise NoteError("malformed checkpoint: empty origin")
        if not size_s.isascii() or not size_s.isdigit() or (size_s != "0" and size_s.startswith("0")):
            raise NoteError(f"malformed checkpoint: tree size {size_s!r}")
        try:
            root = base64.b64decode(root_s, validate=True)
        except binascii.Error as exc:
            raise NoteError("malformed checkpoint: root hash is not base64") from exc
        if len(root) != 32 or base64.b64encode(root).decode() != root_s:
            raise NoteError("malformed checkpoint: root hash is not a base64 SHA-256")
        if any(not line for line in extensions):
            raise NoteError("malformed checkpoint: empty extension line")
        return cls(origin, int(size_s), root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, *, key: SignsBytes) -> str:
    """The signed note of a checkpoint; the key name is the origin, as tlog-checkpoint recommends."""
    return sign_note(checkpoint.text(), name=checkpoint.origin, key=key)


def open_checkpoint(note: str, verifiers: list[Verifier], *, origin: str | None = None) -> Checkpoint:
    """Verify a signed checkpoint and parse it; with ``origin``, also require that log."""
    checkpoint = Checkpoint.parse(open_note(note, verifiers))
    if origin is not None and checkpoint.origin != origin:
        raise NoteError(f"checkpoint is for log {checkpoint.origin!r}, not {origin!r}")
    return checkpoint


def log_origin(key: SignsBytes) -> str:
    """This log's origin (and key name): stable for the key, with no spaces or '+' in it."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return f"ftgate.local/audit/{hashlib.sha256(raw).hexdigest()[:16]}"
