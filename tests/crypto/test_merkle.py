"""RFC 9162 Merkle tree: the Certificate Transparency test roots, proofs for every size and index
up to 40 leaves (checked against the RFC's recursive definition), and tampering caught."""

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from parley.crypto import merkle

# The eight leaves and their tree heads from the certificate-transparency project's
# merkle_tree_test (RFC 6962 test data), used by every CT implementation.
LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def _hashes(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def _mth(hashes: list[bytes]) -> bytes:
    """RFC 9162's recursive MTH, written independently of the module's frontier."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return merkle.node_hash(_mth(hashes[:k]), _mth(hashes[k:]))


def test_ct_test_vectors() -> None:
    hashes = [merkle.leaf_hash(leaf) for leaf in LEAVES]
    for n, expected in enumerate(ROOTS, start=1):
        assert merkle.root_of(hashes[:n]).hex() == expected
    assert merkle.root_of([]) == hashlib.sha256(b"").digest()


def test_inclusion_every_index_up_to_40() -> None:
    hashes = _hashes(40)
    for size in range(1, 41):
        root = _mth(hashes[:size])
        assert merkle.root_of(hashes[:size]) == root
        for index in range(size):
            proof = merkle.inclusion_proof(hashes, index, size)
            assert merkle.verify_inclusion(hashes[index], index, size, proof, root)
            if proof:
                bad = [*proof[:-1], bytes(32)]
                assert not merkle.verify_inclusion(hashes[index], index, size, bad, root)
                assert not merkle.verify_inclusion(hashes[index], index, size, proof[:-1], root)
            other = (index + 1) % size
            if other != index:
                assert not merkle.verify_inclusion(hashes[other], index, size, proof, root)


def test_consistency_every_pair_up_to_33() -> None:
    hashes = _hashes(33)
    for new in range(1, 34):
        new_root = _mth(hashes[:new])
        for old in range(1, new + 1):
            old_root = _mth(hashes[:old])
            proof = merkle.consistency_proof(hashes, old, new)
            assert merkle.verify_consistency(old, new, old_root, new_root, proof)
            if old < new:
                # A rewritten old leaf, or a forged new root, breaks it.
                assert not merkle.verify_consistency(old, new, bytes(32), new_root, proof)
                assert not merkle.verify_consistency(old, new, old_root, bytes(32), proof)


def test_rewritten_history_is_inconsistent() -> None:
    hashes = _hashes(20)
    old_root = merkle.root_of(hashes[:12])
    forged = list(hashes)
    forged[5] = merkle.leaf_hash(b"rewritten")
    proof = merkle.consistency_proof(forged, 12, 20)
    assert not merkle.verify_consistency(12, 20, old_root, merkle.root_of(forged), proof)


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(merkle.ProofError):
        merkle.inclusion_proof(_hashes(3), 3)
    with pytest.raises(merkle.ProofError):
        merkle.consistency_proof(_hashes(3), 4, 3)
    assert not merkle.verify_inclusion(bytes(32), 5, 5, [], bytes(32))
    assert not merkle.verify_consistency(0, 3, merkle.EMPTY_ROOT, bytes(32), [])


@given(st.integers(1, 300), st.data())
def test_frontier_matches_recursive_definition(size: int, data: st.DataObject) -> None:
    hashes = _hashes(size)
    assert merkle.root_of(hashes) == _mth(hashes)
    index = data.draw(st.integers(0, size - 1))
    proof = merkle.inclusion_proof(hashes, index)
    assert merkle.verify_inclusion(hashes[index], index, size, proof, _mth(hashes))
