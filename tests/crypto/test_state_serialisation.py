"""Stored ratchet state: exact round trips mid-conversation; anything malformed is refused."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parley.crypto import ratchet
from parley.crypto.errors import MalformedData
from parley.crypto.keys import DHKeyPair
from parley.crypto.ratchet import RatchetState, decrypt, encrypt

from tests.crypto.vectors_util import counter_rng

AD = bytes(64)


def mid_conversation() -> tuple[RatchetState, RatchetState, Callable[[int], bytes]]:
    """Two states with every optional part present: chains both ways, skipped keys, past keys."""
    rng = counter_rng(b"serialise")
    bob_prekey = DHKeyPair.generate(rng=rng)
    secret = rng(32)
    alice = ratchet.initialise_sender(secret, bob_prekey.public, rng=rng)
    bob = ratchet.initialise_receiver(secret, bob_prekey)
    alice, _skipped = encrypt(alice, b"lost for now", AD)
    alice, msg = encrypt(alice, b"hello", AD)
    bob, _ = decrypt(bob, msg, AD, rng=rng)
    bob, reply = encrypt(bob, b"reply", AD)
    alice, _ = decrypt(alice, reply, AD, rng=rng)
    alice, msg = encrypt(alice, b"next turn", AD)
    bob, _ = decrypt(bob, msg, AD, rng=rng)
    assert bob.skipped and bob.past_remote and bob.send_chain and bob.recv_chain
    return alice, bob, rng


def test_round_trip_is_exact_and_the_conversation_continues() -> None:
    alice, bob, rng = mid_conversation()
    for state in (alice, bob):
        restored = RatchetState.from_bytes(state.to_bytes())
        assert restored.to_bytes() == state.to_bytes()
        assert restored == state
    alice = RatchetState.from_bytes(alice.to_bytes())
    bob = RatchetState.from_bytes(bob.to_bytes())
    bob, msg = encrypt(bob, b"after a restart", AD)
    alice, plain = decrypt(alice, msg, AD, rng=rng)
    assert plain == b"after a restart"


def test_fresh_states_round_trip() -> None:
    rng = counter_rng(b"fresh")
    prekey = DHKeyPair.generate(rng=rng)
    for state in (
        ratchet.initialise_sender(bytes(32), prekey.public, rng=rng),
        ratchet.initialise_receiver(bytes(32), prekey),
    ):
        assert RatchetState.from_bytes(state.to_bytes()) == state


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda b: b"", "truncated"),
        (lambda b: b"\x02" + b[1:], "version 2"),
        (lambda b: b[:1] + b"\x08" + b[2:], "unknown flags"),
        (lambda b: b[:100], "truncated"),
        (lambda b: b + b"\x00", "trailing"),
        (lambda b: b[:-1], "truncated"),
    ],
)
def test_malformed_state_is_refused(mutate: Callable[[bytes], bytes], reason: str) -> None:
    _, bob, _ = mid_conversation()
    with pytest.raises(MalformedData, match=reason):
        RatchetState.from_bytes(mutate(bob.to_bytes()))


def test_counts_beyond_the_bounds_are_refused() -> None:
    _, bob, _ = mid_conversation()
    data = bob.to_bytes()
    fixed = 2 + 5 * 32 + 3 * 4
    too_many_past = data[:fixed] + (ratchet.MAX_PAST_RATCHET_KEYS + 1).to_bytes(2, "big")
    with pytest.raises(MalformedData, match="too many past"):
        RatchetState.from_bytes(too_many_past + data[fixed + 2 :])
    past_end = fixed + 2 + 32 * len(bob.past_remote)
    too_many_skipped = (
        data[:past_end] + (ratchet.MAX_SKIPPED_TOTAL + 1).to_bytes(2, "big") + data[past_end + 2 :]
    )
    with pytest.raises(MalformedData, match="too many skipped"):
        RatchetState.from_bytes(too_many_skipped)


def test_a_repeated_skipped_entry_is_refused() -> None:
    _, bob, _ = mid_conversation()
    data = bob.to_bytes()
    entry = data[-68:]
    count_at = len(data) - 68 * len(bob.skipped) - 2
    doubled = data[:count_at] + (len(bob.skipped) + 1).to_bytes(2, "big") + data[count_at + 2 :]
    with pytest.raises(MalformedData, match="twice"):
        RatchetState.from_bytes(doubled + entry)


@pytest.mark.parametrize("value", ["text", None, 42])
def test_non_bytes_are_refused(value: object) -> None:
    with pytest.raises(MalformedData):
        RatchetState.from_bytes(value)  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_truncation_or_byte_change_is_refused_or_parses(data: st.DataObject) -> None:
    _, bob, _ = STATES
    valid = bob.to_bytes()
    cut = data.draw(st.integers(0, len(valid) - 1))
    with pytest.raises(MalformedData):
        RatchetState.from_bytes(valid[:cut])
    index = data.draw(st.integers(0, len(valid) - 1))
    value = data.draw(st.integers(0, 255))
    changed = valid[:index] + bytes([value]) + valid[index + 1 :]
    try:
        RatchetState.from_bytes(changed)
    except MalformedData as exc:
        assert str(exc)  # a message for a person, never an IndexError or struct.error


@settings(max_examples=100, deadline=None)
@given(garbage=st.binary(max_size=400))
def test_random_bytes_never_crash_the_parser(garbage: bytes) -> None:
    with contextlib.suppress(MalformedData):  # anything else escaping fails the test
        RatchetState.from_bytes(b"\x01" + garbage)


STATES = mid_conversation()
