"""Identity keys and DH key pairs: agreement, signatures, validation, secrets kept out of reprs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parley.crypto.errors import CryptoError, InvalidKey, InvalidSignature, MalformedData
from parley.crypto.keys import DHKeyPair, IdentityKeyPair, IdentityPublicKey

from .vectors_util import check_golden, fixed_rng

# X25519 public keys of small order (the usual blocklist, e.g. in libsodium's tests and the
# Curve25519 paper): any DH with them yields all zeros, a secret the attacker knows.
SMALL_ORDER_X25519 = [
    bytes(32),
    (1).to_bytes(32, "little"),
    bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
    bytes.fromhex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
    bytes.fromhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    bytes.fromhex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    bytes.fromhex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
]

# Ed25519 encodings that are not acceptable identity keys: the identity point (small order),
# a point of order 2 (y = -1), and y = p (non-canonical encoding of y = 0).
BAD_ED25519 = [
    (1).to_bytes(32, "little"),
    bytes.fromhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    bytes.fromhex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
]


def test_dh_agreement_and_deterministic_generation() -> None:
    alice = DHKeyPair.generate(fixed_rng(b"alice"))
    bob = DHKeyPair.generate(fixed_rng(b"bob"))
    assert alice == DHKeyPair.generate(fixed_rng(b"alice"))
    assert alice.dh(bob.public) == bob.dh(alice.public)
    assert alice.dh(bob.public) != alice.dh(DHKeyPair.generate(fixed_rng(b"carol")).public)
    assert DHKeyPair.from_private(alice.private) == alice


@pytest.mark.parametrize("point", SMALL_ORDER_X25519, ids=lambda p: p.hex()[:8])
def test_dh_refuses_small_order_points(point: bytes) -> None:
    with pytest.raises(InvalidKey, match="small order"):
        DHKeyPair.generate(fixed_rng(b"x")).dh(point)


@pytest.mark.parametrize("bad", [b"", bytes(31), bytes(33), "not bytes"])
def test_dh_refuses_wrong_sizes(bad: object) -> None:
    with pytest.raises(InvalidKey, match="32 bytes"):
        DHKeyPair.generate(fixed_rng(b"x")).dh(bad)  # type: ignore[arg-type]


def test_dh_key_pair_constructor_checks_sizes() -> None:
    with pytest.raises(MalformedData, match="private key"):
        DHKeyPair(private=bytes(31), public=bytes(32))
    with pytest.raises(MalformedData, match="public key"):
        DHKeyPair(private=bytes(32), public=bytes(33))
    with pytest.raises(MalformedData):
        DHKeyPair.from_private(bytes(16))


def test_a_short_random_source_is_refused() -> None:
    with pytest.raises(CryptoError, match="random source"):
        DHKeyPair.generate(lambda n: bytes(n - 1))
    with pytest.raises(CryptoError, match="random source"):
        IdentityKeyPair.generate(lambda n: bytes(n + 1))


def test_secrets_stay_out_of_reprs() -> None:
    pair = DHKeyPair.generate(fixed_rng(b"repr"))
    identity = IdentityKeyPair.generate(fixed_rng(b"repr-id"))
    for obj, secret in ((pair, pair.private), (identity, identity.seed)):
        text = repr(obj)
        assert repr(secret) not in text
        assert secret.hex() not in text
    assert repr(pair.public) in repr(pair)


def test_identity_sign_verify_round_trip() -> None:
    identity = IdentityKeyPair.generate(fixed_rng(b"id"))
    signature = identity.sign(b"hello")
    assert len(signature) == 64
    identity.public.verify(b"hello", signature)
    assert IdentityKeyPair.from_bytes(identity.to_bytes()) == identity
    assert IdentityKeyPair.from_bytes(identity.to_bytes()).public == identity.public


def test_verify_refuses_other_message_key_and_tampering() -> None:
    identity = IdentityKeyPair.generate(fixed_rng(b"id"))
    other = IdentityKeyPair.generate(fixed_rng(b"other"))
    signature = identity.sign(b"hello")
    with pytest.raises(InvalidSignature):
        identity.public.verify(b"hellO", signature)
    with pytest.raises(InvalidSignature):
        other.public.verify(b"hello", signature)
    for bit in range(0, 512, 37):
        flipped = bytearray(signature)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(InvalidSignature):
            identity.public.verify(b"hello", bytes(flipped))


@pytest.mark.parametrize("signature", [b"", bytes(63), bytes(65), None])
def test_verify_refuses_malformed_signatures(signature: object) -> None:
    identity = IdentityKeyPair.generate(fixed_rng(b"id"))
    with pytest.raises(InvalidSignature, match="malformed"):
        identity.public.verify(b"hello", signature)  # type: ignore[arg-type]


def test_identity_dh_forms_agree_between_two_identities() -> None:
    alice = IdentityKeyPair.generate(fixed_rng(b"alice"))
    bob = IdentityKeyPair.generate(fixed_rng(b"bob"))
    assert alice.dh_key_pair().public == alice.public.x25519()
    assert alice.dh_key_pair().dh(bob.public.x25519()) == bob.dh_key_pair().dh(
        alice.public.x25519()
    )


@pytest.mark.parametrize("data", BAD_ED25519, ids=lambda p: p.hex()[:8])
def test_identity_public_key_refuses_invalid_points(data: bytes) -> None:
    with pytest.raises(InvalidKey, match="not a valid Ed25519"):
        IdentityPublicKey.from_bytes(data)


@pytest.mark.parametrize("data", [b"", bytes(31), bytes(33), bytearray(32)])
def test_identity_encodings_refuse_wrong_sizes_and_types(data: bytes) -> None:
    with pytest.raises(MalformedData, match="32 bytes"):
        IdentityPublicKey.from_bytes(data)
    with pytest.raises(MalformedData, match="32 bytes"):
        IdentityKeyPair.from_bytes(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=40))
def test_identity_public_key_parser_only_raises_documented_errors(data: bytes) -> None:
    try:
        key = IdentityPublicKey.from_bytes(data)
    except (MalformedData, InvalidKey):
        return
    assert key.to_bytes() == data
    assert len(key.x25519()) == 32


def test_fingerprint_hex_is_the_key() -> None:
    public = IdentityKeyPair.generate(fixed_rng(b"id")).public
    assert public.fingerprint_hex() == public.to_bytes().hex()
    assert len(public.fingerprint_hex()) == 64


def test_golden_keys() -> None:
    identity = IdentityKeyPair.generate(fixed_rng(b"parley keys identity"))
    pair = DHKeyPair.generate(fixed_rng(b"parley keys dh"))
    dh_form = identity.dh_key_pair()
    check_golden(
        "keys.json",
        {
            "rng": "fixed_rng, see tests/crypto/vectors_util.py",
            "identity_rng_seed": "parley keys identity",
            "identity_seed": identity.to_bytes().hex(),
            "identity_public_ed25519": identity.public.to_bytes().hex(),
            "identity_x25519_private": dh_form.private.hex(),
            "identity_x25519_public": identity.public.x25519().hex(),
            "signed_message": b"Parley golden vector".hex(),
            "signature": identity.sign(b"Parley golden vector").hex(),
            "dh_rng_seed": "parley keys dh",
            "dh_private": pair.private.hex(),
            "dh_public": pair.public.hex(),
            "dh_with_identity_x25519": pair.dh(identity.public.x25519()).hex(),
        },
    )
