"""RFC 9162 Merkle tree over the audit log: hashes, proofs, and their verification.

Written here rather than on a library, on purpose. pymerkle 7.0.0 (the maintained Python candidate)
was run against every vector in ``../shared/vectors/rfc6962`` (adapting each RFC path into its proof
objects): 189 of 196 agreed, and the 7 it got wrong include every valid consistency proof (all five
happy paths). Its proofs are its own format (the leaf hash leads the path, plus "rule"/"subset" bits)
and its consistency path is not RFC 9162's (which leaves out the prior root when the prior size is a
power of two). Proofs a witness or a Certificate-Transparency tool can check must be RFC paths, so the
verifiers below follow RFC 9162 sections 2.1.3-2.1.4 and transparency-dev/merkle's ``proof/verify.go``,
and the vectors that reference implementation tests itself with run as tests here
(tests/unit/audit/test_merkle.py: all 196 pass).

Proofs are generated from complete, aligned subtrees (a ``NodeSource``): the log stores each one as it
completes (``audit_tree_nodes``), so an append writes on average two hashes and a root or a proof needs
O(log n) of them, never the whole log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

from audit.errors import AuditVerificationError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data): the leaf prefix keeps a leaf from passing for an inner node."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """The k of RFC 9162: the largest power of two strictly smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class NodeSource(Protocol):
    """Hashes of complete subtrees: ``node(level, i)`` covers leaves [i * 2^level, (i + 1) * 2^level)."""

    def node(self, level: int, index: int) -> bytes: ...


