"""Shamir secret sharing over the edwards25519 scalar field, with Feldman commitments.

The warrant build's authority key is a scalar ``w``; ``W = w·B`` is what a build compiles in.
:func:`deal` splits a fresh ``w`` among ``n`` trustees so that any ``k`` can act together and
``k - 1`` learn nothing (Shamir, 1979): trustee ``i`` (1-based) holds ``w_i = f(i)`` for a random
polynomial ``f`` of degree ``k - 1`` with ``f(0) = w``. Feldman's commitments ``C_j = a_j·B`` to
the polynomial's coefficients let each trustee check its share alone (``w_i·B == Σ C_j·i^j``)
without trusting the dealer, and ``C_0 = W``.

Opening never rebuilds ``w``: each trustee returns ``D_i = w_i·R`` for an envelope's point ``R``,
and :func:`combine` computes ``S = Σ λ_i·D_i = w·R`` with the Lagrange coefficients at zero.

Scalars are 32-byte little-endian integers below the group order ``L`` and every operation on
secret scalars goes through libsodium (``crypto_core_ed25519_scalar_*``); only the Lagrange
coefficients, which depend on public trustee numbers alone, are computed with Python integers.
The dealer here is a single process that forgets ``w`` when :func:`deal` returns; a real
deployment would use distributed key generation (Pedersen 1991) so that no one ever holds ``w``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import nacl.utils
from nacl.bindings import (
    crypto_core_ed25519_add,
    crypto_core_ed25519_is_valid_point,
    crypto_core_ed25519_scalar_add,
    crypto_core_ed25519_scalar_mul,
    crypto_core_ed25519_scalar_reduce,
    crypto_scalarmult_ed25519_base_noclamp,
    crypto_scalarmult_ed25519_noclamp,
)
from nacl.exceptions import CryptoError as _NaclError
from parley.crypto.errors import CryptoError, InvalidKey, MalformedData
from parley.crypto.keys import Rng

SCALAR_LEN = 32
POINT_LEN = 32
ORDER = 2**252 + 27742317777372353535851937790883648493
"""L, the order of the edwards25519 prime-order subgroup."""
MAX_TRUSTEES = 255


@dataclass(frozen=True)
class Share:
    """Trustee ``index``'s share ``w_i`` of a secret scalar (the repr hides it)."""

    index: int
    scalar: bytes = field(repr=False)

    def public(self) -> bytes:
        """``W_i = w_i·B``, which the authority publishes and proofs refer to."""
        return base_mul(self.scalar)


@dataclass(frozen=True)
class Dealt:
    """What :func:`deal` returns: the public key, the commitments and one share per trustee."""

    public_key: bytes
    commitments: tuple[bytes, ...]
    shares: tuple[Share, ...]


def scalar_from_int(value: int) -> bytes:
    return (value % ORDER).to_bytes(SCALAR_LEN, "little")


def random_scalar(rng: Rng = nacl.utils.random) -> bytes:
    """A uniform non-zero scalar (64 random bytes reduced mod L: bias below 2^-250)."""
    while True:
        scalar = crypto_core_ed25519_scalar_reduce(rng(64))
        if scalar != bytes(SCALAR_LEN):
            return scalar


def base_mul(scalar: bytes) -> bytes:
    """``scalar·B`` without clamping. Raises InvalidKey for the zero scalar."""
    try:
        return crypto_scalarmult_ed25519_base_noclamp(scalar)
    except _NaclError as exc:
        raise InvalidKey("A scalar of zero has no public point.") from exc


def point_mul(scalar: bytes, point: bytes) -> bytes:
    """``scalar·point`` without clamping.

    Raises:
        InvalidKey: the point is not a valid edwards25519 point in the prime-order subgroup, or
            the product is the identity.
    """
    check_point(point)
    try:
        return crypto_scalarmult_ed25519_noclamp(scalar, point)
    except _NaclError as exc:
        raise InvalidKey("The product of this scalar and point is the identity.") from exc


