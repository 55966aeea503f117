"""The warrant envelope: deterministic, bound to key, header, parties, epoch and authority."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parley.crypto import threshold, warrant_envelope
from parley.crypto.errors import CryptoError, DecryptionError, EnvelopeRejected
from parley.crypto.hooks import Parties, describe_extension
from parley.crypto.warrant_envelope import AuthorityKey, EnvelopeHook, EpochKey

SECRETS = [threshold.random_scalar() for _ in range(3)]
EPOCHS = tuple(
    EpochKey(n, 1000 * n, 1000 * (n + 1), threshold.base_mul(s)) for n, s in enumerate(SECRETS)
)
AUTHORITY = AuthorityKey(bytes.fromhex("0011223344556677"), EPOCHS)
ALICE, BOB = bytes(range(32)), bytes(range(32, 64))


def hook(
    epoch: int = 1, accepted: frozenset[int] = frozenset({1}), require: bool = True
) -> EnvelopeHook:
    return EnvelopeHook(AUTHORITY, EPOCHS[epoch], accepted, require=require)


def flip(data: bytes, bit: int) -> bytes:
    index = bit % (8 * len(data))
    changed = bytearray(data)
    changed[index // 8] ^= 1 << (index % 8)
    return bytes(changed)


keys = st.binary(min_size=32, max_size=32)
headers = st.binary(min_size=40, max_size=40)


@settings(max_examples=60, deadline=None)
@given(mk=keys, header=headers, bit=st.integers(min_value=0))
def test_check_accepts_seal_and_refuses_any_one_bit_change(
    mk: bytes, header: bytes, bit: int
) -> None:
    parties = Parties(ALICE, BOB)
    envelope = hook().seal(mk, header, parties)
    assert len(envelope) == warrant_envelope.ENVELOPE_LEN == 93
    assert envelope == hook().seal(mk, header, parties)  # deterministic
    hook().check(mk, header, parties, envelope)
    with pytest.raises(EnvelopeRejected):
        hook().check(mk, header, parties, flip(envelope, bit))
    with pytest.raises(EnvelopeRejected):
        hook().check(flip(mk, bit), header, parties, envelope)
    with pytest.raises(EnvelopeRejected):
        hook().check(mk, flip(header, bit), parties, envelope)
    with pytest.raises(EnvelopeRejected):
        hook().check(mk, header, Parties(flip(ALICE, bit), BOB), envelope)
    with pytest.raises(EnvelopeRejected):
        hook().check(mk, header, Parties(ALICE, flip(BOB, bit)), envelope)


def test_each_forgery_class_is_refused_with_its_reason() -> None:
    mk, header, parties = bytes(32), bytes(40), Parties(ALICE, BOB)
    good = hook().seal(mk, header, parties)

    def reason(extension: bytes, checker: EnvelopeHook | None = None) -> str:
        with pytest.raises(EnvelopeRejected) as caught:
            (checker or hook()).check(mk, header, parties, extension)
        return caught.value.reason

    assert reason(b"") == "missing"
    assert reason(b"\x01" + bytes(20)) == "malformed"
    assert reason(bytes([1]) + AUTHORITY.key_id + good[9:13] + bytes(80)) == "mismatch"
    copied = hook().seal(mk, bytes([1]) + bytes(39), parties)
    assert reason(copied) == "mismatch"
    other = AuthorityKey(bytes(8), EPOCHS)
    foreign = EnvelopeHook(other, EPOCHS[1], frozenset({1}), require=True).seal(mk, header, parties)
    assert reason(foreign) == "other-authority"
    old = hook(epoch=0).seal(mk, header, parties)
    assert reason(old) == "other-epoch"
    relabelled = good[:9] + (0).to_bytes(4, "big") + good[13:]
    assert reason(relabelled, hook(accepted=frozenset({0, 1}))) == "mismatch"


def test_transitional_accepts_a_missing_envelope_and_says_so() -> None:
    lenient = hook(require=False)
    lenient.check(bytes(32), bytes(40), Parties(ALICE, BOB), b"")
    assert lenient.unenveloped


def test_the_authority_opens_with_w_times_r_and_nothing_else() -> None:
    mk, header, parties = bytes(range(32)), bytes(40), Parties(ALICE, BOB)
    envelope = hook().seal(mk, header, parties)
    bound = warrant_envelope.binding(AUTHORITY.key_id, 1, header, parties)
    point = warrant_envelope.ephemeral_point(envelope)
    assert (
        warrant_envelope.open_with_shared_point(
            threshold.point_mul(SECRETS[1], point), envelope, bound
        )
        == mk
    )
    with pytest.raises(DecryptionError):
        warrant_envelope.open_with_shared_point(
            threshold.point_mul(SECRETS[0], point), envelope, bound
        )


def test_a_build_without_an_epoch_for_now_cannot_send() -> None:
    expired = EnvelopeHook(AUTHORITY, None, frozenset(), require=True)
    with pytest.raises(CryptoError, match="no epoch key"):
        expired.seal(bytes(32), bytes(40), Parties(ALICE, BOB))


def test_the_standard_build_can_name_an_envelope_without_checking_it() -> None:
    envelope = hook().seal(bytes(32), bytes(40), Parties(ALICE, BOB))
    seen = describe_extension(envelope)
    assert seen is not None and seen.key_id == AUTHORITY.key_id.hex() and seen.length == 93
    assert describe_extension(b"") is None
