"""Chaum-Pedersen proof of discrete-log equality on edwards25519: log_B(W) == log_R(D).

A trustee holding the share scalar w (published as W = w*B) answers an opening request with the
partial point D = w*R, where R is the envelope's ephemeral point. The proof shows it used the
share behind its published W, without revealing w, so the agency can check every answer before
combining them and name a trustee whose answer is wrong.

Construction (Chaum and Pedersen 1992, made non-interactive by Fiat-Shamir):

- prover: t = reduce(BLAKE2b-512("parley-dleq-nonce-v1" || w || context || fresh randomness));
  A = t*B, A' = t*R; c = challenge(W, R, D, A, A', context); s = t + c*w (mod L).
- proof = c || s (64 bytes); verifier: A = s*B - c*W, A' = s*R - c*D, accept iff the challenge
  recomputes to c.
- challenge = reduce(BLAKE2b-512 over "parley-dleq-v1" and each input length-prefixed). The
  context binds the proof to one opening request (the caller passes the request id and the
  record), so an answer cannot be replayed into another request.

The nonce mixes the secret, the context and fresh randomness (as RFC 8032 and "hedged" signatures
do), so neither a bad random source nor a repeated context leaks w. Points are checked with
libsodium's ``crypto_core_ed25519_is_valid_point`` (on the curve, in the main subgroup, not of
small order) before any use.
"""

from __future__ import annotations

import hashlib
import struct

import nacl.bindings as sodium
import nacl.exceptions
import nacl.utils
from parley.crypto.errors import InvalidKey, MalformedData
from parley.crypto.keys import Rng

PROOF_LEN = 64
_SCALAR = 32
_CHALLENGE_DOMAIN = b"parley-dleq-v1"
_NONCE_DOMAIN = b"parley-dleq-nonce-v1"
_B = sodium.crypto_scalarmult_ed25519_base_noclamp


def _hash_to_scalar(*parts: bytes) -> bytes:
    h = hashlib.blake2b(digest_size=64)
    for part in parts:
        h.update(struct.pack(">I", len(part)))
        h.update(part)
    return bytes(sodium.crypto_core_ed25519_scalar_reduce(h.digest()))


def _check_point(point: bytes, what: str) -> None:
    if len(point) != 32 or not sodium.crypto_core_ed25519_is_valid_point(point):
        raise InvalidKey(f"The {what} is not a valid edwards25519 point.")


def _challenge(points: tuple[bytes, bytes, bytes, bytes, bytes], context: bytes) -> bytes:
    """c over (W, R, D, A, A') and the context."""
    return _hash_to_scalar(_CHALLENGE_DOMAIN, *points, context)


def partial_point(share: bytes, r: bytes) -> bytes:
    """D = share * R (the trustee's partial decryption of one envelope).

    Raises:
        InvalidKey: R is not a valid point, or the share is zero.
    """
    _check_point(r, "envelope's ephemeral point")
    try:
        return bytes(sodium.crypto_scalarmult_ed25519_noclamp(share, r))
    except nacl.exceptions.CryptoError as exc:
        raise InvalidKey("The share is not usable for this point.") from exc


def prove(
    share: bytes, r: bytes, d: bytes, context: bytes, *, rng: Rng = nacl.utils.random
) -> bytes:
    """A 64-byte proof that ``d`` = share * ``r`` for the share behind W = share * B.

    Args:
        share: the trustee's 32-byte secret scalar (reduced mod L).
        r: the envelope's ephemeral point R.
        d: the partial point the trustee answers with.
        context: what the proof is bound to (request id, record digest).
        rng: fresh randomness for the nonce (mixed with the secret; see the module docstring).
    """
    _check_point(r, "envelope's ephemeral point")
    w_pub = bytes(_B(share))
    t = _hash_to_scalar(_NONCE_DOMAIN, share, r, context, rng(32))
    a1 = bytes(_B(t))
    a2 = bytes(sodium.crypto_scalarmult_ed25519_noclamp(t, r))
    c = _challenge((w_pub, r, d, a1, a2), context)
    cw = sodium.crypto_core_ed25519_scalar_mul(c, share)
    s = bytes(sodium.crypto_core_ed25519_scalar_add(t, cw))
    return c + s


def verify(w_pub: bytes, r: bytes, d: bytes, proof: bytes, context: bytes) -> bool:
    """Whether ``proof`` shows log_B(w_pub) == log_r(d) for this context. Never raises."""
    if len(proof) != PROOF_LEN:
        return False
    for point in (w_pub, r, d):
        if len(point) != 32 or not sodium.crypto_core_ed25519_is_valid_point(point):
            return False
    c, s = proof[:_SCALAR], proof[_SCALAR:]
    if bytes(sodium.crypto_core_ed25519_scalar_reduce(s + bytes(32))) != s:
        return False  # a non-canonical s would let one proof take several byte forms
    try:
        a1 = bytes(
            sodium.crypto_core_ed25519_sub(
                _B(s), sodium.crypto_scalarmult_ed25519_noclamp(c, w_pub)
            )
        )
        a2 = bytes(
            sodium.crypto_core_ed25519_sub(
                sodium.crypto_scalarmult_ed25519_noclamp(s, r),
                sodium.crypto_scalarmult_ed25519_noclamp(c, d),
            )
        )
    except nacl.exceptions.CryptoError:  # a zero scalar or an identity result: not a proof
        return False
    return bool(sodium.sodium_memcmp(_challenge((w_pub, r, d, a1, a2), context), c))


def parse_proof(data: bytes) -> bytes:
    """Check a proof's length (the content is checked by :func:`verify`)."""
    if len(data) != PROOF_LEN:
        raise MalformedData(f"A DLEQ proof is {PROOF_LEN} bytes, not {len(data)}.")
    return data
