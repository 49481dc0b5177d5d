"""RFC 9162 proofs: the transparency-dev vectors, and proofs this tree generates round-trip."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from audit import merkle
from audit.errors import AuditVerificationError

REPO_ROOT = Path(__file__).resolve().parents[3]
# transparency-dev/merkle's test data (tests/data/vectors/rfc6962/README.md, Apache-2.0).
VECTORS = REPO_ROOT / "tests" / "data" / "vectors" / "rfc6962"


def _vectors(kind: str) -> list[Any]:
    files = sorted((VECTORS / kind).rglob("*.json"))
    assert files, f"no vectors at {VECTORS / kind}"  # they are in the repository: never skip silently
    return [pytest.param(f, id=str(f.relative_to(VECTORS))) for f in files]


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


def _accepts(check: Any) -> bool:
    try:
        check()
    except AuditVerificationError:
        return False
    return True


@pytest.mark.parametrize("path", _vectors("inclusion"))
def test_inclusion_vector(path: Path) -> None:
    v = json.loads(path.read_text())
    proof = [_b64(p) for p in v["proof"] or []]
    accepted = _accepts(
        lambda: merkle.verify_inclusion(
            v["leafIdx"], v["treeSize"], _b64(v["leafHash"]), proof, _b64(v["root"])
        )
    )
    assert accepted is not v["wantErr"], v["desc"]


@pytest.mark.parametrize("path", _vectors("consistency"))
def test_consistency_vector(path: Path) -> None:
    v = json.loads(path.read_text())
    proof = [_b64(p) for p in v["proof"] or []]
    accepted = _accepts(
        lambda: merkle.verify_consistency(v["size1"], v["size2"], _b64(v["root1"]), _b64(v["root2"]), proof)
    )
    assert accepted is not v["wantErr"], v["desc"]


def _reference_root(leaves: list[bytes]) -> bytes:
    """MTH straight from RFC 9162's recursive definition, to check the incremental tree against."""
    if not leaves:
        return merkle.EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return merkle.node_hash(_reference_root(leaves[:k]), _reference_root(leaves[k:]))


def test_generated_proofs_verify_for_every_size_up_to_40() -> None:
    leaves = [merkle.leaf_hash(str(i).encode()) for i in range(40)]
    tree = merkle.MemoryTree(leaves)
    for size in range(0, 41):
        assert tree.root(size) == _reference_root(leaves[:size])
        for index in range(size):
            merkle.verify_inclusion(
                index, size, leaves[index], merkle.inclusion_proof(tree, index, size), tree.root(size)
            )
        for size1 in range(1, size + 1):
            proof = merkle.consistency_proof(tree, size1, size)
            merkle.verify_consistency(size1, size, tree.root(size1), tree.root(size), proof)


def test_known_root_of_rfc_leaves() -> None:
    """The 8-leaf tree of the transparency-dev reference (leaves "", 0x00, 0x10, ...)."""
    data = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ]
    tree = merkle.MemoryTree([merkle.leaf_hash(d) for d in data])
    assert tree.root().hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


@pytest.mark.parametrize(
    "size1, size2, tamper",
    [(3, 7, "root1"), (4, 8, "root2"), (5, 9, "proof"), (6, 6, "root2")],
)
def test_altered_consistency_is_refused(size1: int, size2: int, tamper: str) -> None:
    tree = merkle.MemoryTree([merkle.leaf_hash(bytes([i])) for i in range(size2)])
    r1, r2 = tree.root(size1), tree.root(size2)
    proof = merkle.consistency_proof(tree, size1, size2)
    other = merkle.leaf_hash(b"forged")
    if tamper == "root1":
        r1 = other
    elif tamper == "root2":
        r2 = other
    else:
        proof[0] = other
    with pytest.raises(AuditVerificationError):
        merkle.verify_consistency(size1, size2, r1, r2, proof)