def check_point(point: bytes) -> None:
    """Refuse anything but a canonical, prime-order, non-identity edwards25519 point."""
    if not isinstance(point, bytes) or len(point) != POINT_LEN:
        raise MalformedData(f"A curve point must be {POINT_LEN} bytes.")
    if not crypto_core_ed25519_is_valid_point(point):
        raise InvalidKey("This is not a valid edwards25519 point of the prime-order subgroup.")


def deal(secret: bytes, threshold: int, trustees: int) -> Dealt:
    """Split ``secret`` into ``trustees`` shares, any ``threshold`` of which recover it.

    Raises:
        CryptoError: the threshold is not between 1 and the number of trustees, or there are more
            than 255 trustees.
    """
    if not 1 <= threshold <= trustees <= MAX_TRUSTEES:
        raise CryptoError(
            f"A threshold of {threshold} of {trustees} trustees is impossible: need "
            f"1 <= K <= N <= {MAX_TRUSTEES}."
        )
    coefficients = [secret] + [random_scalar() for _ in range(threshold - 1)]
    commitments = tuple(base_mul(c) for c in coefficients)
    shares = tuple(Share(i, _evaluate(coefficients, i)) for i in range(1, trustees + 1))
    return Dealt(commitments[0], commitments, shares)


def _evaluate(coefficients: Sequence[bytes], x: int) -> bytes:
    """f(x) by Horner's rule, in libsodium's scalar arithmetic."""
    point = scalar_from_int(x)
    result = coefficients[-1]
    for coefficient in reversed(coefficients[:-1]):
        result = crypto_core_ed25519_scalar_add(
            crypto_core_ed25519_scalar_mul(result, point), coefficient
        )
    return result


def expected_public(commitments: Sequence[bytes], index: int) -> bytes:
    """``Σ C_j·index^j``: what trustee ``index``'s ``w_i·B`` must equal (Feldman)."""
    if not commitments:
        raise MalformedData("There are no commitments to check against.")
    total = commitments[0]
    power = 1
    for commitment in commitments[1:]:
        power = power * index % ORDER
        total = crypto_core_ed25519_add(total, point_mul(scalar_from_int(power), commitment))
    return total


def verify_share(share: Share, commitments: Sequence[bytes]) -> bool:
    """Whether the share lies on the committed polynomial (the trustee's own check)."""
    try:
        return share.public() == expected_public(commitments, share.index)
    except CryptoError:
        return False


def lagrange_at_zero(index: int, indices: Sequence[int]) -> bytes:
    """λ_index = Π_{j ≠ index} j / (j - index) mod L, for interpolation at zero.

    Raises:
        CryptoError: repeated or non-positive indices, or ``index`` not among them.
    """
    if len(set(indices)) != len(indices) or any(i < 1 for i in indices) or index not in indices:
        raise CryptoError("Trustee numbers must be distinct, positive and include this one.")
    numerator, denominator = 1, 1
    for j in indices:
        if j != index:
            numerator = numerator * j % ORDER
            denominator = denominator * (j - index) % ORDER
    return scalar_from_int(numerator * pow(denominator, -1, ORDER))


def combine(partials: Sequence[tuple[int, bytes]]) -> bytes:
    """``S = Σ λ_i·D_i`` from partial points ``(i, D_i = w_i·R)`` of distinct trustees.

    With at least the threshold's number of honest partials this is ``w·R``; with fewer it is an
    unrelated point (Shamir's secrecy carries over to the exponent).

    Raises:
        CryptoError: no partials, repeated trustees or an invalid point.
    """
    if not partials:
        raise CryptoError("No trustee answered.")
    indices = [i for i, _ in partials]
    total: bytes | None = None
    for index, point in partials:
        term = point_mul(lagrange_at_zero(index, indices), point)
        total = term if total is None else crypto_core_ed25519_add(total, term)
    assert total is not None
    return total
