"""Attachment encryption: every picture under its own random key (pure, no I/O).

The sender encrypts the picture with a fresh 32-byte key using XChaCha20-Poly1305 (IETF) with a
random 24-byte nonce, and sends key and digest inside the end-to-end encrypted message; the
ciphertext is what gets stored. Why a separate key when the message is already encrypted: the
picture stays encrypted at rest under a key that is independent of the ratchet (as Signal's
attachments are), and the same ciphertext could later be uploaded elsewhere without re-encryption.
The digest (BLAKE2b-256 of the ciphertext) pins the exact bytes, so a swapped blob is refused
before any decryption is attempted.

Layout: ``nonce (24) || XChaCha20-Poly1305(key, nonce, plaintext, ad="Parley attachment v1")``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import nacl.bindings
import nacl.exceptions
import nacl.utils
from parley.crypto.errors import DecryptionError, MalformedData

KEY_LEN = 32
DIGEST_LEN = 32
NONCE_LEN = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
TAG_LEN = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_ABYTES
AD = b"Parley attachment v1"

Rng = Callable[[int], bytes]


@dataclass(frozen=True)
class EncryptedAttachment:
    """The key to send end-to-end, the digest to check, and the ciphertext to carry and store."""

    key: bytes = field(repr=False)
    digest: bytes
    ciphertext: bytes = field(repr=False)


def digest(ciphertext: bytes) -> bytes:
    """BLAKE2b-256 of the ciphertext."""
    return nacl.bindings.crypto_generichash_blake2b_salt_personal(
        ciphertext, digest_size=DIGEST_LEN
    )


def encrypt_attachment(plaintext: bytes, rng: Rng = nacl.utils.random) -> EncryptedAttachment:
    """Encrypt ``plaintext`` under a fresh random key."""
    key = rng(KEY_LEN)
    nonce = rng(NONCE_LEN)
    if len(key) != KEY_LEN or len(nonce) != NONCE_LEN:
        raise MalformedData("The random source returned the wrong number of bytes.")
    sealed = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, AD, nonce, key)
    ciphertext = nonce + sealed
    return EncryptedAttachment(key, digest(ciphertext), ciphertext)


def decrypt_attachment(key: bytes, expected_digest: bytes, ciphertext: bytes) -> bytes:
    """Check the digest (constant time), then decrypt.

    Raises:
        MalformedData: a key or digest of the wrong size, or a ciphertext too short.
        DecryptionError: the digest does not match or the ciphertext does not authenticate.
    """
    if not isinstance(key, bytes) or len(key) != KEY_LEN:
        raise MalformedData("An attachment key must be 32 bytes.")
    if not isinstance(expected_digest, bytes) or len(expected_digest) != DIGEST_LEN:
        raise MalformedData("An attachment digest must be 32 bytes.")
    if not isinstance(ciphertext, bytes) or len(ciphertext) < NONCE_LEN + TAG_LEN:
        raise MalformedData("The attachment is too short to be an encrypted attachment.")
    if not nacl.bindings.sodium_memcmp(digest(ciphertext), expected_digest):
        raise DecryptionError("The attachment does not match its digest: it was altered.")
    try:
        return nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            ciphertext[NONCE_LEN:], AD, ciphertext[:NONCE_LEN], key
        )
    except nacl.exceptions.CryptoError as exc:
        raise DecryptionError("The attachment does not decrypt with its key.") from exc
