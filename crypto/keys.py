"""Identity keys (Ed25519) and Diffie-Hellman key pairs (X25519), all from libsodium.

One identity, one key. A Parley identity is a single Ed25519 key pair: it signs prekeys, and its
X25519 form (libsodium's birational map, ``crypto_sign_ed25519_sk_to_curve25519`` /
``crypto_sign_ed25519_pk_to_curve25519``) takes part in X3DH's DH1 and DH2. Keeping one key
rather than an Ed25519 key plus an unrelated X25519 key means there is one thing to back up, one
thing to verify in the safety number, and no way for the two halves of an identity to be mixed
up or substituted separately: the key that signs the prekey is provably the key that agrees.

Signal reaches the same goal the other way round (an X25519 identity key that signs with XEdDSA).
libsodium does not implement XEdDSA, and the brief requires every primitive from libsodium, so
Parley signs with plain Ed25519 and converts for DH. Reusing one key pair for Ed25519 and X25519
has been analysed (Thormarker, "On using the same key pair for Ed25519 and an X25519 based KEM",
2021) and is what libsodium's conversion functions exist for; the deviation is listed in
docs/protocol.md section 9.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import nacl.utils
from nacl.bindings import (
    crypto_core_ed25519_is_valid_point,
    crypto_scalarmult,
    crypto_scalarmult_base,
    crypto_sign,
    crypto_sign_ed25519_pk_to_curve25519,
    crypto_sign_ed25519_sk_to_curve25519,
    crypto_sign_open,
    crypto_sign_seed_keypair,
)
from nacl.exceptions import BadSignatureError
from nacl.exceptions import CryptoError as _NaclError
from parley.crypto.encoding import random_bytes
from parley.crypto.errors import InvalidKey, InvalidSignature, MalformedData

KEY_LEN = 32
"""Bytes in an X25519 private or public key, an Ed25519 public key or seed, and a DH output."""

SIGNATURE_LEN = 64
"""Bytes in an Ed25519 signature."""

Rng = Callable[[int], bytes]
"""An injectable random source: ``rng(n)`` returns ``n`` random bytes."""


def _require_bytes(value: object, length: int, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != length:
        size = len(value) if isinstance(value, bytes) else type(value).__name__
        raise MalformedData(f"{what} must be exactly {length} bytes (got {size}).")
    return value


@dataclass(frozen=True)
class DHKeyPair:
    """An X25519 key pair.

    The constructor only checks sizes (the ratchet builds many of these, and recomputing the public
    key would double the cost of a DH step); build from a private key with :meth:`from_private`,
    which derives the matching public key.
    """

    private: bytes = field(repr=False)
    public: bytes

    def __post_init__(self) -> None:
        _require_bytes(self.private, KEY_LEN, "An X25519 private key")
        _require_bytes(self.public, KEY_LEN, "An X25519 public key")

    @classmethod
    def generate(cls, rng: Rng = nacl.utils.random) -> DHKeyPair:
        """Make a fresh key pair from 32 bytes of ``rng`` (X25519 clamps them itself)."""
        return cls.from_private(random_bytes(rng, KEY_LEN))

    @classmethod
    def from_private(cls, private: bytes) -> DHKeyPair:
        """Rebuild a key pair from its 32-byte private key."""
        _require_bytes(private, KEY_LEN, "An X25519 private key")
        return cls(private=private, public=crypto_scalarmult_base(private))

    def dh(self, their_public: bytes) -> bytes:
        """Return X25519(private, their_public).

        Raises:
            InvalidKey: their key has the wrong size or is of small order, so the result would be
                all zeros (libsodium refuses it); a peer offering such a key is trying to force a
                known shared secret.
        """
        if not isinstance(their_public, bytes) or len(their_public) != KEY_LEN:
            raise InvalidKey("The other party's X25519 public key must be exactly 32 bytes.")
        try:
            return crypto_scalarmult(self.private, their_public)
        except _NaclError:
            raise InvalidKey(
                "The other party's X25519 public key is of small order and cannot be used."
            ) from None


# Identity keys already found valid in this process. The check is a pure function of the 32
# public bytes, and every stored session carries its contact's key: decoding the sessions for each
# message of a catch-up repeated it per message (11% of bench/ui.py's catch-up, py-spy).
_VALID_IDENTITY_POINTS: set[bytes] = set()
MAX_REMEMBERED_POINTS = 4096


@dataclass(frozen=True)
class IdentityPublicKey:
    """The public half of an identity: a 32-byte Ed25519 point, validated on construction.

    Validation (``crypto_core_ed25519_is_valid_point``) refuses non-canonical encodings, points not
    on the curve, points outside the prime-order subgroup and small-order points, so an accepted key
    always converts to a usable X25519 key.
    """

    ed25519: bytes

    def __post_init__(self) -> None:
        _require_bytes(self.ed25519, KEY_LEN, "An identity public key")
        if self.ed25519 in _VALID_IDENTITY_POINTS:
            return
        if not crypto_core_ed25519_is_valid_point(self.ed25519):
            raise InvalidKey("This identity key is not a valid Ed25519 public key.")
        if len(_VALID_IDENTITY_POINTS) >= MAX_REMEMBERED_POINTS:
            _VALID_IDENTITY_POINTS.clear()
        _VALID_IDENTITY_POINTS.add(self.ed25519)

    @classmethod
    def from_bytes(cls, data: bytes) -> IdentityPublicKey:
        """Parse the 32-byte encoding; raises MalformedData (size) or InvalidKey (point)."""
        return cls(data)

    def to_bytes(self) -> bytes:
        """The 32-byte Ed25519 encoding."""
        return self.ed25519

    def verify(self, message: bytes, signature: bytes) -> None:
        """Check an Ed25519 signature of ``message``.

        Raises:
            InvalidSignature: the signature is malformed or was not made by this key over this
                message.
        """
        if not isinstance(signature, bytes) or len(signature) != SIGNATURE_LEN:
            raise InvalidSignature("The signature is malformed (it must be 64 bytes).")
        try:
            crypto_sign_open(signature + message, self.ed25519)
        except BadSignatureError:
            raise InvalidSignature(
                "The signature does not match this identity key; the data may have been forged."
            ) from None

    def x25519(self) -> bytes:
        """The X25519 public key this identity uses in X3DH (libsodium's birational map)."""
        try:
            return crypto_sign_ed25519_pk_to_curve25519(self.ed25519)
        except _NaclError:  # unreachable for a validated point; kept so nothing else escapes
            raise InvalidKey("This identity key has no usable X25519 form.") from None

    def fingerprint_hex(self) -> str:
        """The key as 64 lowercase hex digits, for logs and debugging (it is public)."""
        return self.ed25519.hex()


@dataclass(frozen=True)
class IdentityKeyPair:
    """A long-term identity: an Ed25519 key pair derived from its 32-byte seed.

    Only the seed is stored (``to_bytes``); the expanded secret key and the public key are derived
    once when the object is made.
    """

    seed: bytes = field(repr=False)
    _secret_key: bytes = field(init=False, repr=False, compare=False)
    _public: IdentityPublicKey = field(init=False, compare=False)

    def __post_init__(self) -> None:
        _require_bytes(self.seed, KEY_LEN, "An identity key seed")
        public, secret = crypto_sign_seed_keypair(self.seed)
        object.__setattr__(self, "_secret_key", secret)
        object.__setattr__(self, "_public", IdentityPublicKey(public))

    @classmethod
    def generate(cls, rng: Rng = nacl.utils.random) -> IdentityKeyPair:
        """Make a fresh identity from 32 bytes of ``rng``."""
        return cls(random_bytes(rng, KEY_LEN))

    @classmethod
    def from_bytes(cls, data: bytes) -> IdentityKeyPair:
        """Rebuild an identity from its 32-byte seed (as returned by :meth:`to_bytes`)."""
        return cls(data)

    def to_bytes(self) -> bytes:
        """The 32-byte seed: the whole secret of the identity. Store it only encrypted."""
        return self.seed

    @property
    def public(self) -> IdentityPublicKey:
        """The public identity key, as others see and verify it."""
        return self._public

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``message`` (deterministic, RFC 8032)."""
        return crypto_sign(message, self._secret_key)[:SIGNATURE_LEN]

    def dh_key_pair(self) -> DHKeyPair:
        """The identity's X25519 key pair for X3DH (see the module docstring for why)."""
        private = crypto_sign_ed25519_sk_to_curve25519(self._secret_key)
        return DHKeyPair(private=private, public=crypto_scalarmult_base(private))
