"""X3DH: both sides agree, the bundle is verified before use, mismatches and bad headers refused."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parley.crypto.errors import InvalidKey, InvalidSignature, MalformedData, PreKeyMismatch
from parley.crypto.kdf import hkdf_sha256
from parley.crypto.keys import DHKeyPair, IdentityKeyPair
from parley.crypto.prekeys import (
    OneTimePreKey,
    PreKeyBundle,
    SignedPreKey,
    SignedPreKeyPublic,
    generate_one_time_prekeys,
)
from parley.crypto.x3dh import (
    HEADER_LEN,
    X3DHHeader,
    derive_shared_secret,
    initiate,
    respond,
)

from .vectors_util import check_golden, fixed_rng

NOW = 1_700_000_000
ALICE = IdentityKeyPair.generate(fixed_rng(b"alice"))
BOB = IdentityKeyPair.generate(fixed_rng(b"bob"))
SPK = SignedPreKey.generate(BOB, 7, NOW, fixed_rng(b"spk"))
OTPKS = generate_one_time_prekeys(100, 2, fixed_rng(b"otpk"))


def bundle(one_time: OneTimePreKey | None) -> PreKeyBundle:
    return PreKeyBundle(BOB.public, SPK.public(), None if one_time is None else one_time.public())


def valid_header(one_time: bool = True) -> bytes:
    return initiate(
        ALICE, bundle(OTPKS[0] if one_time else None), fixed_rng(b"eph")
    ).header.to_bytes()


@pytest.mark.parametrize("one_time", [OTPKS[0], None], ids=["with one-time", "without"])
def test_both_sides_derive_the_same_secret_and_associated_data(
    one_time: OneTimePreKey | None,
) -> None:
    init = initiate(ALICE, bundle(one_time), fixed_rng(b"eph"))
    header = X3DHHeader.from_bytes(init.header.to_bytes())
    assert header == init.header
    resp = respond(BOB, SPK, one_time, header)
    assert len(init.shared_secret) == 32
    assert resp.shared_secret == init.shared_secret
    assert resp.associated_data == init.associated_data
    assert init.associated_data == ALICE.public.to_bytes() + BOB.public.to_bytes()
    assert init.their_signed_prekey == SPK.key_pair.public
    assert init.their_identity == BOB.public
    assert resp.their_identity == ALICE.public
    assert header.one_time_prekey_id == (None if one_time is None else one_time.id)


def test_the_one_time_prekey_changes_the_secret() -> None:
    with_otpk = initiate(ALICE, bundle(OTPKS[0]), fixed_rng(b"eph")).shared_secret
    without = initiate(ALICE, bundle(None), fixed_rng(b"eph")).shared_secret
    other = initiate(ALICE, bundle(OTPKS[1]), fixed_rng(b"eph")).shared_secret
    fresh = initiate(ALICE, bundle(OTPKS[0]), fixed_rng(b"eph2")).shared_secret
    assert len({with_otpk, without, other, fresh}) == 4


def test_secret_follows_the_spec_derivation() -> None:
    # Recompute SK from the four DH values the spec names, independently of initiate().
    init = initiate(ALICE, bundle(OTPKS[0]), fixed_rng(b"eph"))
    ephemeral = DHKeyPair.generate(fixed_rng(b"eph"))
    assert ephemeral.public == init.header.ephemeral_key
    dh1 = ALICE.dh_key_pair().dh(SPK.key_pair.public)
    dh2 = ephemeral.dh(BOB.public.x25519())
    dh3 = ephemeral.dh(SPK.key_pair.public)
    dh4 = ephemeral.dh(OTPKS[0].key_pair.public)
    expected = hkdf_sha256(
        b"\xff" * 32 + dh1 + dh2 + dh3 + dh4, salt=bytes(32), info=b"Parley X3DH v1", length=32
    )
    assert init.shared_secret == expected
    assert derive_shared_secret((dh1, dh2, dh3, dh4)) == expected


def test_a_bundle_with_a_bad_signature_is_refused_before_any_key_is_made() -> None:
    calls: list[int] = []

    def counting_rng(n: int) -> bytes:
        calls.append(n)
        return bytes(n)

    public = SPK.public()
    forged = SignedPreKeyPublic(public.id, public.public, public.signature[::-1], public.created_at)
    with pytest.raises(InvalidSignature):
        initiate(ALICE, PreKeyBundle(BOB.public, forged, None), counting_rng)
    other_identity = IdentityKeyPair.generate(fixed_rng(b"mallory")).public
    with pytest.raises(InvalidSignature):
        initiate(ALICE, PreKeyBundle(other_identity, public, None), counting_rng)
    assert calls == [], "no ephemeral key may be drawn before the bundle is verified"


def test_wrong_signed_prekey_is_refused() -> None:
    header = X3DHHeader.from_bytes(valid_header())
    other = SignedPreKey.generate(BOB, 8, NOW, fixed_rng(b"spk2"))
    with pytest.raises(PreKeyMismatch, match="signed prekey 7, not 8"):
        respond(BOB, other, OTPKS[0], header)


def test_one_time_prekey_mismatches_are_refused() -> None:
    with_otpk = X3DHHeader.from_bytes(valid_header(one_time=True))
    without = X3DHHeader.from_bytes(valid_header(one_time=False))
    with pytest.raises(PreKeyMismatch, match="one-time prekey 100, but none"):
        respond(BOB, SPK, None, with_otpk)
    with pytest.raises(PreKeyMismatch, match="one-time prekey 100, but one-time prekey 101"):
        respond(BOB, SPK, OTPKS[1], with_otpk)
    with pytest.raises(PreKeyMismatch, match="without a one-time prekey"):
        respond(BOB, SPK, OTPKS[0], without)


def test_a_substituted_key_under_the_right_id_gives_a_different_secret() -> None:
    # X3DH cannot detect this by itself; the first message's AEAD under SK then fails to open.
    init = initiate(ALICE, bundle(OTPKS[0]), fixed_rng(b"eph"))
    impostor = OneTimePreKey(100, OTPKS[1].key_pair)
    assert respond(BOB, SPK, impostor, init.header).shared_secret != init.shared_secret


def test_small_order_ephemeral_key_is_refused() -> None:
    header = X3DHHeader.from_bytes(valid_header())
    evil = X3DHHeader(header.identity_key, bytes(32), 7, 100)
    with pytest.raises(InvalidKey):
        respond(BOB, SPK, OTPKS[0], evil)


def test_header_layout() -> None:
    init = initiate(ALICE, bundle(OTPKS[0]), fixed_rng(b"eph"))
    data = init.header.to_bytes()
    assert len(data) == HEADER_LEN == 74
    assert data[0] == 1
    assert data[1:33] == ALICE.public.to_bytes()
    assert data[33:65] == init.header.ephemeral_key
    assert data[65:69] == (7).to_bytes(4, "big")
    assert data[69:74] == b"\x01" + (100).to_bytes(4, "big")
    assert valid_header(one_time=False)[69:74] == bytes(5)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d[:-1], "truncated"),
        (lambda d: d + b"\x00", "trailing"),
        (lambda d: b"", "truncated"),
        (lambda d: b"\x02" + d[1:], "version"),
        (lambda d: d[:69] + b"\x02" + d[70:], "flag"),
        (lambda d: d[:69] + b"\x00" + d[70:], "without its flag"),
    ],
    ids=["truncated", "extended", "empty", "version", "flag", "id without flag"],
)
def test_malformed_headers_are_refused(mutate: object, message: str) -> None:
    with pytest.raises(MalformedData, match=message):
        X3DHHeader.from_bytes(mutate(valid_header()))  # type: ignore[operator]


def test_header_with_invalid_identity_point_is_refused() -> None:
    data = valid_header()
    with pytest.raises(InvalidKey):
        X3DHHeader.from_bytes(data[:1] + (1).to_bytes(32, "little") + data[33:])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=100), st.binary(min_size=HEADER_LEN, max_size=HEADER_LEN)))
def test_random_header_bytes_only_raise_documented_errors(data: bytes) -> None:
    with contextlib.suppress(MalformedData, InvalidKey):
        assert X3DHHeader.from_bytes(data).to_bytes() == data


@settings(max_examples=150, deadline=None)
@given(position=st.integers(0, HEADER_LEN - 1), value=st.integers(0, 255))
def test_altered_headers_never_yield_the_initiators_secret(position: int, value: int) -> None:
    init = initiate(ALICE, bundle(OTPKS[0]), fixed_rng(b"eph"))
    data = init.header.to_bytes()
    altered = data[:position] + bytes([value]) + data[position + 1 :]
    try:
        header = X3DHHeader.from_bytes(altered)
        result = respond(BOB, SPK, OTPKS[0], header)
    except (MalformedData, InvalidKey, PreKeyMismatch):
        return
    assert (result.shared_secret == init.shared_secret) == (altered == data)


def test_derive_shared_secret_refuses_wrong_inputs() -> None:
    with pytest.raises(MalformedData):
        derive_shared_secret((bytes(32), bytes(32)))
    with pytest.raises(MalformedData):
        derive_shared_secret((bytes(32), bytes(32), bytes(31)))


def test_shared_secret_stays_out_of_reprs() -> None:
    init = initiate(ALICE, bundle(OTPKS[0]), fixed_rng(b"eph"))
    resp = respond(BOB, SPK, OTPKS[0], init.header)
    for obj in (init, resp):
        assert init.shared_secret.hex() not in repr(obj)
        assert repr(init.shared_secret) not in repr(obj)


def test_golden_x3dh() -> None:
    alice = IdentityKeyPair.generate(fixed_rng(b"parley x3dh alice"))
    bob = IdentityKeyPair.generate(fixed_rng(b"parley x3dh bob"))
    signed = SignedPreKey.generate(bob, 1, 1_750_000_000, fixed_rng(b"parley x3dh spk"))
    (one_time,) = generate_one_time_prekeys(1, 1, fixed_rng(b"parley x3dh otpk"))
    full = PreKeyBundle(bob.public, signed.public(), one_time.public())
    bare = PreKeyBundle(bob.public, signed.public(), None)
    with_otpk = initiate(alice, full, fixed_rng(b"parley x3dh ephemeral 1"))
    without = initiate(alice, bare, fixed_rng(b"parley x3dh ephemeral 2"))
    assert respond(bob, signed, one_time, with_otpk.header).shared_secret == with_otpk.shared_secret
    assert respond(bob, signed, None, without.header).shared_secret == without.shared_secret
    check_golden(
        "x3dh.json",
        {
            "rng": "fixed_rng, see tests/crypto/vectors_util.py",
            "rng_seeds": [
                "parley x3dh alice",
                "parley x3dh bob",
                "parley x3dh spk",
                "parley x3dh otpk",
                "parley x3dh ephemeral 1",
                "parley x3dh ephemeral 2",
            ],
            "bundle_with_one_time": full.to_bytes().hex(),
            "bundle_without_one_time": bare.to_bytes().hex(),
            "header_with_one_time": with_otpk.header.to_bytes().hex(),
            "shared_secret_with_one_time": with_otpk.shared_secret.hex(),
            "header_without_one_time": without.header.to_bytes().hex(),
            "shared_secret_without_one_time": without.shared_secret.hex(),
            "associated_data": with_otpk.associated_data.hex(),
        },
    )
