"""The public keys a verifier needs, published (`GET /v1/keys`, `ftgate keys export`).

- the log's key: checkpoints are C2SP signed notes, checked with its verifier key in Go's note format
  (`golang.org/x/mod/sumdb/note`), which `ftgate audit verify-bundle --key` also takes;
- the adapter-signing key (P-256), as PEM: `model.sig` beside each adapter and the in-toto DSSE
  envelopes are signed with it (`model_signing verify key --public_key`, securesystemslib, cosign);
- the witnesses' keys: none until witnesses are configured.

Only public halves are read (from the key files, or from the signer process that holds the keys);
nothing here needs a token, and the keys are the same for every caller.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import BaseModel, Field

from audit.adapter_signing import public_pem
from audit.checkpoint import log_origin, verifier_for
from audit.dsse import key_id
from gateway.runtime import Runtime


class LogKey(BaseModel):
    origin: str = Field(description="The log's name: the first line of its checkpoints.")
    verifier_key: str = Field(description="The checkpoint verifier key, in Go's note format.")
    public_key: str = Field(description="The raw Ed25519 public key, base64.")


class AdapterSigningKey(BaseModel):
    pem: str = Field(description="The P-256 public key, PEM (SubjectPublicKeyInfo).")
    keyid: str = Field(description="Hex SHA-256 of its DER: the keyid of ftgate's DSSE signatures.")
    pem_sha256: str = Field(description="Hex SHA-256 of the PEM, as `adapter.signed` entries record it.")


class PublishedKeys(BaseModel):
    log: LogKey
    adapter_signing: AdapterSigningKey | None = Field(
        description="Null until the first adapter is signed (the key is made then)."
    )
    witnesses: list[str] = Field(
        description="Cosignature/v1 verifier keys of the configured witnesses (FTGATE_WITNESSES)."
    )


def published_keys(*, rt: Runtime) -> PublishedKeys:
    log_key = rt.signing_key
    origin = log_origin(log_key)
    verifier = verifier_for(origin, log_key)
    adapter = None
    public = rt.adapter_signer.public_key() if rt.adapter_signer.exists() else None
    if isinstance(public, ec.EllipticCurvePublicKey):
        pem = public_pem(public)
        adapter = AdapterSigningKey(
            pem=pem.decode(), keyid=key_id(public), pem_sha256=hashlib.sha256(pem).hexdigest()
        )
    return PublishedKeys(
        log=LogKey(
            origin=origin,
            verifier_key=verifier.encode(),
            public_key=base64.b64encode(verifier.public_key).decode(),
        ),
        adapter_signing=adapter,
        witnesses=[w.vkey for w in rt.settings.witnesses],
    )
