"""Where ftgate's two private keys live: behind one small interface, so they need not sit beside the
database.

A `Signer` holds one key and signs bytes with it: the log's Ed25519 key (checkpoints, adapter
manifests) or the P-256 adapter-signing key (DSSE envelopes: model-signing bundles, provenance), ECDSA
over SHA-256 with DER signatures. Two implementations:

- `KeyFileSigner`: a PEM file under the home (the default; `ftgate init` makes the log's, the first
  signed adapter the other);
- `ProcessSigner`: a separate signer process (`ftgate signer serve`, `audit/signer_service.py`) on
  another host or user account, reached over HTTP with a bearer token. The keys stay with it; ftgate
  sends what is to be signed and gets the signature back, and the process signs only what ftgate signs
  (a checkpoint of its log, an adapter manifest, a DSSE envelope) and journals each signature.

`Signer.sign` and `public_key` match `cryptography`'s Ed25519 private key, so the log's code that takes
a key takes a signer unchanged.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit.errors import AuditError

PublicKey = Ed25519PublicKey | ec.EllipticCurvePublicKey
PrivateKey = Ed25519PrivateKey | ec.EllipticCurvePrivateKey
MAX_MESSAGE_BYTES = 4 << 20  # a model-signing statement lists every file's digest: generous, bounded
TIMEOUT_S = 10.0


class SignerError(AuditError):
    """A key could not be used: missing, of the wrong kind, or its signer process did not sign."""

    code = "signer_error"


class SignsBytes(Protocol):
    """What signing code needs of a key: an Ed25519 private key, or any `Signer`."""

    def sign(self, data: bytes, /) -> bytes: ...

    def public_key(self) -> Any: ...


class Signer(ABC):
    """One private key, wherever it is kept."""

    @abstractmethod
    def name(self) -> str:
        """Where the key is: `file` or `process`."""

    @abstractmethod
    def public_key(self) -> PublicKey:
        """The key's public half."""

    @abstractmethod
    def sign(self, data: bytes, /) -> bytes:
        """Ed25519 for an Ed25519 key; ECDSA with SHA-256 (DER) for a P-256 key."""

    def exists(self) -> bool:
        """Whether the key is there yet (the adapter key is made on first use)."""
        return True


def sign_with(key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """What `Signer.sign` does with a key in hand (deterministic ECDSA, RFC 6979: same input, same bytes)."""
    if isinstance(key, Ed25519PrivateKey):
        return key.sign(data)
    return key.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))


def load_private_key(path: Path) -> Ed25519PrivateKey | ec.EllipticCurvePrivateKey:
    """An Ed25519 or P-256 private key from a PEM file; SignerError saying what is wrong otherwise."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise SignerError(f"no key at {path}") from None
    except (OSError, ValueError, TypeError) as exc:
        raise SignerError(f"cannot read the key at {path}: {exc}") from None
    if isinstance(key, Ed25519PrivateKey):
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise SignerError(f"{path} is neither an Ed25519 nor a P-256 private key")


class KeyFileSigner(Signer):
    """A key in a PEM file, read on first use."""

    def __init__(self, path: Path, *, make: Callable[[Path], PrivateKey] | None = None) -> None:
        """`make`: creates the key file when there is none yet (the adapter key, on its first use)."""
        self.path, self._make = path, make
        self._key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey | None = None

    def name(self) -> str:
        return "file"

    def key(self) -> Ed25519PrivateKey | ec.EllipticCurvePrivateKey:
        if self._key is None:
            if self._make is not None and not self.path.exists():
                self._key = self._make(self.path)
            else:
                self._key = load_private_key(self.path)
        return self._key

    def exists(self) -> bool:
        return self._key is not None or self.path.exists()

    def public_key(self) -> PublicKey:
        return self.key().public_key()

    def sign(self, data: bytes, /) -> bytes:
        return sign_with(self.key(), data)


class ProcessSigner(Signer):
    """A key held by a signer process (`ftgate signer serve`): `POST <url>/v1/sign/<key>` with the bytes,
    `GET <url>/v1/keys/<key>` for the public key (PEM), both with the bearer token."""

    def __init__(self, url: str, key: str, token: str) -> None:
        self.url, self.key, self._token = url.rstrip("/"), key, token
        self._public: PublicKey | None = None

    def name(self) -> str:
        return "process"

    def public_key(self) -> PublicKey:
        if self._public is None:
            pem = self._call("GET", f"/v1/keys/{quote(self.key)}", None)["pem"]
            public = serialization.load_pem_public_key(pem.encode())
            if not isinstance(public, Ed25519PublicKey | ec.EllipticCurvePublicKey):
                raise SignerError(f"the signer's {self.key} key is of a kind ftgate does not use")
            self._public = public
        return self._public

    def sign(self, data: bytes, /) -> bytes:
        if len(data) > MAX_MESSAGE_BYTES:
            raise SignerError("the message is larger than a signer process accepts")
        signature = self._call("POST", f"/v1/sign/{quote(self.key)}", data)["signature"]
        return base64.b64decode(signature, validate=True)

    def _call(self, method: str, path: str, body: bytes | None) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url + path,
            data=body,
            method=method,
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/octet-stream"},
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 (scheme checked)
                answer = json.loads(response.read(1 << 20))
        except urllib.error.HTTPError as exc:
            try:
                why = json.loads(exc.read(4096)).get("error", "")
            except ValueError:
                why = ""
            raise SignerError(f"the signer process refused ({exc.code}): {why or exc.reason}") from None
        except (OSError, ValueError) as exc:
            raise SignerError(f"the signer process at {self.url} did not answer: {exc}") from None
        if not isinstance(answer, dict):
            raise SignerError("the signer process answered something that is not a JSON object")
        return answer
