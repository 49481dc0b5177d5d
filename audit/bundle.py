"""Self-contained proof bundles: chosen log entries, their inclusion proofs and a signed checkpoint.

An auditor checks a bundle with no database and no trust in ftgate's servers: each entry's hash is
recomputed from its fields, its leaf is proved into the tree by an RFC 9162 inclusion proof, and the
tree's root is the one the log's key signed in a C2SP checkpoint. Each entry carries its exact bytes
(`leaf`, base64) and its leaf format: for format 2 they are the RFC 8785 (JCS) bytes of its fields
but `entry_hash`, `inclusion_proof` and `leaf`, so any JCS implementation re-derives them
(audit/README.md).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from audit import merkle
from audit.canonical import as_doubles, sha256_hex
from audit.checkpoint import Checkpoint, Verifier, log_origin, open_checkpoint, sign_checkpoint, verifier_for
from audit.errors import AuditVerificationError
from audit.log import LEAF_FORMATS, entry_body, stored_bytes
from audit.models import AuditEntry
from audit.signer import SignsBytes
from audit.verify import verify_log

# v2: each entry with its leaf format and exact bytes; v1 bundles (leaf format 1, no bytes) still verify.
BUNDLE_FORMAT = "ftgate.proof-bundle/v2"
BUNDLE_FORMATS = ("ftgate.proof-bundle/v1", BUNDLE_FORMAT)
_ENTRY_FIELDS = ("seq", "time", "actor", "action", "subject", "payload", "prev_hash", "entry_hash", "format")


def signed_checkpoint(session: Session, key: SignsBytes) -> tuple[str, Checkpoint]:
    """Verify the whole log, then sign a checkpoint of its current tree."""
    head = verify_log(session)
    checkpoint = Checkpoint(log_origin(key), head.size, bytes.fromhex(head.root_hash))
    return sign_checkpoint(checkpoint, key=key), checkpoint


def build_bundle(session: Session, *, key: SignsBytes, seqs: Sequence[int], subject: str) -> dict[str, Any]:
    """A bundle proving the entries ``seqs`` are in the log the key signed a checkpoint of."""
    from audit.log import StoredTree

    note, checkpoint = signed_checkpoint(session, key)
    wanted = sorted(set(seqs))
    rows = {e.seq: e for e in session.exec(select(AuditEntry).where(col(AuditEntry.seq).in_(wanted)))}
    tree = StoredTree(session)
    entries = []
    for seq in wanted:
        row = rows.get(seq)
        if row is None or seq > checkpoint.size:
            raise AuditVerificationError(f"entry {seq} is not in the log", seq=seq)
        proof = merkle.inclusion_proof(tree, seq - 1, checkpoint.size)
        fields = {name: getattr(row, name) for name in _ENTRY_FIELDS}
        fields["payload"] = json.loads(row.payload)
        entries.append(
            {
                **fields,
                "leaf": base64.b64encode(stored_bytes(row)).decode(),
                "inclusion_proof": [base64.b64encode(h).decode() for h in proof],
            }
        )
    verifier = verifier_for(checkpoint.origin, key)
    return {
        "format": BUNDLE_FORMAT,
        "subject": subject,
        "origin": checkpoint.origin,
        "tree_size": checkpoint.size,
        "root_hash": base64.b64encode(checkpoint.root_hash).decode(),
        "checkpoint": note,
        "verifier_key": verifier.encode(),
        "public_key": base64.b64encode(verifier.public_key).decode(),
        "entries": entries,
    }


def _field(obj: dict[str, Any], name: str, kind: type) -> Any:
    value = obj.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise AuditVerificationError(f"bundle: field {name!r} is missing or not a {kind.__name__}")
    return value


def verify_bundle(
    bundle: Any, *, trusted_key: str | None = None, trust_embedded_key: bool = False
) -> dict[str, Any]:
    """Check a bundle offline; raise AuditVerificationError naming the first entry that fails.

    ``trusted_key`` (a verifier key, as ``ftgate audit checkpoint`` prints) pins the log's key. Without
    it the bundle's own key is used, which proves that the bundle is consistent, not whose log it is:
    anyone can sign a forged bundle with a key of their own. So the answer is then ``untrusted``,
    unless ``trust_embedded_key`` says that the caller accepts the bundle's key as it is.
    """
    if not isinstance(bundle, dict) or bundle.get("format") not in BUNDLE_FORMATS:
        raise AuditVerificationError(f"not a proof bundle (expected format {BUNDLE_FORMAT})")
    carries_leaves = bundle["format"] != BUNDLE_FORMATS[0]
    verifier = Verifier.parse(trusted_key or _field(bundle, "verifier_key", str))
    if trusted_key and Verifier.parse(_field(bundle, "verifier_key", str)) != verifier:
        raise AuditVerificationError("bundle is signed by a different key than the trusted one")
    if _field(bundle, "public_key", str) != base64.b64encode(verifier.public_key).decode():
        raise AuditVerificationError("bundle's public key does not match its verifier key")
    checkpoint = open_checkpoint(_field(bundle, "checkpoint", str), [verifier], origin=verifier.name)
    if bundle.get("tree_size") != checkpoint.size:
        raise AuditVerificationError("bundle's tree size differs from its signed checkpoint")
    entries = _field(bundle, "entries", list)
    if not entries:
        raise AuditVerificationError("bundle proves no entries")
    for item in entries:
        if not isinstance(item, dict):
            raise AuditVerificationError("bundle: an entry is not an object")
        seq = _field(item, "seq", int)
        try:
            leaf_format = _field(item, "format", int) if carries_leaves else 1
            if leaf_format not in LEAF_FORMATS:
                raise AuditVerificationError(f"unknown leaf format {leaf_format!r}")
            body = entry_body(
                seq=seq,
                time=_field(item, "time", str),
                actor=_field(item, "actor", str),
                action=_field(item, "action", str),
                subject=_field(item, "subject", str),
                payload=as_doubles(_field(item, "payload", dict)),
                prev_hash=_field(item, "prev_hash", str),
                format=leaf_format,
            )
            if sha256_hex(body) != item.get("entry_hash"):
                raise AuditVerificationError(
                    "hash does not match its contents",
                    expected=str(item.get("entry_hash")),
                    computed=sha256_hex(body),
                )
            if carries_leaves and base64.b64decode(_field(item, "leaf", str), validate=True) != body:
                raise AuditVerificationError("its leaf bytes are not the canonical bytes of its fields")
            proof = [base64.b64decode(h, validate=True) for h in _field(item, "inclusion_proof", list)]
            merkle.verify_inclusion(
                seq - 1, checkpoint.size, merkle.leaf_hash(body), proof, checkpoint.root_hash
            )
        except (AuditVerificationError, ValueError, TypeError) as exc:
            message = exc.message if isinstance(exc, AuditVerificationError) else str(exc)
            raise AuditVerificationError(f"entry {seq}: {message}", seq=seq) from exc
    pinned = trusted_key is not None
    result = {
        "status": "verified" if pinned or trust_embedded_key else "untrusted",
        "key": "pinned" if pinned else "embedded",
        "subject": bundle.get("subject"),
        "origin": checkpoint.origin,
        "tree_size": checkpoint.size,
        "entries": len(entries),
        "verifier_key": verifier.encode(),
    }
    if not pinned and not trust_embedded_key:
        result["reason"] = (
            "the bundle is consistent with the key it carries, but nothing says that key is the log's: "
            "anyone can sign a bundle with a key of their own. Give the log's verifier key (from the "
            "operator's published keys or a checkpoint you saved) to check whose log it is, or accept "
            "the bundle's own key explicitly"
        )
    return result
