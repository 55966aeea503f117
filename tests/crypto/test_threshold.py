"""Shamir sharing over the edwards25519 scalars, Feldman commitments, combining partial points."""

from __future__ import annotations

import itertools

import pytest
from nacl.bindings import crypto_core_ed25519_scalar_add
from parley.crypto import threshold
from parley.crypto.errors import CryptoError


def test_any_k_of_n_partials_combine_to_w_times_r_and_fewer_do_not() -> None:
    secret = threshold.random_scalar()
    dealt = threshold.deal(secret, 3, 5)
    assert dealt.public_key == threshold.base_mul(secret) == dealt.commitments[0]
    r_point = threshold.base_mul(threshold.random_scalar())
    expected = threshold.point_mul(secret, r_point)
    for chosen in itertools.combinations(dealt.shares, 3):
        partials = [(s.index, threshold.point_mul(s.scalar, r_point)) for s in chosen]
        assert threshold.combine(partials) == expected
    for pair in itertools.combinations(dealt.shares, 2):
        partials = [(s.index, threshold.point_mul(s.scalar, r_point)) for s in pair]
        assert threshold.combine(partials) != expected


def test_every_share_passes_feldman_and_a_changed_share_fails() -> None:
    dealt = threshold.deal(threshold.random_scalar(), 2, 4)
    assert all(threshold.verify_share(s, dealt.commitments) for s in dealt.shares)
    one = threshold.scalar_from_int(1)
    bad = threshold.Share(2, crypto_core_ed25519_scalar_add(dealt.shares[1].scalar, one))
    assert not threshold.verify_share(bad, dealt.commitments)
    swapped = threshold.Share(3, dealt.shares[1].scalar)
    assert not threshold.verify_share(swapped, dealt.commitments)


def test_lagrange_and_deal_refuse_impossible_inputs() -> None:
    with pytest.raises(CryptoError):
        threshold.deal(threshold.random_scalar(), 4, 3)
    with pytest.raises(CryptoError):
        threshold.lagrange_at_zero(1, [1, 1, 2])
    with pytest.raises(CryptoError):
        threshold.combine([])
    with pytest.raises(CryptoError):
        threshold.point_mul(threshold.random_scalar(), bytes(32))


def test_share_repr_hides_the_scalar() -> None:
    share = threshold.deal(threshold.random_scalar(), 1, 1).shares[0]
    assert share.scalar.hex() not in repr(share)
