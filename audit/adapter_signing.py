"""Sign and verify an adapter directory with the OpenSSF `model-signing` library, offline.

model-signing hashes every file of the directory into a manifest and signs it as a Sigstore bundle
(a DSSE envelope over an in-toto statement). ftgate signs with an elliptic-curve key it holds under
its home or in a signer process (audit/signer.py), never with Sigstore's public services: no network,
no transparency service. The library supports only NIST curves, so this key is a P-256 key separate
from the log's Ed25519 key.

The bundle is kept in the audit log (entry `adapter.signed`), so a verifier trusts the signature as
much as it trusts the log, and a changed or deleted bundle file cannot hide a changed adapter. It is
also written beside the files as `model.sig` (left out of what is signed, and named so in the signed
manifest), and downloads carry it, so `model_signing verify key --signature model.sig --public_key
key.pem <dir>` checks an adapter folder as it stands, with the public key `ftgate keys export` prints.
"""

from __future__ import annotations

import base64
import hashlib
import json
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from model_signing import hashing, signing, verifying
from model_signing._signing import sign_ec_key

from audit.canonical import canonical_json
from audit.errors import AuditError
from audit.signer import Signer, load_private_key
from ftgate_core.files import create_private

# The signature's file in an adapter directory; never part of what it signs.
SIGNATURE_FILE = "model.sig"


class AdapterSignatureError(AuditError):
    """An adapter's files do not match its signature, or the signature cannot be checked."""

    code = "integrity_error"


def ensure_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """Load the adapter signing key, creating it (owner-readable only) on first use."""
    try:
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        create_private(path, pem)
        return key
    except FileExistsError:
        # Another worker created it first: use theirs, so all adapters verify with one key.
        theirs = load_private_key(path)
        if not isinstance(theirs, ec.EllipticCurvePrivateKey):
            raise AdapterSignatureError(f"{path} is not an elliptic-curve private key") from None
        return theirs


def public_pem(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def sign_directory(model_dir: Path, signer: Signer) -> dict[str, Any]:
    """Sign every file under model_dir with the adapter-signing key (`signer`, in a file or a signer
    process); return what the log records (bundle, key and bundle hashes)."""
    public = signer.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise AdapterSignatureError("adapters are signed with a P-256 key")
    with tempfile.TemporaryDirectory(prefix="ftgate-sign-") as tmp:
        bundle_path = Path(tmp) / SIGNATURE_FILE
        config = signing.Config().set_hashing_config(
            hashing.Config().set_ignored_paths(paths=[model_dir / SIGNATURE_FILE])
        )
        # model-signing's own elliptic-key signer, handed the key through the two calls it makes of it
        # (`sign` and `public_key`) instead of a PEM path, so the key may live in a signer process.
        # model-signing has no public hook for that; the version is pinned and tests sign and verify.
        ec_signer = sign_ec_key.Signer.__new__(sign_ec_key.Signer)
        ec_signer._private_key = _HeldKey(signer, public)  # type: ignore[assignment] # it quacks alike
        config._signer = ec_signer
        config.sign(model_dir, bundle_path)
        bundle = json.loads(bundle_path.read_text())
    (model_dir / SIGNATURE_FILE).write_bytes(signature_file(bundle))
    pem = public_pem(public)
    return {
        "library": f"model-signing {version('model-signing')}",
        "bundle": bundle,
        "bundle_sha256": hashlib.sha256(canonical_json(bundle)).hexdigest(),
        "public_key_sha256": hashlib.sha256(pem).hexdigest(),
    }


class _HeldKey:
    """An EC private key as model-signing's signer uses one, signing through a `Signer`."""

    def __init__(self, signer: Signer, public: ec.EllipticCurvePublicKey) -> None:
        self._signer, self._public = signer, public

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    def sign(self, data: bytes, algorithm: ec.EllipticCurveSignatureAlgorithm) -> bytes:
        if not isinstance(algorithm, ec.ECDSA) or not isinstance(algorithm.algorithm, hashes.SHA256):
            raise AdapterSignatureError("the adapter-signing key signs ECDSA over SHA-256 only")
        return self._signer.sign(data)


def verify_directory(model_dir: Path, signed: dict[str, Any], public_key: ec.EllipticCurvePublicKey) -> None:
    """Check model_dir against a logged signature with the adapter-signing public key; raise naming what
    differs."""
    pem = public_pem(public_key)
    if hashlib.sha256(pem).hexdigest() != signed["public_key_sha256"]:
        raise AdapterSignatureError(
            "the adapter was signed with a different key than the one ftgate holds: expected "
            f"{signed['public_key_sha256']}, holding {hashlib.sha256(pem).hexdigest()}"
        )
    if hashlib.sha256(canonical_json(signed["bundle"])).hexdigest() != signed["bundle_sha256"]:
        raise AdapterSignatureError("the logged signature bundle does not match its logged hash")
    if not model_dir.is_dir():
        raise AdapterSignatureError(f"adapter directory {model_dir} is missing")
    with tempfile.TemporaryDirectory(prefix="ftgate-verify-") as tmp:
        # The logged bundle, not the directory's model.sig: the log is what is trusted.
        bundle_path, key_file = Path(tmp) / SIGNATURE_FILE, Path(tmp) / "key.pub"
        bundle_path.write_text(json.dumps(signed["bundle"]))
        key_file.write_bytes(pem)
        try:
            verifying.Config().use_elliptic_key_verifier(public_key=key_file).verify(model_dir, bundle_path)
        except InvalidSignature as exc:
            raise AdapterSignatureError(
                "adapter files do not match their signature: the signature does not verify with the held key"
            ) from exc
        except ValueError as exc:
            if "Signature mismatch" in str(exc):
                # The signature itself verified; say which files differ in hex, not as bytes reprs.
                reason = "; ".join(_differences(model_dir, signed["bundle"]))
            else:
                reason = str(exc)
            raise AdapterSignatureError(f"adapter files do not match their signature: {reason}") from exc


def signature_file(bundle: dict[str, Any]) -> bytes:
    """The bytes of `model.sig` for a logged bundle (as model-signing reads it)."""
    return json.dumps(bundle).encode()


def signed_files(bundle: dict[str, Any]) -> dict[str, str]:
    """File -> sha256 as signed (read from the bundle's in-toto payload)."""
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    return {r["name"]: r["digest"] for r in statement["predicate"]["resources"]}


def _differences(model_dir: Path, bundle: dict[str, Any]) -> list[str]:
    expected = signed_files(bundle)
    actual = {
        p.relative_to(model_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(model_dir.rglob("*"))
        if p.is_file() and p != model_dir / SIGNATURE_FILE
    }
    out = [
        f"{name} changed: signed {expected[name]}, found {actual[name]}"
        for name in sorted(expected.keys() & actual.keys())
        if expected[name] != actual[name]
    ]
    out += [f"{name} is missing" for name in sorted(expected.keys() - actual.keys())]
    out += [f"{name} was added" for name in sorted(actual.keys() - expected.keys())]
    return out or ["the directory differs from the signed manifest"]
