"""Safety numbers: what two people compare, aloud or by QR code, to rule out a man in the middle.

This follows Signal's NumericFingerprint (libsignal ``NumericFingerprintGenerator``, version 0):
each side's fingerprint is SHA-512 iterated 5200 times over the identity key, the first 30 bytes
become six 5-digit groups, and the two 30-digit halves are ordered so both people see the same 60
digits. Signal binds a "stable identifier" (the phone number) into the hash; Parley has no phone
numbers and an account *is* its identity key, so the key itself is the stable identifier. The
iterations make a second key with a colliding half (a brute-force impersonation) 5200 times
costlier to search for.

The QR code carries the two 32-byte fingerprints rather than the digits, so that scanning compares
256-bit values instead of 100-bit ones, as Signal's ScannableFingerprint does.
"""

from __future__ import annotations

from nacl.bindings import crypto_hash_sha512
from parley.crypto.encoding import Reader, u8
from parley.crypto.kdf import constant_time_equal
from parley.crypto.keys import IdentityPublicKey

FINGERPRINT_VERSION = b"\x00\x00"
"""Signal's 2-byte fingerprint version 0, the first bytes hashed."""

ITERATIONS = 5200
"""SHA-512 iterations per fingerprint, as in Signal."""

QR_VERSION = 1
"""The version byte that starts a QR payload."""

QR_FINGERPRINT_LEN = 32
"""Bytes of each fingerprint carried in the QR payload (the first 32 of the SHA-512 output)."""

QR_PAYLOAD_LEN = 1 + 2 * QR_FINGERPRINT_LEN
"""version || fingerprint of the scanned person's key || fingerprint of the other key = 65 bytes."""

DIGITS = 60
"""Length of a safety number."""


def fingerprint(identity: IdentityPublicKey) -> bytes:
    """The 64-byte iterated hash of one identity.

    ``h = version || key || key``; then 5200 times ``h = SHA-512(h || key)``. The second ``key`` of
    the seed is Signal's stable identifier (see the module docstring).
    """
    key = identity.to_bytes()
    digest = FINGERPRINT_VERSION + key + key
    for _ in range(ITERATIONS):
        digest = crypto_hash_sha512(digest + key)
    return digest


def _digits(digest: bytes) -> str:
    """Six 5-digit groups: each 5-byte chunk of the first 30 bytes, big-endian, mod 100000."""
    return "".join(
        f"{int.from_bytes(digest[i : i + 5], 'big') % 100_000:05d}" for i in range(0, 30, 5)
    )


def safety_number(local_identity: IdentityPublicKey, remote_identity: IdentityPublicKey) -> str:
    """The 60-digit safety number of a conversation, the same string on both sides.

    The two 30-digit halves are sorted (as strings) so the order does not depend on who asks.
    Display it in twelve groups of five digits.
    """
    halves = sorted((_digits(fingerprint(local_identity)), _digits(fingerprint(remote_identity))))
    return "".join(halves)


def qr_payload(local: IdentityPublicKey, remote: IdentityPublicKey) -> bytes:
    """The 65 bytes our QR code shows: version || our fingerprint[:32] || theirs[:32]."""
    return (
        u8(QR_VERSION)
        + fingerprint(local)[:QR_FINGERPRINT_LEN]
        + fingerprint(remote)[:QR_FINGERPRINT_LEN]
    )


def verify_qr(local: IdentityPublicKey, remote: IdentityPublicKey, scanned: bytes) -> bool:
    """Whether a scanned QR payload shows the same two keys as ours, seen from the other side.

    The other person's code lists their key first, so it must equal ours with the halves swapped.
    The comparison is constant-time over the whole 64 bytes.

    Raises:
        MalformedData: ``scanned`` is not a Parley safety code of a version this client reads (so
            the interface can say "not a safety code" rather than "keys differ").
    """
    reader = Reader(scanned, "a safety number QR code")
    reader.version(QR_VERSION)
    theirs = reader.take(2 * QR_FINGERPRINT_LEN)
    reader.finish()
    expected = fingerprint(remote)[:QR_FINGERPRINT_LEN] + fingerprint(local)[:QR_FINGERPRINT_LEN]
    return constant_time_equal(theirs, expected)
