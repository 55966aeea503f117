"""Safety numbers and QR payloads: symmetric, 60 digits, sensitive to every key, spec-exact."""

from __future__ import annotations

import hashlib

import pytest
from parley.crypto.errors import MalformedData
from parley.crypto.keys import IdentityKeyPair, IdentityPublicKey
from parley.crypto.safety import fingerprint, qr_payload, safety_number, verify_qr

from .vectors_util import check_golden, fixed_rng

ALICE = IdentityKeyPair.generate(fixed_rng(b"alice")).public
BOB = IdentityKeyPair.generate(fixed_rng(b"bob")).public
CAROL = IdentityKeyPair.generate(fixed_rng(b"carol")).public


def reference_half(key: IdentityPublicKey) -> str:
    """Signal's NumericFingerprint, written from the description with hashlib (not libsodium)."""
    raw = key.to_bytes()
    digest = b"\x00\x00" + raw + raw
    for _ in range(5200):
        digest = hashlib.sha512(digest + raw).digest()
    chunks = (int.from_bytes(digest[i : i + 5], "big") % 100000 for i in range(0, 30, 5))
    return "".join(f"{chunk:05d}" for chunk in chunks)


def test_sixty_digits_and_the_same_on_both_sides() -> None:
    number = safety_number(ALICE, BOB)
    assert len(number) == 60
    assert number.isdigit()
    assert number == safety_number(BOB, ALICE)


def test_matches_the_reference_construction() -> None:
    halves = sorted([reference_half(ALICE), reference_half(BOB)])
    assert safety_number(ALICE, BOB) == halves[0] + halves[1]


def test_changes_when_either_key_changes() -> None:
    number = safety_number(ALICE, BOB)
    assert safety_number(ALICE, CAROL) != number
    assert safety_number(CAROL, BOB) != number
    # Only the half of the key that changed moves.
    alice_half = reference_half(ALICE)
    assert alice_half in number and alice_half in safety_number(ALICE, CAROL)


def test_qr_payload_verifies_only_from_the_other_side() -> None:
    theirs = qr_payload(BOB, ALICE)  # what Bob's screen shows, scanned by Alice
    assert len(theirs) == 65
    assert theirs[0] == 1
    assert theirs[1:33] == fingerprint(BOB)[:32]
    assert verify_qr(ALICE, BOB, theirs)
    assert not verify_qr(ALICE, BOB, qr_payload(ALICE, BOB)), "our own code is not a match"
    assert not verify_qr(ALICE, BOB, qr_payload(CAROL, ALICE)), "a man in the middle's key"
    assert not verify_qr(ALICE, CAROL, theirs)


def test_every_bit_of_the_qr_fingerprints_matters() -> None:
    theirs = qr_payload(BOB, ALICE)
    for bit in range(8, len(theirs) * 8, 7):
        flipped = bytearray(theirs)
        flipped[bit // 8] ^= 1 << (bit % 8)
        assert not verify_qr(ALICE, BOB, bytes(flipped))


@pytest.mark.parametrize(
    "scanned",
    [b"", b"\x01", bytes(65), b"https://example.org/not-a-safety-code", b"\x01" + bytes(65)],
    ids=["empty", "version only", "version 0", "text", "extended"],
)
def test_garbage_qr_codes_are_refused_clearly(scanned: bytes) -> None:
    with pytest.raises(MalformedData):
        verify_qr(ALICE, BOB, scanned)


def test_golden_safety() -> None:
    alice = IdentityKeyPair.generate(fixed_rng(b"parley safety alice")).public
    bob = IdentityKeyPair.generate(fixed_rng(b"parley safety bob")).public
    check_golden(
        "safety.json",
        {
            "rng": "fixed_rng, see tests/crypto/vectors_util.py",
            "rng_seeds": ["parley safety alice", "parley safety bob"],
            "alice_identity": alice.to_bytes().hex(),
            "bob_identity": bob.to_bytes().hex(),
            "alice_fingerprint": fingerprint(alice).hex(),
            "bob_fingerprint": fingerprint(bob).hex(),
            "safety_number": safety_number(alice, bob),
            "qr_payload_shown_by_alice": qr_payload(alice, bob).hex(),
        },
    )
