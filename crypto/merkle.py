"""The audit log's Merkle tree, as RFC 9162 (Certificate Transparency 2.0) section 2.1 defines it.

Pure functions over leaf data and hashes; the log's storage and signing live in app/warrant/.

- ``leaf_hash(d) = SHA-256(0x00 || d)``, ``node_hash(l, r) = SHA-256(0x01 || l || r)``; the two
  prefixes keep a leaf from ever being taken for an inner node (second-preimage resistance).
- The tree over n leaves splits at k, the largest power of two smaller than n (RFC 9162 2.1.1);
  the empty tree's hash is SHA-256 of the empty string.
- Inclusion proofs (2.1.3) and consistency proofs (2.1.4) are generated from the leaf hashes
  (``PATH`` and ``SUBPROOF`` of the RFC) and verified with the RFC's iterative algorithms, which
  never rebuild the tree, so a verifier needs only the proof, the sizes and the roots.
- :class:`Frontier` keeps the roots of the perfect subtrees of the tree's binary decomposition, so
  an append costs O(log n) hashes and the root is one right-to-left fold over them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

HASH_LEN = 32
_LEAF = b"\x00"
_NODE = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof, size or index that cannot be right (the message says which)."""


def leaf_hash(data: bytes) -> bytes:
    """The hash of one leaf's data: SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an inner node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(hashes: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes (already leaf-hashed), computed bottom-up in one pass."""
    if not hashes:
        return EMPTY_ROOT
    frontier = Frontier()
    for h in hashes:
        frontier.append(h)
    return frontier.root()


def _subtree(hashes: Sequence[bytes], start: int, end: int) -> bytes:
    """MTH of hashes[start:end] (end > start)."""
    n = end - start
    if n == 1:
        return hashes[start]
    k = _split(n)
    return node_hash(_subtree(hashes, start, start + k), _subtree(hashes, start + k, end))


def inclusion_proof(hashes: Sequence[bytes], index: int, size: int | None = None) -> list[bytes]:
    """PATH(index, D[size]): the audit path of leaf ``index`` in the tree of the first ``size``."""
    size = len(hashes) if size is None else size
    if not 0 <= index < size <= len(hashes):
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:  # walk down; the RFC's recursion lists siblings from the leaf up
        k = _split(end - start)
        if index < start + k:
            path.append(_subtree(hashes, start + k, end))
            end = start + k
        else:
            path.append(_subtree(hashes, start, start + k))
            start += k
    path.reverse()
    return path


def consistency_proof(hashes: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[new_size]) of RFC 9162 2.1.4.1 (empty when the sizes are equal)."""
    if not 0 < old_size <= new_size <= len(hashes):
        raise ProofError(f"no consistency proof from {old_size} to {new_size} leaves")
    if old_size == new_size:
        return []
    return _subproof(hashes, old_size, 0, new_size, True)


def _subproof(hashes: Sequence[bytes], m: int, start: int, end: int, whole: bool) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if whole else [_subtree(hashes, start, end)]
    k = _split(n)
    if m <= k:
        return [*_subproof(hashes, m, start, start + k, whole), _subtree(hashes, start + k, end)]
    return [*_subproof(hashes, m - k, start + k, end, False), _subtree(hashes, start, start + k)]


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 2.1.3.2: does ``proof`` place the leaf hash ``leaf`` at ``index`` under ``root``?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: is the tree (new_size, new_root) an append-only extension of the old?"""
    if old_size == new_size:
        return not proof and old_root == new_root
    if not 0 < old_size < new_size or not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # an exact power of two: the old root is a node of the new
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


@dataclass
class Frontier:
    """The right edge of a growing tree: one perfect-subtree root per set bit of its size.

    ``nodes[i]`` is the root of a perfect subtree; sizes decrease from left to right, so the tree's
    root is ``node_hash(nodes[0], node_hash(nodes[1], ... nodes[-1]))``: RFC 9162's split puts the
    largest power of two on the left at every level.
    """

    size: int = 0
    nodes: list[bytes] = field(default_factory=list)

    def append(self, h: bytes) -> None:
        """Add one leaf hash: merge equal-sized subtrees like a binary counter's carries."""
        self.nodes.append(h)
        carry = self.size
        while carry & 1:
            right = self.nodes.pop()
            self.nodes[-1] = node_hash(self.nodes[-1], right)
            carry >>= 1
        self.size += 1

    def root(self) -> bytes:
        """The tree hash of every leaf appended so far."""
        if not self.nodes:
            return EMPTY_ROOT
        r = self.nodes[-1]
        for left in reversed(self.nodes[:-1]):
            r = node_hash(left, r)
        return r
