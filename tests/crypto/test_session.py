"""Sessions: X3DH plus the ratchet, the initial-message rule, the wire format, stored sessions."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from parley.crypto.errors import (
    DecryptionError,
    DuplicateMessage,
    EnvelopeRejected,
    InvalidSignature,
    MalformedData,
    PreKeyMismatch,
)
from parley.crypto.hooks import Parties
from parley.crypto.kdf import constant_time_equal, hmac_sha256
from parley.crypto.keys import IdentityKeyPair
from parley.crypto.prekeys import (
    OneTimePreKey,
    PreKeyBundle,
    SignedPreKey,
    SignedPreKeyPublic,
    generate_one_time_prekeys,
)
from parley.crypto.session import Session, accept_session, initiate_session, peek_initial

from tests.crypto.vectors_util import counter_rng

VECTORS = Path(__file__).parents[1] / "vectors" / "session.json"
NOW = 1_790_000_000


@dataclass
class Bob:
    identity: IdentityKeyPair
    signed_prekey: SignedPreKey
    one_time: OneTimePreKey

    def bundle(self, with_one_time: bool = True) -> PreKeyBundle:
        return PreKeyBundle(
            identity_key=self.identity.public,
            signed_prekey=self.signed_prekey.public(),
            one_time_prekey=self.one_time.public() if with_one_time else None,
        )


def parties(seed: bytes = b"session") -> tuple[IdentityKeyPair, Bob, Callable[[int], bytes]]:
    rng = counter_rng(seed)
    alice = IdentityKeyPair.generate(rng)
    bob_identity = IdentityKeyPair.generate(rng)
    bob = Bob(
        bob_identity,
        SignedPreKey.generate(bob_identity, 7, NOW, rng),
        generate_one_time_prekeys(100, 1, rng)[0],
    )
    return alice, bob, rng


def start(
    with_one_time: bool = True,
) -> tuple[Session, Session, Bob, Callable[[int], bytes]]:
    """Alice opens a session, Bob accepts her first message; both sessions returned."""
    alice_id, bob, rng = parties()
    alice = initiate_session(alice_id, bob.bundle(with_one_time), rng=rng)
    alice, first = alice.encrypt(b"hello Bob")
    one_time = bob.one_time if with_one_time else None
    bob_session, plain = accept_session(bob.identity, bob.signed_prekey, one_time, first, rng=rng)
    assert plain == b"hello Bob"
    return alice, bob_session, bob, rng


@pytest.mark.parametrize("with_one_time", [True, False])
def test_session_both_ways(with_one_time: bool) -> None:
    alice, bob, bob_keys, rng = start(with_one_time)
    assert alice.remote_identity == bob_keys.identity.public
    assert bob.associated_data == alice.associated_data  # IK_A || IK_B on both sides
    assert bob.associated_data[:32] == bob.remote_identity.to_bytes()
    for i in range(3):
        bob, wire = bob.encrypt(f"reply {i}".encode())
        alice, plain = alice.decrypt(wire, rng=rng)
        assert plain == f"reply {i}".encode()
        alice, wire = alice.encrypt(f"again {i}".encode())
        bob, plain = bob.decrypt(wire, rng=rng)
        assert plain == f"again {i}".encode()


def test_initiator_sends_initial_messages_until_the_first_reply() -> None:
    alice_id, bob, rng = parties()
    alice = initiate_session(alice_id, bob.bundle(), rng=rng)
    alice, first = alice.encrypt(b"1")
    alice, second = alice.encrypt(b"2")
    for wire in (first, second):
        header = peek_initial(wire)
        assert header is not None
        assert header.signed_prekey_id == 7 and header.one_time_prekey_id == 100
        assert header.identity_key == alice_id.public
    bob_session, _ = accept_session(bob.identity, bob.signed_prekey, bob.one_time, second, rng=rng)
    bob_session, plain = bob_session.decrypt(first, rng=rng)  # a late initial message
    assert plain == b"1"
    bob_session, reply = bob_session.encrypt(b"got them")
    assert peek_initial(reply) is None
    alice, _ = alice.decrypt(reply, rng=rng)
    assert alice.pending_header is None
    alice, third = alice.encrypt(b"3")
    assert peek_initial(third) is None
    _, plain = bob_session.decrypt(third, rng=rng)
    assert plain == b"3"


def test_bad_bundle_signature_is_refused() -> None:
    alice_id, bob, rng = parties()
    bundle = bob.bundle()
    spk = bundle.signed_prekey
    forged = SignedPreKeyPublic(
        id=spk.id, public=spk.public, signature=bytes(64), created_at=spk.created_at
    )
    with pytest.raises(InvalidSignature):
        initiate_session(
            alice_id,
            PreKeyBundle(bundle.identity_key, forged, bundle.one_time_prekey),
            rng=rng,
        )


def test_wrong_prekeys_are_refused() -> None:
    alice_id, bob, rng = parties()
    _, first = initiate_session(alice_id, bob.bundle(), rng=rng).encrypt(b"x")
    with pytest.raises(PreKeyMismatch):
        accept_session(bob.identity, bob.signed_prekey, None, first, rng=rng)


def test_accepting_a_normal_message_is_refused() -> None:
    alice, bob, original, rng = start()
    bob, reply = bob.encrypt(b"r")
    alice, _ = alice.decrypt(reply, rng=rng)
    _, normal = alice.encrypt(b"normal")
    with pytest.raises(MalformedData, match="no X3DH header"):
        accept_session(original.identity, original.signed_prekey, None, normal, rng=rng)


def test_duplicate_initial_message_is_a_duplicate() -> None:
    alice_id, bob, rng = parties()
    _, first = initiate_session(alice_id, bob.bundle(), rng=rng).encrypt(b"x")
    session, _ = accept_session(bob.identity, bob.signed_prekey, bob.one_time, first, rng=rng)
    with pytest.raises(DuplicateMessage):
        session.decrypt(first, rng=rng)


def test_initial_message_from_someone_else_is_refused() -> None:
    _, bob_session, bob, rng = start()
    mallory = IdentityKeyPair.generate(rng)
    _, other = initiate_session(mallory, bob.bundle(), rng=rng).encrypt(b"hi")
    before = bob_session.to_bytes()
    with pytest.raises(DecryptionError, match="someone else"):
        bob_session.decrypt(other, rng=rng)
    assert bob_session.to_bytes() == before


def test_every_bit_flip_of_a_wire_message_fails_cleanly() -> None:
    alice, bob, _, rng = start()
    alice, wire = alice.encrypt(b"flip me")
    before = bob.to_bytes()
    for bit in range(0, len(wire) * 8, 3):
        corrupted = bytearray(wire)
        corrupted[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises((DecryptionError, MalformedData)):
            bob.decrypt(bytes(corrupted), rng=rng)
    assert bob.to_bytes() == before
    _, plain = bob.decrypt(wire, rng=rng)
    assert plain == b"flip me"


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        (b"", "too short"),
        (b"\x02\x02" + bytes(60), "version 2"),
        (b"\x01\x09" + bytes(60), "type 9"),
        (b"\x01\x01" + bytes(10), "X3DH header"),
        (b"\x01\x02" + bytes(20), "too short"),
    ],
)
def test_malformed_wire_messages_are_refused(wire: bytes, reason: str) -> None:
    with pytest.raises(MalformedData, match=reason):
        peek_initial(wire)


class EnvelopeHook:
    def seal(self, message_key: bytes, header_bytes: bytes, parties: Parties) -> bytes:
        return hmac_sha256(message_key, header_bytes)

    def check(
        self, message_key: bytes, header_bytes: bytes, parties: Parties, extension: bytes
    ) -> None:
        if not constant_time_equal(hmac_sha256(message_key, header_bytes), extension):
            raise EnvelopeRejected("No valid envelope on this message.")


def test_hook_through_sessions() -> None:
    alice_id, bob, rng = parties()
    hook = EnvelopeHook()
    alice = initiate_session(alice_id, bob.bundle(), rng=rng)
    alice, first = alice.encrypt(b"sealed", hook)
    bob_session, plain = accept_session(
        bob.identity, bob.signed_prekey, bob.one_time, first, hook, rng=rng
    )
    assert plain == b"sealed"
    bob_session, unsealed = bob_session.encrypt(b"no envelope")
    before = alice.to_bytes()
    with pytest.raises(EnvelopeRejected):
        alice.decrypt(unsealed, hook, rng=rng)
    assert alice.to_bytes() == before


def test_stored_session_round_trip_mid_conversation() -> None:
    alice, bob, _, rng = start()
    alice, pending = alice.encrypt(b"still initial")
    assert Session.from_bytes(alice.to_bytes()) == alice
    alice = Session.from_bytes(alice.to_bytes())
    bob = Session.from_bytes(bob.to_bytes())
    bob, plain = bob.decrypt(pending, rng=rng)
    assert plain == b"still initial"
    bob, reply = bob.encrypt(b"after restart")
    alice, plain = Session.from_bytes(alice.to_bytes()).decrypt(reply, rng=rng)
    assert plain == b"after restart"
    assert Session.from_bytes(alice.to_bytes()) == alice


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda b: b"", "truncated"),
        (lambda b: b"\x07" + b[1:], "version 7"),
        (lambda b: b[:1] + b"\x04" + b[2:], "unknown flags"),
        (lambda b: b[:2] + bytes(32) + b[34:], "unusable key"),
        (lambda b: b[:34] + bytes(64) + b[98:], "does not name"),
        (lambda b: b[:120], "ratchet state"),
        (lambda b: b + b"\x00", "trailing"),
    ],
)
def test_malformed_stored_session_is_refused(mutate: Callable[[bytes], bytes], reason: str) -> None:
    _, bob, _, _ = start()
    with pytest.raises(MalformedData, match=reason):
        Session.from_bytes(mutate(bob.to_bytes()))


def golden_session() -> dict[str, object]:
    alice_id, bob, rng = parties(b"session golden vector")
    alice = initiate_session(alice_id, bob.bundle(), rng=rng)
    alice, first = alice.encrypt(b"hello")
    bob_session, _ = accept_session(bob.identity, bob.signed_prekey, bob.one_time, first, rng=rng)
    bob_session, reply = bob_session.encrypt(b"hi Alice")
    alice, _ = alice.decrypt(reply, rng=rng)
    alice, second = alice.encrypt(b"bye")
    return {
        "seed": b"session golden vector".hex(),
        "messages": [first.hex(), reply.hex(), second.hex()],
        "alice_session": alice.to_bytes().hex(),
        "bob_session": bob_session.to_bytes().hex(),
    }


def test_golden_vector() -> None:
    assert golden_session() == json.loads(VECTORS.read_text())


if __name__ == "__main__":
    # Regenerate with: python tests/crypto/test_session.py > tests/vectors/session.json
    json.dump(golden_session(), sys.stdout, indent=2)
    sys.stdout.write("\n")
