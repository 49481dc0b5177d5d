"""The signer process (`ftgate signer serve`): ftgate's two private keys, kept away from the gateway,
its workers and its database.

It holds the log's Ed25519 key and the P-256 adapter-signing key in its own directory (files readable by
its owner only) and answers, over HTTP with a bearer token:

- `GET /v1/keys/<log|adapter>`: the public key, PEM;
- `POST /v1/sign/<log|adapter>` with the bytes to sign: `{"signature": base64}`.

It signs only what ftgate signs with each key, so a stolen token buys only that (no key material,
nothing of another shape), each signature on the record: with the log key a C2SP checkpoint of its
own log (the origin derived from the key), an adapter manifest (a JSON object) or the signed head
`audit verify` returns; with the adapter key a DSSE pre-authentication encoding of an in-toto
statement. Every signature is journalled (`signatures.jsonl`: time, key, what kind, the SHA-256 and
size of what was signed), so its owner can see what was signed in their name. A stdlib HTTP server:
put TLS in front of it (or pass a certificate) when it is not on loopback.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.checkpoint import Checkpoint, NoteError, log_origin
from audit.dsse import INTOTO_PAYLOAD_TYPE
from audit.signer import MAX_MESSAGE_BYTES, SignerError, load_private_key, sign_with
from ftgate_core.files import create_private, private_dir

KEY_FILES = {"log": "log-signing-key.pem", "adapter": "adapter-signing-key.pem"}
JOURNAL = "signatures.jsonl"
# `audit.signing.head_message`: what `ftgate audit verify` signs, the log's size and head hash.
HEAD = re.compile(r"ftgate audit log\n[0-9]{1,19}\n[0-9a-f]{64}\n")


class Refused(SignerError):
    """The signer will not sign this: unknown key, or not something ftgate signs with it."""


def init_signer(directory: Path) -> dict[str, str]:
    """Make the signer's directory and both keys (refusing to replace existing ones); their public keys."""
    private_dir(directory)
    made: dict[str, str] = {}
    for name, file in KEY_FILES.items():
        path = directory / file
        if path.exists():
            raise Refused(f"{path} exists already: this signer has its keys")
        key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey = (
            Ed25519PrivateKey.generate() if name == "log" else ec.generate_private_key(ec.SECP256R1())
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        create_private(path, pem)
        made[name] = public_pem(key)
    return made


def public_pem(key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


class SignerService:
    """The keys of one signer directory, what each may sign, and the journal."""

    def __init__(self, directory: Path, token: str) -> None:
        if len(token) < 32:
            raise SignerError("the signer's token must be at least 32 characters")
        self.directory, self.token = directory, token
        self.keys = {name: load_private_key(directory / file) for name, file in KEY_FILES.items()}
        log_key = self.keys["log"]
        if not isinstance(log_key, Ed25519PrivateKey):
            raise SignerError("the signer's log key must be an Ed25519 key")
        self.origin = log_origin(log_key)
        self._journal = threading.Lock()

    def public_pem(self, name: str) -> str:
        return public_pem(self._key(name))

    def sign(self, name: str, message: bytes) -> bytes:
        key = self._key(name)
        kind = self._kind(name, message)
        signature = sign_with(key, message)
        entry = {
            "time": datetime.now(UTC).isoformat(),
            "key": name,
            "kind": kind,
            "sha256": hashlib.sha256(message).hexdigest(),
            "bytes": len(message),
        }
        with self._journal:
            fd = os.open(self.directory / JOURNAL, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (json.dumps(entry, sort_keys=True) + "\n").encode())
            finally:
                os.close(fd)
        return signature

    def _key(self, name: str) -> Ed25519PrivateKey | ec.EllipticCurvePrivateKey:
        if name not in self.keys:
            raise Refused(f"no key named {name[:20]!r} (this signer holds {', '.join(self.keys)})")
        return self.keys[name]

    def _kind(self, name: str, message: bytes) -> str:
        """What the message is, if it is something ftgate signs with this key; Refused otherwise."""
        if name == "adapter":
            prefix = b"DSSEv1 %d %s " % (len(INTOTO_PAYLOAD_TYPE), INTOTO_PAYLOAD_TYPE.encode())
            if message.startswith(prefix):
                return "dsse-intoto"
            raise Refused("the adapter key signs only DSSE envelopes of in-toto statements")
        try:
            text = message.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused("the log key signs only checkpoints, signed heads and adapter manifests") from None
        if HEAD.fullmatch(text):
            return "signed-head"
        if text.startswith(self.origin + "\n"):
            try:
                Checkpoint.parse(text)
            except NoteError:
                raise Refused("not a well-formed checkpoint of this log") from None
            return "checkpoint"
        try:
            manifest = json.loads(text)
        except ValueError:
            manifest = None
        if isinstance(manifest, dict) and text.startswith("{"):
            return "adapter-manifest"
        raise Refused("the log key signs only checkpoints of its own log, signed heads and adapter manifests")


def make_server(service: SignerService, host: str, port: int) -> ThreadingHTTPServer:
    """The signer's HTTP server (not yet serving: call `serve_forever`)."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "ftgate-signer"

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path == "/healthz":
                self._reply(200, {"status": "ok"})
                return
            if not self._authorised():
                return
            name = self.path.removeprefix("/v1/keys/")
            if name == self.path:
                self._reply(404, {"error": "not found"})
                return
            try:
                self._reply(200, {"pem": service.public_pem(name)})
            except Refused as exc:
                self._reply(404, {"error": exc.message})

        def do_POST(self) -> None:  # noqa: N802
            if not self._authorised():
                return
            name = self.path.removeprefix("/v1/sign/")
            if name == self.path:
                self._reply(404, {"error": "not found"})
                return
            try:
                length = int(self.headers.get("Content-Length", "-1"))
            except ValueError:
                length = -1
            if not 0 < length <= MAX_MESSAGE_BYTES:
                self._reply(413, {"error": f"send 1 to {MAX_MESSAGE_BYTES} bytes with a Content-Length"})
                return
            message = self.rfile.read(length)
            try:
                signature = service.sign(name, message)
            except Refused as exc:
                self._reply(403, {"error": exc.message})
                return
            self._reply(200, {"signature": base64.b64encode(signature).decode()})

        def _authorised(self) -> bool:
            given = self.headers.get("Authorization", "")
            if hmac.compare_digest(given.encode(), f"Bearer {service.token}".encode()):
                return True
            self._reply(401, {"error": "a valid bearer token is needed"})
            return False

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
            pass  # the journal says what was signed; requests themselves are not logged

    return ThreadingHTTPServer((host, port), Handler)
