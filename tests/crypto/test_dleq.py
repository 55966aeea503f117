"""Chaum-Pedersen DLEQ: honest proofs verify; a wrong share, a forged D, another context, another
trustee's key or any flipped bit fails."""

import nacl.bindings as sodium
import nacl.utils
from hypothesis import given, settings
from hypothesis import strategies as st
from parley.crypto import dleq


def _scalar() -> bytes:
    return bytes(sodium.crypto_core_ed25519_scalar_reduce(nacl.utils.random(64)))


def _point() -> bytes:
    return bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(_scalar()))


def test_honest_proof_verifies_and_binds_everything() -> None:
    w, r = _scalar(), _point()
    w_pub = bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(w))
    d = dleq.partial_point(w, r)
    proof = dleq.prove(w, r, d, b"request-1")
    assert dleq.verify(w_pub, r, d, proof, b"request-1")
    assert not dleq.verify(w_pub, r, d, proof, b"request-2")  # replayed into another request
    assert not dleq.verify(_point(), r, d, proof, b"request-1")  # another trustee's W
    assert not dleq.verify(w_pub, _point(), d, proof, b"request-1")  # another envelope
    assert not dleq.verify(w_pub, r, _point(), proof, b"request-1")  # a made-up answer
    assert not dleq.verify(w_pub, r, d, proof[:-1], b"request-1")
    assert not dleq.verify(w_pub, r, bytes(32), proof, b"request-1")  # not a valid point


def test_wrong_share_cannot_prove() -> None:
    """A trustee that answers with another scalar cannot make a proof for its published W."""
    w, other, r = _scalar(), _scalar(), _point()
    w_pub = bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(w))
    d_bad = dleq.partial_point(other, r)
    assert not dleq.verify(w_pub, r, d_bad, dleq.prove(other, r, d_bad, b"x"), b"x")
    assert not dleq.verify(w_pub, r, d_bad, dleq.prove(w, r, d_bad, b"x"), b"x")


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 8 * dleq.PROOF_LEN - 1))
def test_any_flipped_bit_fails(bit: int) -> None:
    w, r = _scalar(), _point()
    w_pub = bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(w))
    d = dleq.partial_point(w, r)
    proof = bytearray(dleq.prove(w, r, d, b"ctx"))
    proof[bit // 8] ^= 1 << (bit % 8)
    assert not dleq.verify(w_pub, r, d, bytes(proof), b"ctx")
