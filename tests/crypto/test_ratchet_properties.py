"""Property tests: two parties under reordering, loss, duplication and corruption.

A hypothesis-generated schedule drives Alice and Bob through a lossy, reordering network that also
replays and corrupts messages. The invariants: every message that arrives decrypts exactly once to
what was sent; a replay raises DuplicateMessage; a corrupted message fails with a CryptoError; and
no failure changes the receiver's state (compared as serialised bytes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parley.crypto import ratchet
from parley.crypto.errors import (
    DecryptionError,
    DuplicateMessage,
    MalformedData,
    TooManySkippedMessages,
)
from parley.crypto.keys import DHKeyPair
from parley.crypto.ratchet import RatchetMessage, RatchetState, decrypt, encrypt

from tests.crypto.vectors_util import counter_rng

AD = b"A" * 32 + b"B" * 32


@dataclass
class Party:
    state: RatchetState
    in_flight: list[tuple[bytes, bytes]] = field(default_factory=list)  # (wire, plaintext) to peer
    delivered: list[bytes] = field(default_factory=list)  # wire bytes the peer already read


# An action: (kind, sender index 0 = Alice / 1 = Bob, a number used to pick a message or a bit).
ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["send", "send", "deliver", "deliver", "replay", "drop", "corrupt"]),
        st.integers(0, 1),
        st.integers(0, 10_000),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(actions=ACTIONS, seed=st.binary(min_size=1, max_size=8))
def test_random_interleavings_decrypt_exactly_once(
    actions: list[tuple[str, int, int]], seed: bytes
) -> None:
    rng = counter_rng(seed)
    bob_prekey = DHKeyPair.generate(rng=rng)
    secret = rng(32)
    parties = [
        Party(ratchet.initialise_sender(secret, bob_prekey.public, rng=rng)),
        Party(ratchet.initialise_receiver(secret, bob_prekey)),
    ]
    counter = 0
    for kind, who, pick in actions:
        sender, receiver = parties[who], parties[1 - who]
        if kind == "send":
            if sender.state.send_chain is None:  # Bob before Alice's first message arrived
                continue
            counter += 1
            text = f"message {counter} from {who}".encode()
            sender.state, msg = encrypt(sender.state, text, AD)
            sender.in_flight.append((msg.to_bytes(), text))
        elif kind in {"deliver", "drop"} and sender.in_flight:
            wire, text = sender.in_flight.pop(pick % len(sender.in_flight))
            if kind == "deliver":
                receiver.state, plain = decrypt(
                    receiver.state, RatchetMessage.from_bytes(wire), AD, rng=rng
                )
                assert plain == text
                sender.delivered.append(wire)
        elif kind == "replay" and sender.delivered:
            wire = sender.delivered[pick % len(sender.delivered)]
            before = receiver.state.to_bytes()
            with pytest.raises(DuplicateMessage):
                decrypt(receiver.state, RatchetMessage.from_bytes(wire), AD, rng=rng)
            assert receiver.state.to_bytes() == before
        elif kind == "corrupt" and sender.in_flight:
            wire, _ = sender.in_flight[pick % len(sender.in_flight)]
            bit = pick % (len(wire) * 8)
            corrupted = bytearray(wire)
            corrupted[bit // 8] ^= 1 << (bit % 8)
            before = receiver.state.to_bytes()
            with pytest.raises((DecryptionError, MalformedData)):
                decrypt(receiver.state, RatchetMessage.from_bytes(bytes(corrupted)), AD, rng=rng)
            assert receiver.state.to_bytes() == before
    for party in parties:
        assert len(party.state.skipped) <= ratchet.MAX_SKIPPED_TOTAL


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_every_bit_flip_of_one_message_fails_cleanly(data: st.DataObject) -> None:
    rng = counter_rng(b"flip")
    bob_prekey = DHKeyPair.generate(rng=rng)
    secret = rng(32)
    alice = ratchet.initialise_sender(secret, bob_prekey.public, rng=rng)
    bob = ratchet.initialise_receiver(secret, bob_prekey)
    alice, first = encrypt(alice, b"first", AD)
    bob, _ = decrypt(bob, first, AD, rng=rng)
    alice, msg = encrypt(alice, b"a message worth forging", AD)
    wire = msg.to_bytes()
    bit = data.draw(st.integers(0, len(wire) * 8 - 1))
    corrupted = bytearray(wire)
    corrupted[bit // 8] ^= 1 << (bit % 8)
    before = bob.to_bytes()
    with pytest.raises((DecryptionError, MalformedData)):
        decrypt(bob, RatchetMessage.from_bytes(bytes(corrupted)), AD, rng=rng)
    assert bob.to_bytes() == before
    _, plain = decrypt(bob, RatchetMessage.from_bytes(wire), AD, rng=rng)
    assert plain == b"a message worth forging"


@settings(max_examples=30, deadline=None)
@given(
    ahead=st.integers(0, 3 * ratchet.MAX_SKIPPED_TOTAL)
    | st.integers(ratchet.MAX_SKIP - 40, ratchet.MAX_SKIP + 40)
)
def test_skip_bound_holds_for_any_gap(ahead: int) -> None:
    rng = counter_rng(b"gap")
    bob_prekey = DHKeyPair.generate(rng=rng)
    secret = rng(32)
    alice = ratchet.initialise_sender(secret, bob_prekey.public, rng=rng)
    bob = ratchet.initialise_receiver(secret, bob_prekey)
    alice = alice._replace(send_chain=_advance(alice.send_chain, ahead), send_n=ahead)
    _, msg = encrypt(alice, b"far ahead", AD)
    if ahead > ratchet.MAX_SKIP:
        with pytest.raises(TooManySkippedMessages):
            decrypt(bob, msg, AD, rng=rng)
    else:
        bob, plain = decrypt(bob, msg, AD, rng=rng)
        assert plain == b"far ahead"
        assert len(bob.skipped) == min(ahead, ratchet.MAX_SKIPPED_TOTAL)


def _advance(chain: bytes | None, steps: int) -> bytes:
    """Step a sending chain without encrypting, as if ``steps`` messages had been lost."""
    assert chain is not None
    for _ in range(steps):
        chain, _ = ratchet.kdf_chain(chain)
    return chain