def subtree_hash(source: NodeSource, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a range whose start is aligned as RFC 9162's recursion leaves it."""
    n = end - start
    if n == 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0 and start % n == 0:
        return source.node(n.bit_length() - 1, start // n)
    k = _largest_power_of_two_below(n)
    return node_hash(subtree_hash(source, start, start + k), subtree_hash(source, start + k, end))


def root(source: NodeSource, size: int) -> bytes:
    """The tree head of the first ``size`` leaves: at most log2(size) stored nodes are combined."""
    return subtree_hash(source, 0, size)


def inclusion_proof(source: NodeSource, index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 section 2.1.3.1, leaf-to-root order."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    proof: list[bytes] = []
    start, end, m = 0, size, index
    # Walk down, remembering the sibling at each level; RFC order is bottom-up, so reverse at the end.
    while end - start > 1:
        k = _largest_power_of_two_below(end - start)
        if m < k:
            proof.append(subtree_hash(source, start + k, end))
            end = start + k
        else:
            proof.append(subtree_hash(source, start, start + k))
            start, m = start + k, m - k
    proof.reverse()
    return proof


def consistency_proof(source: NodeSource, size1: int, size2: int) -> list[bytes]:
    """PROOF(size1, D[0:size2]) of RFC 9162 section 2.1.4.1; empty for 0 or equal sizes."""
    if not 0 <= size1 <= size2:
        raise ValueError(f"no consistency proof from size {size1} to size {size2}")
    if size1 in (0, size2):
        return []
    proof: list[bytes] = []
    start, end, m, complete = 0, size2, size1, True
    while m != end - start:
        k = _largest_power_of_two_below(end - start)
        if m <= k:
            proof.append(subtree_hash(source, start + k, end))
            end = start + k
        else:
            proof.append(subtree_hash(source, start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        proof.append(subtree_hash(source, start, end))
    proof.reverse()
    return proof


class MemoryTree:
    """A tree held in memory: every complete subtree, built leaf by leaf in amortised O(1) per leaf."""

    def __init__(self, leaves: Sequence[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [[]]
        for leaf in leaves:
            self.append(leaf)

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def append(self, leaf: bytes) -> None:
        """Add a leaf hash and every subtree it completes."""
        self.levels[0].append(leaf)
        level = 0
        while len(self.levels[level]) % 2 == 0:
            row = self.levels[level]
            if level + 1 == len(self.levels):
                self.levels.append([])
            self.levels[level + 1].append(node_hash(row[-2], row[-1]))
            level += 1

    def node(self, level: int, index: int) -> bytes:
        return self.levels[level][index]

    def root(self, size: int | None = None) -> bytes:
        return root(self, self.size if size is None else size)


# --- verification (transparency-dev/merkle proof/verify.go) -------------------------------------


def _fail(message: str, *, expected: bytes = b"", computed: bytes = b"") -> AuditVerificationError:
    return AuditVerificationError(message, expected=expected.hex(), computed=computed.hex())


def _check_hashes(what: str, hashes: Sequence[bytes]) -> None:
    for h in hashes:
        if len(h) != HASH_SIZE:
            raise _fail(f"{what}: a hash of {len(h)} bytes, expected {HASH_SIZE}")


def _decompose(index: int, size: int) -> tuple[int, int]:
    """Split an inclusion path into the inner part (below the split) and the right border."""
    inner = (index ^ (size - 1)).bit_length()
    border = bin(index >> inner).count("1")
    return inner, border


def _chain_inner(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    for i, h in enumerate(proof):
        seed = node_hash(seed, h) if (index >> i) & 1 == 0 else node_hash(h, seed)
    return seed


def _chain_inner_right(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    for i, h in enumerate(proof):
        if (index >> i) & 1 == 1:
            seed = node_hash(h, seed)
    return seed


def _chain_border_right(seed: bytes, proof: Sequence[bytes]) -> bytes:
    for h in proof:
        seed = node_hash(h, seed)
    return seed


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` leads to from ``leaf`` at ``index``; raises if the shape is wrong."""
    if not 0 <= index < size:
        raise _fail(f"inclusion proof: leaf index {index} is outside a tree of size {size}")
    _check_hashes("inclusion proof", [leaf, *proof])
    inner, border = _decompose(index, size)
    if len(proof) != inner + border:
        raise _fail(f"inclusion proof: {len(proof)} hashes, expected {inner + border}")
    return _chain_border_right(_chain_inner(leaf, proof[:inner], index), proof[inner:])


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root_hash: bytes) -> None:
    """Raise AuditVerificationError unless ``leaf`` is at ``index`` in the tree (``size``, ``root_hash``)."""
    computed = root_from_inclusion_proof(index, size, leaf, proof)
    if computed != root_hash:
        raise _fail("inclusion proof: leads to a different root", expected=root_hash, computed=computed)


def verify_consistency(size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]) -> None:
    """Raise AuditVerificationError unless the tree (size2, root2) extends the tree (size1, root1)."""
    if size1 < 1:
        # Every tree extends the empty one, so such a "proof" proves nothing; refused as in the vectors.
        raise _fail("consistency proof: a proof from the empty tree proves nothing")
    if size2 < size1:
        raise _fail(f"consistency proof: size {size2} does not extend size {size1}")
    if size1 == size2:
        if proof:
            raise _fail("consistency proof: sizes are equal but the proof is not empty")
        if root1 != root2:
            raise _fail("consistency proof: equal sizes with different roots", expected=root1, computed=root2)
        return
    if not proof:
        raise _fail("consistency proof: empty proof for different sizes")
    _check_hashes("consistency proof", [root1, root2, *proof])
    inner, border = _decompose(size1 - 1, size2)
    shift = (size1 & -size1).bit_length() - 1
    inner -= shift
    # A power-of-two prior tree is itself a node of the later one, so RFC 9162 leaves it out of the proof.
    seed, start = (root1, 0) if size1 == 1 << shift else (proof[0], 1)
    if len(proof) != start + inner + border:
        raise _fail(f"consistency proof: {len(proof)} hashes, expected {start + inner + border}")
    rest = proof[start:]
    mask = (size1 - 1) >> shift
    hash1 = _chain_border_right(_chain_inner_right(seed, rest[:inner], mask), rest[inner:])
    if hash1 != root1:
        raise _fail("consistency proof: does not lead to the prior root", expected=root1, computed=hash1)
    hash2 = _chain_border_right(_chain_inner(seed, rest[:inner], mask), rest[inner:])
    if hash2 != root2:
        raise _fail("consistency proof: does not lead to the later root", expected=root2, computed=hash2)
