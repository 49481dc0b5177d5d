"""The log's Ed25519 key: created once by `ftgate init`, used to sign log heads and adapter manifests."""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit.errors import AuditVerificationError
from audit.signer import SignsBytes
from ftgate_core.files import create_private


def generate_key(path: Path) -> Ed25519PrivateKey:
    """Create a new key file readable by its owner only; refuses to overwrite an existing key."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    create_private(path, pem)
    return key


def load_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def public_key_b64(key: SignsBytes) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def sign(key: SignsBytes, message: bytes) -> str:
    return base64.b64encode(key.sign(message)).decode()


def verify_signature(public_key_b64_: str, message: bytes, signature_b64: str) -> None:
    """Raise AuditVerificationError unless the signature is valid for the message."""
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64_))
    try:
        public.verify(base64.b64decode(signature_b64), message)
    except InvalidSignature as exc:
        raise AuditVerificationError("signature does not verify", expected="valid signature") from exc


def head_message(size: int, head_hash: str) -> bytes:
    """What a signed log head commits to."""
    return f"ftgate audit log\n{size}\n{head_hash}\n".encode()
