"""Differential tests against the independent PyPI implementation ``doubleratchet`` (1.x).

What is compared, and why only that:

* The KDF chains: ``doubleratchet``'s recommended HKDF root-chain KDF (salt = root key, ikm = DH
  output) and its separate-HMAC message-chain KDF (constants 0x02 then 0x01), configured with
  SHA-256 and Parley's info string, must give Parley's ``kdf_root`` and ``kdf_chain`` outputs.
* The whole DH ratchet: its ``DiffieHellmanRatchet`` (root chain, sending and receiving chains,
  DH step order, skipped keys, headers), driven with the same private keys, must produce the
  same message key and header for every message of a conversation, and the same skipped keys.

The reference is configured with the specification's literal constants (docs/protocol.md s4),
written here, never imported from the code under test: a constant changed in crypto/ratchet.py
then makes these tests fail instead of silently reconfiguring the reference to agree.

Delivery scripts cover in-order conversations, out-of-order delivery inside a chain and across
DH steps, and messages that never arrive (their keys stay skipped): every message key and every
set of stored skipped keys must match the reference's.

Not compared: the AEAD and the byte encodings. ``doubleratchet`` only ships AES-256-CBC + HMAC
(``aead_aes_hmac``) and leaves the header encoding to the application, while Parley uses
XChaCha20-Poly1305 over its own header format; nothing in those could match. The message keys
that feed the AEAD are compared instead (through the message-key hook, which sees exactly them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from doubleratchet.diffie_hellman_ratchet import DiffieHellmanRatchet
from doubleratchet.kdf_chain import KDFChain
from doubleratchet.recommended import HashFunction, kdf_hkdf, kdf_separate_hmacs
from doubleratchet.types import Header
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.bindings import crypto_scalarmult, crypto_scalarmult_base
from parley.crypto import ratchet
from parley.crypto.hooks import Parties
from parley.crypto.keys import DHKeyPair
from parley.crypto.ratchet import RatchetState

from tests.crypto.vectors_util import counter_rng

AD = bytes(64)
# The specification's constants (docs/protocol.md s4), pinned here on purpose.
SPEC_ROOT_INFO = b"Parley v1 ratchet root"
SPEC_MAX_SKIP = 25_000
# KDF_CK: next chain key = HMAC(ck, 0x02), message key = HMAC(ck, 0x01).
CHAIN_CONSTANT = b"\x02\x01"


class RootKdf(kdf_hkdf.KDF):
    @staticmethod
    def _get_hash_function() -> HashFunction:
        return HashFunction.SHA_256

    @staticmethod
    def _get_info() -> bytes:
        return SPEC_ROOT_INFO


class ChainKdf(kdf_separate_hmacs.KDF):
    @staticmethod
    def _get_hash_function() -> HashFunction:
        return HashFunction.SHA_256


def reference_ratchet_class(rng: Callable[[int], bytes]) -> type[DiffieHellmanRatchet]:
    """A ``DiffieHellmanRatchet`` over libsodium X25519 whose new keys come from ``rng``."""

    class Reference(DiffieHellmanRatchet):
        @staticmethod
        def _generate_priv() -> bytes:
            return rng(32)

        @staticmethod
        def _derive_pub(priv: bytes) -> bytes:
            return bytes(crypto_scalarmult_base(priv))

        @staticmethod
        def _perform_diffie_hellman(own_priv: bytes, other_pub: bytes) -> bytes:
            return bytes(crypto_scalarmult(own_priv, other_pub))

    return Reference


class KeyRecorder:
    """A message-key hook that records the key of every message sealed or checked."""

    def __init__(self) -> None:
        self.keys: list[bytes] = []

    def seal(self, message_key: bytes, header_bytes: bytes, parties: Parties) -> bytes:
        self.keys.append(message_key)
        return b""

    def check(
        self, message_key: bytes, header_bytes: bytes, parties: Parties, extension: bytes
    ) -> None:
        self.keys.append(message_key)


@settings(max_examples=40, deadline=None)
@given(root=st.binary(min_size=32, max_size=32), dh=st.binary(min_size=32, max_size=32))
async def test_root_kdf_matches(root: bytes, dh: bytes) -> None:
    chain = KDFChain.create(RootKdf, root)
    chain_key = await chain.step(dh, 32)
    assert ratchet.kdf_root(root, dh) == (chain.model.key, chain_key)


@settings(max_examples=40, deadline=None)
@given(key=st.binary(min_size=32, max_size=32), steps=st.integers(1, 12))
async def test_message_chain_kdf_matches(key: bytes, steps: int) -> None:
    chain = KDFChain.create(ChainKdf, key)
    ours = key
    for _ in range(steps):
        theirs = await chain.step(CHAIN_CONSTANT, 32)
        ours, message_key = ratchet.kdf_chain(ours)
        assert message_key == theirs
        assert chain.model.key == ours


async def _reference(
    rng: Callable[[int], bytes], own_priv: bytes | None, other_pub: bytes, root: bytes
) -> Any:
    return await reference_ratchet_class(rng).create(
        own_priv, other_pub, RootKdf, root, ChainKdf, CHAIN_CONSTANT, SPEC_MAX_SKIP
    )


# A conversation script: who sends next, and how many messages in a row.
SCRIPT = [("a", 3), ("b", 2), ("a", 1), ("a", 2), ("b", 4), ("a", 1), ("b", 1)]


async def test_whole_dh_ratchet_matches_message_for_message() -> None:
    # Every message delivered at once, in order: nothing is ever skipped.
    script: DeliveryScript = []
    sent = {"a": 0, "b": 0}
    for sender, count in SCRIPT:
        for _ in range(count):
            label = f"{sender}{sent[sender]}"
            sent[sender] += 1
            script += [("send", sender, label), ("deliver", label)]
    await _run_script(script)


async def test_skipped_keys_match_across_a_dh_step() -> None:
    setup = counter_rng(b"differential skipped")
    bob_prekey = DHKeyPair.generate(rng=setup)
    secret = setup(32)
    alice_rng, bob_rng = counter_rng(b"a"), counter_rng(b"b")
    alice = ratchet.initialise_sender(secret, bob_prekey.public, rng=alice_rng)
    bob = ratchet.initialise_receiver(secret, bob_prekey)
    reference_alice = await _reference(counter_rng(b"a"), None, bob_prekey.public, secret)
    messages = []
    for _ in range(4):
        alice, message = ratchet.encrypt(alice, b"m", AD)
        await reference_alice.next_encryption_key()
        messages.append(message)
    # Bob reads only the last one: three keys of Alice's first chain are skipped.
    bob, _ = ratchet.decrypt(bob, messages[3], AD, rng=bob_rng)
    reference_bob = await _reference(counter_rng(b"b"), bob_prekey.private, messages[0].dh, secret)
    _, skipped = await reference_bob.next_decryption_key(Header(messages[3].dh, 0, 3))
    assert dict(bob.skipped) == dict(skipped)
    # Bob replies; Alice's next chain loses its three messages; Bob replies again; Alice's third
    # chain then makes Bob skip the three lost keys of her second chain during his DH step.
    bob, reply = ratchet.encrypt(bob, b"r", AD)
    _, reply_header = await reference_bob.next_encryption_key()
    alice, _ = ratchet.decrypt(alice, reply, AD, rng=alice_rng)
    await reference_alice.next_decryption_key(reply_header)
    for _ in range(3):
        alice, _ = ratchet.encrypt(alice, b"lost", AD)
        await reference_alice.next_encryption_key()
    bob, reply = ratchet.encrypt(bob, b"r2", AD)
    _, reply_header = await reference_bob.next_encryption_key()
    alice, _ = ratchet.decrypt(alice, reply, AD, rng=alice_rng)
    await reference_alice.next_decryption_key(reply_header)
    alice, next_chain = ratchet.encrypt(alice, b"n", AD)
    await reference_alice.next_encryption_key()
    before = dict(bob.skipped)
    bob, _ = ratchet.decrypt(bob, next_chain, AD, rng=bob_rng)
    _, skipped = await reference_bob.next_decryption_key(
        Header(next_chain.dh, next_chain.pn, next_chain.n)
    )
    new_entries = {k: v for k, v in bob.skipped.items() if k not in before}
    assert new_entries == dict(skipped)
    assert len(new_entries) == 3


def test_the_code_uses_the_specified_skip_bound() -> None:
    # MAX_SKIP shapes no key, so the key comparisons cannot catch a change to it.
    assert ratchet.MAX_SKIP == SPEC_MAX_SKIP


# Delivery scripts: ("send", who, label) seals a message and keeps it in flight; ("deliver",
# label) hands it to the other party. Labels are "<sender><n>".
DeliveryScript = list[tuple[str, ...]]


def _sends(who: str, *numbers: int) -> DeliveryScript:
    return [("send", who, f"{who}{n}") for n in numbers]


def _delivers(who: str, *numbers: int) -> DeliveryScript:
    return [("deliver", f"{who}{n}") for n in numbers]


SCRIPTS: dict[str, DeliveryScript] = {
    "out of order in one chain": _sends("a", 0, 1, 2, 3, 4) + _delivers("a", 2, 0, 4, 1, 3),
    "late messages after DH steps": (
        _sends("a", 0, 1, 2)
        + _delivers("a", 1)
        + _sends("b", 0)
        + _delivers("b", 0)
        + _sends("a", 3, 4)
        + _delivers("a", 4)  # Bob's DH step: a0, a2 (skipped before) and a3 wait
        + _sends("b", 1, 2)
        + _delivers("b", 2, 1)
        + _delivers("a", 0, 3, 2)
    ),
    "lost messages stay skipped": (
        _sends("a", 0, 1, 2, 3, 4, 5)
        + _delivers("a", 5)
        + _sends("b", 0, 1)
        + _delivers("b", 1)
        + _sends("a", 6)
        + _delivers("a", 6)
        + _sends("b", 2)
        + _delivers("b", 2)  # a0..a4 and b0 never arrive
    ),
    "both directions interleaved": (
        _sends("a", 0)
        + _delivers("a", 0)
        + _sends("b", 0, 1)
        + _sends("a", 1, 2)
        + _delivers("b", 1)
        + _delivers("a", 2)
        + _delivers("b", 0)
        + _delivers("a", 1)
    ),
}


async def _run_script(script: DeliveryScript) -> None:
    setup = counter_rng(b"differential script")
    bob_prekey = DHKeyPair.generate(rng=setup)
    secret = setup(32)
    rngs = {"a": counter_rng(b"alice script"), "b": counter_rng(b"bob script")}
    mirrors = {"a": counter_rng(b"alice script"), "b": counter_rng(b"bob script")}
    ours: dict[str, RatchetState] = {
        "a": ratchet.initialise_sender(secret, bob_prekey.public, rng=rngs["a"]),
        "b": ratchet.initialise_receiver(secret, bob_prekey),
    }
    theirs: dict[str, Any] = {"a": await _reference(mirrors["a"], None, bob_prekey.public, secret)}
    # The reference hands skipped keys back to its caller, who keeps them: kept here per party.
    their_skipped: dict[str, dict[tuple[bytes, int], bytes]] = {"a": {}, "b": {}}
    in_flight: dict[str, tuple[str, ratchet.RatchetMessage, bytes]] = {}
    for step in script:
        if step[0] == "send":
            _, sender, label = step
            sealed = KeyRecorder()
            ours[sender], message = ratchet.encrypt(ours[sender], label.encode(), AD, sealed)
            their_key, their_header = await theirs[sender].next_encryption_key()
            assert sealed.keys == [their_key], label
            assert (message.dh, message.pn, message.n) == tuple(their_header), label
            in_flight[label] = (sender, message, their_key)
            continue
        label = step[1]
        sender, message, sent_key = in_flight.pop(label)
        receiver = "b" if sender == "a" else "a"
        checked = KeyRecorder()
        ours[receiver], plaintext = ratchet.decrypt(
            ours[receiver], message, AD, checked, rng=rngs[receiver]
        )
        assert plaintext == label.encode()
        kept = their_skipped[receiver].pop((message.dh, message.n), None)
        if kept is not None:  # delivered late: the reference's stored skipped key opens it
            their_key = kept
        else:
            if receiver not in theirs:
                theirs[receiver] = await _reference(
                    mirrors[receiver], bob_prekey.private, message.dh, secret
                )
            their_key, skipped = await theirs[receiver].next_decryption_key(
                Header(message.dh, message.pn, message.n)
            )
            their_skipped[receiver].update(skipped)
        assert checked.keys == [their_key] == [sent_key], label
        assert dict(ours[receiver].skipped) == their_skipped[receiver], label


@pytest.mark.parametrize("name", list(SCRIPTS))
async def test_delivery_scripts_match_the_reference(name: str) -> None:
    await _run_script(SCRIPTS[name])


@settings(max_examples=30, deadline=None)
@given(order=st.permutations(range(8)), lost=st.sets(st.integers(0, 7), max_size=4))
async def test_any_delivery_order_of_one_chain_matches(order: list[int], lost: set[int]) -> None:
    delivered = [n for n in order if n not in lost]
    await _run_script(_sends("a", *range(8)) + _delivers("a", *delivered))
