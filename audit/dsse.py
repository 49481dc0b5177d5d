"""DSSE envelopes (Dead Simple Signing Envelope, v1), signed with the adapter-signing key.

An in-toto statement is only evidence once someone signs it: cosign, slsa-verifier and in-toto's own
tools expect a DSSE envelope, `{"payloadType", "payload" (base64), "signatures": [{"keyid", "sig"}]}`,
whose signature covers the pre-authentication encoding (PAE) of the payload type and the payload:
`"DSSEv1" SP len(type) SP type SP len(body) SP body`. ftgate signs with its P-256 adapter-signing key
(ECDSA over SHA-256, DER signatures; deterministic, RFC 6979, so the same statement gives the same
envelope), the key `model.sig` is signed with; `keyid` is the hex SHA-256 of the public key's DER
SubjectPublicKeyInfo. https://github.com/secure-systems-lab/dsse
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from audit.signer import Signer, SignerError

ENVELOPE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"
INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"


def pae(payload_type: str, body: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what the signature covers."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(body), body)


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def sign_envelope(payload_type: str, body: bytes, signer: Signer) -> dict[str, Any]:
    """An envelope of `body` with one signature by the adapter-signing key (`signer`, wherever it is)."""
    public = signer.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise SignerError("DSSE envelopes are signed with the P-256 adapter-signing key")
    signature = signer.sign(pae(payload_type, body))
    return {
        "payloadType": payload_type,
        "payload": base64.b64encode(body).decode(),
        "signatures": [{"keyid": key_id(public), "sig": base64.b64encode(signature).decode()}],
    }
