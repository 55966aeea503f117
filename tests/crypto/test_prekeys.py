"""Signed and one-time prekeys, bundles: encodings, signature checks, refusals, rotation policy."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parley.crypto.errors import CryptoError, InvalidKey, InvalidSignature, MalformedData
from parley.crypto.keys import IdentityKeyPair
from parley.crypto.prekeys import (
    ONE_TIME_PREKEY_PUBLIC_LEN,
    PREVIOUS_KEY_GRACE,
    ROTATION_INTERVAL,
    SIGNED_PREKEY_PUBLIC_LEN,
    OneTimePreKey,
    OneTimePreKeyPublic,
    PreKeyBundle,
    SignedPreKey,
    SignedPreKeyPublic,
    can_discard_previous,
    generate_one_time_prekeys,
    needs_rotation,
    signed_prekey_message,
)

from .vectors_util import check_golden, fixed_rng

NOW = 1_700_000_000
BOB = IdentityKeyPair.generate(fixed_rng(b"bob"))
MALLORY = IdentityKeyPair.generate(fixed_rng(b"mallory"))
SPK = SignedPreKey.generate(BOB, 7, NOW, fixed_rng(b"spk"))
OTPKS = generate_one_time_prekeys(100, 3, fixed_rng(b"otpk"))

PARSERS: dict[str, Callable[[bytes], object]] = {
    "signed public": SignedPreKeyPublic.from_bytes,
    "signed private": SignedPreKey.from_bytes,
    "one-time public": OneTimePreKeyPublic.from_bytes,
    "one-time private": OneTimePreKey.from_bytes,
    "bundle": PreKeyBundle.from_bytes,
}
VALID: dict[str, bytes] = {
    "signed public": SPK.public().to_bytes(),
    "signed private": SPK.to_bytes(),
    "one-time public": OTPKS[0].public().to_bytes(),
    "one-time private": OTPKS[0].to_bytes(),
    "bundle": PreKeyBundle(BOB.public, SPK.public(), OTPKS[0].public()).to_bytes(),
}


def bundle(one_time: bool = True) -> PreKeyBundle:
    return PreKeyBundle(BOB.public, SPK.public(), OTPKS[0].public() if one_time else None)


def test_signed_prekey_verifies_and_round_trips() -> None:
    public = SPK.public()
    public.verify(BOB.public)
    blob = public.to_bytes()
    assert len(blob) == SIGNED_PREKEY_PUBLIC_LEN == 109
    assert SignedPreKeyPublic.from_bytes(blob) == public
    assert SignedPreKey.from_bytes(SPK.to_bytes()) == SPK
    assert (public.id, public.created_at, public.public) == (7, NOW, SPK.key_pair.public)


def test_one_time_prekeys_have_consecutive_ids_and_distinct_keys() -> None:
    assert [k.id for k in OTPKS] == [100, 101, 102]
    assert len({k.key_pair.public for k in OTPKS}) == 3
    blob = OTPKS[1].public().to_bytes()
    assert len(blob) == ONE_TIME_PREKEY_PUBLIC_LEN == 37
    assert OneTimePreKeyPublic.from_bytes(blob) == OTPKS[1].public()
    assert OneTimePreKey.from_bytes(OTPKS[1].to_bytes()) == OTPKS[1]
    assert generate_one_time_prekeys(5, 0) == []


@pytest.mark.parametrize(("start", "count"), [(0, -1), (2**32 - 2, 3), (-1, 1), (2**32, 1)])
def test_one_time_prekey_ids_must_fit(start: int, count: int) -> None:
    with pytest.raises(CryptoError):
        generate_one_time_prekeys(start, count)


def test_last_representable_one_time_id_is_allowed() -> None:
    assert [k.id for k in generate_one_time_prekeys(2**32 - 2, 2)] == [2**32 - 2, 2**32 - 1]


@pytest.mark.parametrize(("prekey_id", "now"), [(-1, NOW), (2**32, NOW), (1, -1), (True, NOW)])
def test_signed_prekey_refuses_out_of_range_fields(prekey_id: int, now: int) -> None:
    with pytest.raises(CryptoError):
        SignedPreKey.generate(BOB, prekey_id, now)


def test_secrets_stay_out_of_reprs() -> None:
    for key in (SPK, OTPKS[0]):
        assert key.key_pair.private.hex() not in repr(key)
        assert repr(key.key_pair.private) not in repr(key)


@pytest.mark.parametrize("one_time", [True, False])
def test_bundle_round_trips(one_time: bool) -> None:
    original = bundle(one_time)
    original.verify()
    data = original.to_bytes()
    assert len(data) == 1 + 32 + 109 + 1 + (37 if one_time else 0)
    assert PreKeyBundle.from_bytes(data) == original
    parts = PreKeyBundle.from_parts(
        BOB.public.to_bytes(),
        SPK.public().to_bytes(),
        OTPKS[0].public().to_bytes() if one_time else None,
    )
    assert parts == original


def test_bundle_with_bad_signature_is_refused() -> None:
    public = SPK.public()
    forged = SignedPreKeyPublic(public.id, public.public, bytes(64), public.created_at)
    with pytest.raises(InvalidSignature, match="not signed by this identity"):
        PreKeyBundle(BOB.public, forged, None).verify()


def test_bundle_under_the_wrong_identity_is_refused() -> None:
    with pytest.raises(InvalidSignature):
        PreKeyBundle(MALLORY.public, SPK.public(), None).verify()


def test_prekey_signed_by_someone_else_is_refused() -> None:
    impostor = SignedPreKey.generate(MALLORY, 7, NOW, fixed_rng(b"spk"))
    with pytest.raises(InvalidSignature):
        PreKeyBundle(BOB.public, impostor.public(), None).verify()


def test_every_bit_of_a_signed_prekey_is_covered_by_its_signature() -> None:
    # Id and creation time are signed too: a relay cannot relabel a prekey or make it look fresh.
    blob = SPK.public().to_bytes()
    for bit in range(8, len(blob) * 8):  # every bit after the version byte
        flipped = bytearray(blob)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(InvalidSignature):
            SignedPreKeyPublic.from_bytes(bytes(flipped)).verify(BOB.public)


def test_signed_message_layout() -> None:
    message = signed_prekey_message(7, NOW, SPK.key_pair.public)
    assert message == (
        b"Parley signed prekey v1\x00"
        + (7).to_bytes(4, "big")
        + NOW.to_bytes(8, "big")
        + SPK.key_pair.public
    )
    BOB.public.verify(message, SPK.signature)


@pytest.mark.parametrize("name", list(PARSERS))
def test_truncated_extended_and_wrong_version_are_refused(name: str) -> None:
    parse, data = PARSERS[name], VALID[name]
    for bad in (data[:-1], data[:1], b"", data + b"\x00"):
        with pytest.raises(MalformedData):
            parse(bad)
    with pytest.raises(MalformedData, match="version"):
        parse(b"\x02" + data[1:])


def test_bundle_flag_must_be_zero_or_one() -> None:
    data = bundle(False).to_bytes()
    with pytest.raises(MalformedData, match="flag"):
        PreKeyBundle.from_bytes(data[:-1] + b"\x02")


def test_bundle_with_an_invalid_identity_point_is_refused() -> None:
    with pytest.raises(InvalidKey):
        PreKeyBundle.from_parts((1).to_bytes(32, "little"), SPK.public().to_bytes(), None)


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(list(PARSERS)), data=st.binary(max_size=200))
def test_parsers_only_raise_documented_errors(name: str, data: bytes) -> None:
    with contextlib.suppress(MalformedData, InvalidKey):
        PARSERS[name](data)


@settings(max_examples=100, deadline=None)
@given(name=st.sampled_from(list(PARSERS)), data=st.data())
def test_near_valid_inputs_only_raise_documented_errors(name: str, data: st.DataObject) -> None:
    valid = VALID[name]
    position = data.draw(st.integers(0, len(valid) - 1))
    value = data.draw(st.integers(0, 255))
    mutated = valid[:position] + bytes([value]) + valid[position + 1 :]
    try:
        parsed = PARSERS[name](mutated)
    except (MalformedData, InvalidKey):
        return
    signed_part = 1 + 32 + SIGNED_PREKEY_PUBLIC_LEN  # one-time prekeys are unsigned, as in X3DH
    if isinstance(parsed, PreKeyBundle) and mutated != valid and position < signed_part:
        with pytest.raises(InvalidSignature):
            parsed.verify()


def test_rotation_policy() -> None:
    assert not needs_rotation(SPK, NOW)
    assert not needs_rotation(SPK, NOW + ROTATION_INTERVAL - 1)
    assert needs_rotation(SPK, NOW + ROTATION_INTERVAL)
    assert needs_rotation(SPK, NOW - 1), "a key dated in the future cannot be trusted to be fresh"
    assert needs_rotation(SPK, NOW + 10, max_age=10)
    assert not can_discard_previous(NOW, NOW + PREVIOUS_KEY_GRACE - 1)
    assert can_discard_previous(NOW, NOW + PREVIOUS_KEY_GRACE)


def test_golden_prekeys() -> None:
    identity = IdentityKeyPair.generate(fixed_rng(b"parley prekeys identity"))
    signed = SignedPreKey.generate(identity, 1, 1_750_000_000, fixed_rng(b"parley prekeys spk"))
    one_time = generate_one_time_prekeys(1, 2, fixed_rng(b"parley prekeys otpk"))
    check_golden(
        "prekeys.json",
        {
            "rng": "fixed_rng, see tests/crypto/vectors_util.py",
            "identity_rng_seed": "parley prekeys identity",
            "signed_prekey_rng_seed": "parley prekeys spk",
            "one_time_prekeys_rng_seed": "parley prekeys otpk",
            "identity_public": identity.public.to_bytes().hex(),
            "signed_prekey_public_blob": signed.public().to_bytes().hex(),
            "signed_prekey_private_blob": signed.to_bytes().hex(),
            "one_time_prekey_public_blobs": [k.public().to_bytes().hex() for k in one_time],
            "one_time_prekey_private_blobs": [k.to_bytes().hex() for k in one_time],
            "bundle_with_one_time": PreKeyBundle(
                identity.public, signed.public(), one_time[0].public()
            )
            .to_bytes()
            .hex(),
            "bundle_without_one_time": PreKeyBundle(identity.public, signed.public(), None)
            .to_bytes()
            .hex(),
        },
    )
