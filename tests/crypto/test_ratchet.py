"""The Double Ratchet: conversations, skipped keys and bounds, duplicates, the hook, vectors."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from parley.crypto import ratchet
from parley.crypto.errors import (
    CryptoError,
    DecryptionError,
    DuplicateMessage,
    EnvelopeRejected,
    MalformedData,
    TooManySkippedMessages,
)
from parley.crypto.hooks import Parties
from parley.crypto.kdf import constant_time_equal, hkdf_expand, hmac_sha256
from parley.crypto.keys import DHKeyPair
from parley.crypto.ratchet import RatchetMessage, RatchetState, decrypt, encrypt

AD = bytes(range(64))
VECTORS = Path(__file__).parents[1] / "vectors" / "ratchet.json"


def fixed_rng(seed: bytes) -> Callable[[int], bytes]:
    """A deterministic random source (SHA-256 in counter mode) for reproducible tests."""
    counter = 0

    def rng(n: int) -> bytes:
        nonlocal counter
        out = b""
        while len(out) < n:
            out += hashlib.sha256(seed + counter.to_bytes(8, "big")).digest()
            counter += 1
        return out[:n]

    return rng


def make_pair(seed: bytes = b"pair") -> tuple[RatchetState, RatchetState, Callable[[int], bytes]]:
    """Alice (initiator, can send at once) and Bob (responder) sharing a fixed X3DH secret."""
    rng = fixed_rng(seed)
    bob_prekey = DHKeyPair.generate(rng=rng)
    secret = rng(32)
    alice = ratchet.initialise_sender(secret, bob_prekey.public, rng=rng)
    bob = ratchet.initialise_receiver(secret, bob_prekey)
    return alice, bob, rng


class MacHook:
    """A small real hook: the extension is an HMAC of the header under the message key."""

    def __init__(self) -> None:
        self.sealed: list[bytes] = []
        self.checked: list[bytes] = []

    def seal(self, message_key: bytes, header_bytes: bytes, parties: Parties) -> bytes:
        self.sealed.append(message_key)
        return hmac_sha256(message_key, b"envelope" + header_bytes)

    def check(
        self, message_key: bytes, header_bytes: bytes, parties: Parties, extension: bytes
    ) -> None:
        expected = hmac_sha256(message_key, b"envelope" + header_bytes)
        if not constant_time_equal(expected, extension):
            raise EnvelopeRejected("The message's envelope does not match its key.")
        self.checked.append(message_key)


class RefusingHook(MacHook):
    def check(
        self, message_key: bytes, header_bytes: bytes, parties: Parties, extension: bytes
    ) -> None:
        raise EnvelopeRejected("refused by policy")


def test_conversation_both_ways() -> None:
    alice, bob, rng = make_pair()
    for turn in range(4):
        for i in range(3):
            alice, msg = encrypt(alice, f"a{turn}.{i}".encode(), AD)
            bob, text = decrypt(bob, RatchetMessage.from_bytes(msg.to_bytes()), AD, rng=rng)
            assert text == f"a{turn}.{i}".encode()
        for i in range(2):
            bob, msg = encrypt(bob, f"b{turn}.{i}".encode(), AD)
            alice, text = decrypt(alice, msg, AD, rng=rng)
            assert text == f"b{turn}.{i}".encode()
    # Alice's reply-triggered DH step started a fresh sending chain, remembering the old length.
    assert (alice.send_n, alice.prev_send_n, bob.recv_n) == (0, 3, 3)


def test_each_message_uses_a_fresh_ratchet_key_per_turn() -> None:
    alice, bob, rng = make_pair()
    alice, first = encrypt(alice, b"1", AD)
    bob, _ = decrypt(bob, first, AD, rng=rng)
    bob, reply = encrypt(bob, b"2", AD)
    alice, _ = decrypt(alice, reply, AD, rng=rng)
    alice, second = encrypt(alice, b"3", AD)
    assert len({first.dh, reply.dh, second.dh}) == 3
    assert second.pn == 1 and second.n == 0


def test_out_of_order_within_a_chain_and_across_a_dh_step() -> None:
    alice, bob, rng = make_pair()
    sent = []
    for i in range(5):
        alice, msg = encrypt(alice, bytes([i]), AD)
        sent.append(msg)
    bob, text = decrypt(bob, sent[4], AD, rng=rng)
    assert text == b"\x04" and len(bob.skipped) == 4
    bob, reply = encrypt(bob, b"r", AD)
    alice, _ = decrypt(alice, reply, AD, rng=rng)
    alice, new_chain = encrypt(alice, b"new", AD)
    bob, text = decrypt(bob, new_chain, AD, rng=rng)
    assert text == b"new"
    for i in (2, 0, 3, 1):
        bob, text = decrypt(bob, sent[i], AD, rng=rng)
        assert text == bytes([i])
    assert len(bob.skipped) == 0


def test_skipped_keys_of_the_previous_chain_are_stored_at_a_dh_step() -> None:
    alice, bob, rng = make_pair()
    alice, m0 = encrypt(alice, b"0", AD)
    bob, _ = decrypt(bob, m0, AD, rng=rng)
    alice, lost = encrypt(alice, b"late", AD)
    bob, reply = encrypt(bob, b"r", AD)
    alice, _ = decrypt(alice, reply, AD, rng=rng)
    alice, next_turn = encrypt(alice, b"next", AD)
    assert next_turn.pn == 2
    bob, _ = decrypt(bob, next_turn, AD, rng=rng)
    assert len(bob.skipped) == 1
    bob, text = decrypt(bob, lost, AD, rng=rng)
    assert text == b"late"


@pytest.mark.parametrize("when", ["current chain", "skipped then used", "previous chain"])
def test_duplicates_are_rejected_and_leave_the_state_alone(when: str) -> None:
    alice, bob, rng = make_pair()
    alice, m0 = encrypt(alice, b"0", AD)
    alice, m1 = encrypt(alice, b"1", AD)
    if when == "current chain":
        bob, _ = decrypt(bob, m0, AD, rng=rng)
        replay = m0
    elif when == "skipped then used":
        bob, _ = decrypt(bob, m1, AD, rng=rng)
        bob, _ = decrypt(bob, m0, AD, rng=rng)
        replay = m0
    else:
        bob, _ = decrypt(bob, m0, AD, rng=rng)
        bob, _ = decrypt(bob, m1, AD, rng=rng)
        bob, reply = encrypt(bob, b"r", AD)
        alice, _ = decrypt(alice, reply, AD, rng=rng)
        alice, m2 = encrypt(alice, b"2", AD)
        bob, _ = decrypt(bob, m2, AD, rng=rng)
        replay = m1
    before = bob.to_bytes()
    with pytest.raises(DuplicateMessage, match="already received"):
        decrypt(bob, replay, AD, rng=rng)
    assert bob.to_bytes() == before


def _lost(state: RatchetState, count: int) -> RatchetState:
    """The sender after ``count`` messages that never arrived (its chain stepped, nothing kept)."""
    chain = state.send_chain
    assert chain is not None
    for _ in range(count):
        chain, _ = ratchet.kdf_chain(chain)
    return state._replace(send_chain=chain, send_n=state.send_n + count)


def test_per_chain_bound_refuses_and_leaves_the_state_alone() -> None:
    alice, bob, rng = make_pair()
    _, too_far = encrypt(_lost(alice, ratchet.MAX_SKIP + 1), b"too far", AD)
    assert too_far.n == ratchet.MAX_SKIP + 1 == 25_001
    before = bob.to_bytes()
    with pytest.raises(TooManySkippedMessages, match="at most 25000"):
        decrypt(bob, too_far, AD, rng=rng)
    assert bob.to_bytes() == before
    _, at_bound = encrypt(_lost(alice, ratchet.MAX_SKIP), b"at bound", AD)
    bob_at_bound, text = decrypt(bob, at_bound, AD, rng=rng)
    assert text == b"at bound" and bob_at_bound.recv_n == ratchet.MAX_SKIP + 1
    # Only the newest MAX_SKIPPED_TOTAL keys of the jump are kept (bounded storage).
    assert len(bob_at_bound.skipped) == ratchet.MAX_SKIPPED_TOTAL
    assert min(n for _, n in bob_at_bound.skipped) == ratchet.MAX_SKIP - ratchet.MAX_SKIPPED_TOTAL


def test_a_long_jump_keeps_the_newest_keys_and_refuses_the_older_ones_as_too_late() -> None:
    alice, bob, rng = make_pair()
    sent = []
    for n in range(3000):
        alice, message = encrypt(alice, n.to_bytes(2, "big"), AD)
        sent.append(message)
    alice, last = encrypt(alice, b"last", AD)
    bob, text = decrypt(bob, last, AD, rng=rng)
    assert text == b"last" and len(bob.skipped) == ratchet.MAX_SKIPPED_TOTAL
    # The 2,000 newest lost messages still decrypt when they turn up; older ones are gone.
    _, text = decrypt(bob, sent[1000], AD, rng=rng)
    assert text == (1000).to_bytes(2, "big")
    _, text = decrypt(bob, sent[-1], AD, rng=rng)
    assert text == (2999).to_bytes(2, "big")
    with pytest.raises(DuplicateMessage, match="too late"):
        decrypt(bob, sent[999], AD, rng=rng)


def test_previous_chain_bound_uses_pn() -> None:
    alice, bob, rng = make_pair()
    alice, m0 = encrypt(alice, b"0", AD)
    bob, _ = decrypt(bob, m0, AD, rng=rng)
    bob, reply = encrypt(bob, b"r", AD)
    alice, _ = decrypt(alice, reply, AD, rng=rng)
    forged_pn = alice._replace(prev_send_n=ratchet.MAX_SKIP + 2)  # lost 25,001 of the last chain
    _, msg = encrypt(forged_pn, b"claims a long previous chain", AD)
    before = bob.to_bytes()
    with pytest.raises(TooManySkippedMessages):
        decrypt(bob, msg, AD, rng=rng)
    assert bob.to_bytes() == before


def test_total_bound_evicts_the_oldest_skipped_keys() -> None:
    alice, bob, rng = make_pair()
    first_chain: list[RatchetMessage] = []
    total = 0
    while total <= ratchet.MAX_SKIPPED_TOTAL:
        chain = []
        for _ in range(1000):  # chains of 1,000 lost messages, over several DH steps
            alice, msg = encrypt(alice, b"skipped", AD)
            chain.append(msg)
        alice, last = encrypt(alice, b"last", AD)
        bob, _ = decrypt(bob, last, AD, rng=rng)
        total += 1000
        first_chain = first_chain or chain
        bob, reply = encrypt(bob, b"r", AD)
        alice, _ = decrypt(alice, reply, AD, rng=rng)
    assert len(bob.skipped) == ratchet.MAX_SKIPPED_TOTAL
    with pytest.raises(DuplicateMessage, match="too late"):
        decrypt(bob, first_chain[0], AD, rng=rng)
    _, text = decrypt(bob, chain[-1], AD, rng=rng)
    assert text == b"skipped"


def test_responder_cannot_send_before_receiving() -> None:
    _, bob, _ = make_pair()
    with pytest.raises(CryptoError, match="cannot send yet"):
        encrypt(bob, b"hello", AD)


def test_wrong_associated_data_fails_cleanly() -> None:
    alice, bob, rng = make_pair()
    _, msg = encrypt(alice, b"hello", AD)
    with pytest.raises(DecryptionError, match="could not be authenticated"):
        decrypt(bob, msg, AD[::-1], rng=rng)


def test_small_order_ratchet_key_is_refused() -> None:
    alice, bob, rng = make_pair()
    _, msg = encrypt(alice, b"hello", AD)
    with pytest.raises(DecryptionError, match="unusable ratchet key"):
        decrypt(bob, msg._replace(dh=bytes(32)), AD, rng=rng)


def test_hook_sees_the_same_key_on_both_sides_and_the_extension_travels() -> None:
    alice, bob, rng = make_pair()
    sender, receiver = MacHook(), MacHook()
    alice, msg = encrypt(alice, b"with envelope", AD, hook=sender)
    assert len(msg.extension) == 32
    wire = RatchetMessage.from_bytes(msg.to_bytes())
    bob, text = decrypt(bob, wire, AD, hook=receiver, rng=rng)
    assert text == b"with envelope"
    assert sender.sealed == receiver.checked


@pytest.mark.parametrize("change", ["strip", "alter", "swap for a valid-looking one"])
def test_tampered_extension_is_caught_and_leaves_the_state_alone(change: str) -> None:
    alice, bob, rng = make_pair()
    _, msg = encrypt(alice, b"with envelope", AD, hook=MacHook())
    if change == "strip":
        tampered = msg._replace(extension=b"")
    elif change == "alter":
        tampered = msg._replace(extension=bytes([msg.extension[0] ^ 1]) + msg.extension[1:])
    else:
        tampered = msg._replace(extension=hmac_sha256(bytes(32), msg.header_bytes()))
    before = bob.to_bytes()
    with pytest.raises(DecryptionError):
        decrypt(bob, tampered, AD, hook=MacHook(), rng=rng)
    assert bob.to_bytes() == before


def test_hook_rejection_leaves_the_state_alone() -> None:
    alice, bob, rng = make_pair()
    _, msg = encrypt(alice, b"refused", AD, hook=MacHook())
    before = bob.to_bytes()
    with pytest.raises(EnvelopeRejected, match="refused by policy"):
        decrypt(bob, msg, AD, hook=RefusingHook(), rng=rng)
    assert bob.to_bytes() == before
    _, text = decrypt(bob, msg, AD, hook=MacHook(), rng=rng)
    assert text == b"refused"


def test_hook_without_extension_is_rejected_by_a_checking_receiver() -> None:
    alice, bob, rng = make_pair()
    _, plain = encrypt(alice, b"no envelope", AD)
    with pytest.raises(EnvelopeRejected):
        decrypt(bob, plain, AD, hook=MacHook(), rng=rng)


def test_overlong_extension_is_refused_by_the_sender() -> None:
    class Greedy(MacHook):
        def seal(self, message_key: bytes, header_bytes: bytes, parties: Parties) -> bytes:
            return bytes(0x10000)

    alice, _, _ = make_pair()
    with pytest.raises(CryptoError, match="65535"):
        encrypt(alice, b"x", AD, hook=Greedy())


def test_chain_kdf_matches_the_plain_hmac_definition() -> None:
    for seed in range(20):
        chain_key = hashlib.sha256(bytes([seed])).digest()
        assert ratchet.kdf_chain(chain_key) == (
            hmac_sha256(chain_key, b"\x02"),
            hmac_sha256(chain_key, b"\x01"),
        )
        okm = hkdf_expand(chain_key, ratchet.MESSAGE_INFO, 56)
        assert ratchet.message_cipher_key(chain_key) == (okm[:32], okm[32:])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "too short"),
        (bytes(40 + 2 + 15), "too short"),
        (bytes(40) + b"\x00\x05" + bytes(20), "extension length"),
        (bytes(40) + b"\xff\xff" + bytes(100), "extension length"),
        ("not bytes", "bytes"),
    ],
)
def test_malformed_messages_are_refused(data: bytes, reason: str) -> None:
    with pytest.raises(MalformedData, match=reason):
        RatchetMessage.from_bytes(data)


def test_reprs_hide_key_material() -> None:
    alice, bob, rng = make_pair()
    alice, msg = encrypt(alice, b"x", AD)
    bob, _ = decrypt(bob, msg, AD, rng=rng)
    for state in (alice, bob):
        text = repr(state)
        assert state.root_key.hex() not in text
        assert state.dh_self.private.hex() not in text
        assert "send_n" in text


def golden_conversation() -> dict[str, object]:
    """A fixed-randomness conversation: every message and the final states, as hex."""
    alice, bob, rng = make_pair(b"golden vector")
    messages: list[str] = []
    for sender, text in [("a", b"hello"), ("a", b"again"), ("b", b"reply"), ("a", b"bye")]:
        if sender == "a":
            alice, msg = encrypt(alice, text, AD)
            bob, _ = decrypt(bob, msg, AD, rng=rng)
        else:
            bob, msg = encrypt(bob, text, AD)
            alice, _ = decrypt(alice, msg, AD, rng=rng)
        messages.append(msg.to_bytes().hex())
    return {
        "seed": b"golden vector".hex(),
        "ad": AD.hex(),
        "messages": messages,
        "alice_state": alice.to_bytes().hex(),
        "bob_state": bob.to_bytes().hex(),
    }


def test_golden_vector() -> None:
    expected = json.loads(VECTORS.read_text())
    assert golden_conversation() == expected


def test_golden_messages_decrypt_for_a_fresh_receiver() -> None:
    expected = json.loads(VECTORS.read_text())
    _, state, rng = make_pair(bytes.fromhex(expected["seed"]))
    for hex_msg, text in zip(expected["messages"][:2], [b"hello", b"again"], strict=True):
        message = RatchetMessage.from_bytes(bytes.fromhex(hex_msg))
        state, plain = decrypt(state, message, AD, rng=rng)
        assert plain == text


if __name__ == "__main__":
    # Regenerate with: python tests/crypto/test_ratchet.py > tests/vectors/ratchet.json
    json.dump(golden_conversation(), sys.stdout, indent=2)
    sys.stdout.write("\n")
