"""HMAC-SHA256 and HKDF-SHA256 (RFC 5869), the one place the standard library supplies a primitive.

The Signal specifications define their KDFs over HMAC/HKDF with SHA-256; libsodium offers
HMAC-SHA256 (crypto_auth_hmacsha256) but PyNaCl does not expose HKDF, and the brief allows the
standard library for exactly these two. Everything else comes from libsodium.
"""

import hashlib
import hmac

from parley.crypto.errors import CryptoError

HASH_LEN = 32
_MAX_OKM = 255 * HASH_LEN


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    """Return HMAC-SHA256(key, data)."""
    return hmac.new(key, data, hashlib.sha256).digest()


def hkdf_extract(salt: bytes, ikm: bytes) -> bytes:
    """RFC 5869 extract step; an empty salt means HashLen zero bytes, as the RFC says."""
    return hmac_sha256(salt or bytes(HASH_LEN), ikm)


def hkdf_expand(prk: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 expand step."""
    if not 0 < length <= _MAX_OKM:
        raise CryptoError(f"HKDF output length must be between 1 and {_MAX_OKM} bytes")
    okm = b""
    block = b""
    counter = 1
    while len(okm) < length:
        block = hmac_sha256(prk, block + info + bytes([counter]))
        okm += block
        counter += 1
    return okm[:length]


def hkdf_sha256(ikm: bytes, *, salt: bytes, info: bytes, length: int) -> bytes:
    """HKDF-SHA256(salt, ikm, info, length) as RFC 5869 defines it."""
    return hkdf_expand(hkdf_extract(salt, ikm), info, length)


def constant_time_equal(a: bytes, b: bytes) -> bool:
    """Compare two byte strings without leaking where they differ."""
    return hmac.compare_digest(a, b)
