"""Attachment encryption: own key per picture, digest pinned, tampering refused."""

from __future__ import annotations

import pytest
from parley.crypto.attachment import (
    NONCE_LEN,
    decrypt_attachment,
    digest,
    encrypt_attachment,
)
from parley.crypto.errors import DecryptionError, MalformedData


def test_round_trip_with_a_fresh_key_each_time() -> None:
    first = encrypt_attachment(b"picture bytes")
    second = encrypt_attachment(b"picture bytes")
    assert first.key != second.key and first.ciphertext != second.ciphertext
    assert decrypt_attachment(first.key, first.digest, first.ciphertext) == b"picture bytes"
    assert first.digest == digest(first.ciphertext)
    assert "picture" not in repr(first) and first.key.hex() not in repr(first)


def test_every_flipped_bit_and_a_wrong_key_are_refused() -> None:
    sealed = encrypt_attachment(b"x" * 40)
    for index in range(len(sealed.ciphertext)):
        damaged = bytearray(sealed.ciphertext)
        damaged[index] ^= 0x01
        with pytest.raises(DecryptionError, match="digest"):
            decrypt_attachment(sealed.key, sealed.digest, bytes(damaged))
        # With a recomputed digest (an attacker who can also change it), the AEAD still refuses.
        with pytest.raises(DecryptionError, match="does not decrypt"):
            decrypt_attachment(sealed.key, digest(bytes(damaged)), bytes(damaged))
    with pytest.raises(DecryptionError):
        decrypt_attachment(bytes(32), sealed.digest, sealed.ciphertext)


def test_fixed_randomness_gives_fixed_bytes() -> None:
    counter = iter(range(256))

    def rng(n: int) -> bytes:
        return bytes([next(counter)]) * n

    sealed = encrypt_attachment(b"", rng)
    assert sealed.key == bytes(32) and sealed.ciphertext[:NONCE_LEN] == b"\x01" * NONCE_LEN
    assert len(sealed.ciphertext) == NONCE_LEN + 16


@pytest.mark.parametrize(
    ("key", "dig", "ct"),
    [(b"k", bytes(32), bytes(64)), (bytes(32), b"d", bytes(64)), (bytes(32), bytes(32), b"short")],
)
def test_malformed_inputs_are_refused(key: bytes, dig: bytes, ct: bytes) -> None:
    with pytest.raises(MalformedData):
        decrypt_attachment(key, dig, ct)
