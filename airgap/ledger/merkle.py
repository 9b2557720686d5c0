"""The Merkle tree of RFC 9162 (section 2.1): tree hashes, inclusion and consistency proofs.

Leaves are hashed as SHA-256(0x00 || data) and interior nodes as SHA-256(0x01 || left ||
right); a tree of n leaves splits at the largest power of two smaller than n. Verification
follows the RFC's algorithms (2.1.3.2 and 2.1.4.2) with the edge cases of transparency-dev/merkle.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(Exception):
    """A proof that does not prove what it claims."""


def leaf_hash(data: bytes) -> bytes:
    """The hash of one leaf."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


class CompactRange:
    """The roots of the perfect subtrees covering leaves [0, size): all a growing tree needs
    to append and to give its root, in O(log n) hashes."""

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != bin(size).count("1"):
            raise ValueError("a compact range has one hash per set bit of its size")
        self.size = size
        self.hashes = list(hashes)

    def append(self, leaf: bytes) -> None:
        """Add a leaf hash."""
        self.hashes.append(leaf)
        size = self.size
        while size & 1:
            right = self.hashes.pop()
            self.hashes[-1] = node_hash(self.hashes[-1], right)
            size >>= 1
        self.size += 1

    def root(self) -> bytes:
        """The tree hash of the leaves so far."""
        if not self.hashes:
            return EMPTY_ROOT
        root = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            root = node_hash(left, root)
        return root


def root(leaves: Iterable[bytes]) -> bytes:
    """The tree hash of a sequence of leaf hashes."""
    compact = CompactRange()
    for leaf in leaves:
        compact.append(leaf)
    return compact.root()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class Tree:
    """A tree of fixed leaves that hashes each subtree once, so that a proof for every leaf
    (the audit report's) costs O(n) hashes in all instead of O(n) each."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.leaves = leaves
        self._roots: dict[tuple[int, int], bytes] = {}

    def root(self, lo: int, hi: int) -> bytes:
        """The tree hash of leaves [lo, hi), hi > lo, as RFC 9162 splits them."""
        if hi - lo == 1:
            return self.leaves[lo]
        found = self._roots.get((lo, hi))
        if found is None:
            k = _split(hi - lo)
            found = node_hash(self.root(lo, lo + k), self.root(lo + k, hi))
            self._roots[(lo, hi)] = found
        return found

    def inclusion_proof(self, index: int) -> list[bytes]:
        """PATH(index, D[n]) of RFC 9162 2.1.3.1."""
        if not 0 <= index < len(self.leaves):
            raise ProofError(f"leaf {index} is not in a tree of {len(self.leaves)}")
        proof: list[bytes] = []
        lo, hi = 0, len(self.leaves)
        while hi - lo > 1:
            k = _split(hi - lo)
            if index - lo < k:
                proof.append(self.root(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self.root(lo, lo + k))
                lo += k
        return proof[::-1]


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, D[n]) of RFC 9162 2.1.3.1, from the leaf hashes."""
    return Tree(leaves).inclusion_proof(index)


def consistency_proof(leaves: Sequence[bytes], size1: int) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 2.1.4.1: tree size1 is a prefix of the whole tree."""
    n = len(leaves)
    if not 0 <= size1 <= n:
        raise ProofError(f"no tree of {size1} inside a tree of {n}")
    if size1 in (0, n):
        return []
    proof: list[bytes] = []
    lo, hi, m, complete = 0, n, size1, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            proof.append(root(leaves[lo + k : hi]))
            hi = lo + k
        else:
            proof.append(root(leaves[lo : lo + k]))
            lo += k
            m -= k
            complete = False
    if not complete:
        proof.append(root(leaves[lo:hi]))
    return proof[::-1]


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected: bytes
) -> None:
    """Raise :class:`ProofError` unless ``proof`` shows ``leaf`` at ``index`` under
    ``expected``, the root of a tree of ``size`` leaves."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is beyond a tree of {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("the proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the proof is too short")
    if not hmac.compare_digest(r, expected):
        raise ProofError("the proof leads to another root")


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """Raise :class:`ProofError` unless ``proof`` shows the tree (size1, root1) is a prefix
    of the tree (size2, root2)."""
    if size2 < size1:
        raise ProofError(f"a tree of {size2} cannot extend one of {size1}")
    if size1 == size2:
        if proof:
            raise ProofError("trees of the same size need an empty proof")
        if not hmac.compare_digest(root1, root2):
            raise ProofError("two different trees of the same size")
        return
    if size1 == 0:
        if proof:
            raise ProofError("the empty tree needs an empty proof")
        return
    if not proof:
        raise ProofError("the proof is empty")
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # a power of two: its root is the first node
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the proof is too short")
    if not hmac.compare_digest(fr, root1):
        raise ProofError("the proof does not lead to the first root")
    if not hmac.compare_digest(sr, root2):
        raise ProofError("the proof does not lead to the second root")
