"""Signed prekeys, one-time prekeys and prekey bundles, with their fixed-size encodings.

A client publishes one signed prekey and a stock of one-time prekeys to the relay as opaque blobs
(``to_bytes`` of the ``*Public`` classes); another client fetches them together with the identity
key and rebuilds a :class:`PreKeyBundle` with :meth:`PreKeyBundle.from_parts`. The bundle is only
parsed there: :func:`parley.crypto.x3dh.initiate` verifies its signature before any key in it is
used, so an unverified bundle can never reach a Diffie-Hellman computation.

The signature covers the prekey id and creation time as well as the key (Signal signs the key
alone), so a relay cannot relabel a prekey or make an old one look fresh.

Rotation policy: a signed prekey is replaced once it is :data:`ROTATION_INTERVAL` old (a week,
the short end of Signal's "weekly to monthly"), and the replaced one is kept for
:data:`PREVIOUS_KEY_GRACE` (30 days) so that first messages already in flight, which name it by id,
can still be answered; after that it is deleted, which is what gives X3DH's forward secrecy for
sessions that never used a one-time prekey. The caller (app/) owns the clock and the storage; the
helpers here only decide.
"""

from __future__ import annotations

from dataclasses import dataclass

import nacl.utils
from parley.crypto.encoding import Reader, check_u32, check_u64, u8, u32, u64
from parley.crypto.errors import CryptoError, InvalidSignature, MalformedData
from parley.crypto.keys import (
    KEY_LEN,
    SIGNATURE_LEN,
    DHKeyPair,
    IdentityKeyPair,
    IdentityPublicKey,
    Rng,
)

FORMAT_VERSION = 1
"""The version byte that starts every encoding in this module."""

SIGNED_PREKEY_DOMAIN = b"Parley signed prekey v1\x00"
"""Prefix of the signed message, so that no other Parley signature can be replayed as this one."""

SIGNED_PREKEY_PUBLIC_LEN = 1 + 4 + 8 + KEY_LEN + SIGNATURE_LEN
"""version || id || created_at || public || signature = 109 bytes."""

SIGNED_PREKEY_PRIVATE_LEN = 1 + 4 + 8 + KEY_LEN + SIGNATURE_LEN
"""version || id || created_at || private || signature = 109 bytes (for the local store)."""

ONE_TIME_PREKEY_PUBLIC_LEN = 1 + 4 + KEY_LEN
"""version || id || public = 37 bytes."""

ONE_TIME_PREKEY_PRIVATE_LEN = 1 + 4 + KEY_LEN
"""version || id || private = 37 bytes (for the local store)."""

ROTATION_INTERVAL = 7 * 24 * 3600
"""Seconds after which a signed prekey is replaced."""

PREVIOUS_KEY_GRACE = 30 * 24 * 3600
"""Seconds a replaced signed prekey is kept for first messages still in flight."""


def signed_prekey_message(prekey_id: int, created_at: int, public: bytes) -> bytes:
    """The exact bytes an identity signs for a signed prekey (domain || id || created_at || key)."""
    return SIGNED_PREKEY_DOMAIN + u32(prekey_id) + u64(created_at) + public


@dataclass(frozen=True)
class SignedPreKeyPublic:
    """What others see of a signed prekey: id, X25519 public key, signature, creation time."""

    id: int
    public: bytes
    signature: bytes
    created_at: int

    def __post_init__(self) -> None:
        check_u32(self.id, "A signed prekey id")
        check_u64(self.created_at, "A signed prekey creation time")
        if not isinstance(self.public, bytes) or len(self.public) != KEY_LEN:
            raise MalformedData("A signed prekey's public key must be exactly 32 bytes.")
        if not isinstance(self.signature, bytes) or len(self.signature) != SIGNATURE_LEN:
            raise MalformedData("A signed prekey's signature must be exactly 64 bytes.")

    def verify(self, identity: IdentityPublicKey) -> None:
        """Check that ``identity`` signed this prekey, its id and its creation time.

        Raises:
            InvalidSignature: it did not (a forged, altered or someone else's prekey).
        """
        message = signed_prekey_message(self.id, self.created_at, self.public)
        try:
            identity.verify(message, self.signature)
        except InvalidSignature:
            raise InvalidSignature(
                "The signed prekey was not signed by this identity key; it may have been forged "
                "or altered on the way."
            ) from None

    def to_bytes(self) -> bytes:
        """The 109-byte blob published to the relay."""
        return (
            u8(FORMAT_VERSION) + u32(self.id) + u64(self.created_at) + self.public + self.signature
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SignedPreKeyPublic:
        """Parse the blob; refuses any other length or version with MalformedData."""
        reader = Reader(data, "a signed prekey")
        reader.version(FORMAT_VERSION)
        prekey_id = reader.u32()
        created_at = reader.u64()
        public = reader.take(KEY_LEN)
        signature = reader.take(SIGNATURE_LEN)
        reader.finish()
        return cls(id=prekey_id, public=public, signature=signature, created_at=created_at)


@dataclass(frozen=True)
class SignedPreKey:
    """Our own signed prekey, private key included."""

    id: int
    key_pair: DHKeyPair
    signature: bytes
    created_at: int

    def __post_init__(self) -> None:
        check_u32(self.id, "A signed prekey id")
        check_u64(self.created_at, "A signed prekey creation time")
        if not isinstance(self.signature, bytes) or len(self.signature) != SIGNATURE_LEN:
            raise MalformedData("A signed prekey's signature must be exactly 64 bytes.")

    @classmethod
    def generate(
        cls, identity: IdentityKeyPair, prekey_id: int, now: int, rng: Rng = nacl.utils.random
    ) -> SignedPreKey:
        """Make and sign a fresh prekey.

        Args:
            identity: the identity that signs it.
            prekey_id: its id (0..2**32-1); the caller keeps ids unique per identity.
            now: the creation time, in whole seconds since the Unix epoch.
            rng: the random source (fixed in golden vectors).
        """
        check_u32(prekey_id, "A signed prekey id")
        check_u64(now, "A signed prekey creation time")
        key_pair = DHKeyPair.generate(rng)
        signature = identity.sign(signed_prekey_message(prekey_id, now, key_pair.public))
        return cls(id=prekey_id, key_pair=key_pair, signature=signature, created_at=now)

    def public(self) -> SignedPreKeyPublic:
        """The part published to the relay."""
        return SignedPreKeyPublic(
            id=self.id,
            public=self.key_pair.public,
            signature=self.signature,
            created_at=self.created_at,
        )

    def to_bytes(self) -> bytes:
        """The 109-byte private encoding for the local (encrypted) store."""
        return (
            u8(FORMAT_VERSION)
            + u32(self.id)
            + u64(self.created_at)
            + self.key_pair.private
            + self.signature
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SignedPreKey:
        """Parse the private encoding; refuses any other length or version with MalformedData."""
        reader = Reader(data, "a stored signed prekey")
        reader.version(FORMAT_VERSION)
        prekey_id = reader.u32()
        created_at = reader.u64()
        private = reader.take(KEY_LEN)
        signature = reader.take(SIGNATURE_LEN)
        reader.finish()
        return cls(
            id=prekey_id,
            key_pair=DHKeyPair.from_private(private),
            signature=signature,
            created_at=created_at,
        )


@dataclass(frozen=True)
class OneTimePreKeyPublic:
    """What others see of a one-time prekey: its id and X25519 public key (unsigned, as in X3DH)."""

    id: int
    public: bytes

    def __post_init__(self) -> None:
        check_u32(self.id, "A one-time prekey id")
        if not isinstance(self.public, bytes) or len(self.public) != KEY_LEN:
            raise MalformedData("A one-time prekey's public key must be exactly 32 bytes.")

    def to_bytes(self) -> bytes:
        """The 37-byte blob published to the relay."""
        return u8(FORMAT_VERSION) + u32(self.id) + self.public

    @classmethod
    def from_bytes(cls, data: bytes) -> OneTimePreKeyPublic:
        """Parse the blob; refuses any other length or version with MalformedData."""
        reader = Reader(data, "a one-time prekey")
        reader.version(FORMAT_VERSION)
        prekey_id = reader.u32()
        public = reader.take(KEY_LEN)
        reader.finish()
        return cls(id=prekey_id, public=public)


@dataclass(frozen=True)
class OneTimePreKey:
    """Our own one-time prekey, private key included; deleted once a first message used it."""

    id: int
    key_pair: DHKeyPair

    def __post_init__(self) -> None:
        check_u32(self.id, "A one-time prekey id")

    def public(self) -> OneTimePreKeyPublic:
        """The part published to the relay."""
        return OneTimePreKeyPublic(id=self.id, public=self.key_pair.public)

    def to_bytes(self) -> bytes:
        """The 37-byte private encoding for the local (encrypted) store."""
        return u8(FORMAT_VERSION) + u32(self.id) + self.key_pair.private

    @classmethod
    def from_bytes(cls, data: bytes) -> OneTimePreKey:
        """Parse the private encoding; refuses any other length or version with MalformedData."""
        reader = Reader(data, "a stored one-time prekey")
        reader.version(FORMAT_VERSION)
        prekey_id = reader.u32()
        private = reader.take(KEY_LEN)
        reader.finish()
        return cls(id=prekey_id, key_pair=DHKeyPair.from_private(private))


def generate_one_time_prekeys(
    start_id: int, count: int, rng: Rng = nacl.utils.random
) -> list[OneTimePreKey]:
    """Make ``count`` one-time prekeys with the consecutive ids ``start_id .. start_id+count-1``.

    Raises:
        CryptoError: ``count`` is negative or the ids would not fit in 32 bits (the caller should
            wrap its counter rather than reuse ids of keys that may still be on the relay).
    """
    check_u32(start_id, "The first one-time prekey id")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise CryptoError(f"The number of one-time prekeys must be 0 or more, got {count!r}.")
    if count:
        check_u32(start_id + count - 1, "The last one-time prekey id")
    return [OneTimePreKey(start_id + i, DHKeyPair.generate(rng)) for i in range(count)]


def needs_rotation(
    signed_prekey: SignedPreKey, now: float, max_age: float = ROTATION_INTERVAL
) -> bool:
    """Whether the signed prekey is old enough to be replaced (or dated in the future).

    A creation time ahead of ``now`` means the clock moved backwards or the key was made on
    another machine; rotating is the safe answer, since a key's age cannot then be trusted.
    """
    age = now - signed_prekey.created_at
    return age >= max_age or age < 0


def can_discard_previous(replaced_at: float, now: float, grace: float = PREVIOUS_KEY_GRACE) -> bool:
    """Whether a signed prekey replaced at ``replaced_at`` may now be deleted.

    Until then a first message that names it may still arrive; deleting it later than needed only
    delays forward secrecy, deleting it earlier loses that message.
    """
    return now - replaced_at >= grace


@dataclass(frozen=True)
class PreKeyBundle:
    """Everything needed to start a session with someone: identity key and prekeys.

    Construct and parse freely; call :meth:`verify` (as :func:`parley.crypto.x3dh.initiate` does)
    before using any key in it.
    """

    identity_key: IdentityPublicKey
    signed_prekey: SignedPreKeyPublic
    one_time_prekey: OneTimePreKeyPublic | None

    def verify(self) -> None:
        """Check the signed prekey's signature under the bundle's identity key.

        Raises:
            InvalidSignature: the signature does not verify.
        """
        self.signed_prekey.verify(self.identity_key)

    @classmethod
    def from_parts(
        cls,
        identity_key_bytes: bytes,
        signed_prekey_blob: bytes,
        one_time_prekey_blob: bytes | None,
    ) -> PreKeyBundle:
        """Rebuild a bundle from what the relay returns (parsing only, no signature check).

        Raises:
            MalformedData: a part has the wrong size or version.
            InvalidKey: the identity key is not a valid Ed25519 point.
        """
        return cls(
            identity_key=IdentityPublicKey.from_bytes(identity_key_bytes),
            signed_prekey=SignedPreKeyPublic.from_bytes(signed_prekey_blob),
            one_time_prekey=(
                None
                if one_time_prekey_blob is None
                else OneTimePreKeyPublic.from_bytes(one_time_prekey_blob)
            ),
        )

    def to_bytes(self) -> bytes:
        """version || identity (32) || signed prekey (109) || 0x00, or 0x01 || one-time (37)."""
        tail = (
            b"\x00" if self.one_time_prekey is None else b"\x01" + self.one_time_prekey.to_bytes()
        )
        return (
            u8(FORMAT_VERSION) + self.identity_key.to_bytes() + self.signed_prekey.to_bytes() + tail
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> PreKeyBundle:
        """Parse :meth:`to_bytes` output (parsing only, no signature check)."""
        reader = Reader(data, "a prekey bundle")
        reader.version(FORMAT_VERSION)
        identity = reader.take(KEY_LEN)
        signed = reader.take(SIGNED_PREKEY_PUBLIC_LEN)
        flag = reader.u8()
        if flag not in (0, 1):
            raise MalformedData("A prekey bundle's one-time prekey flag must be 0 or 1.")
        one_time = reader.take(ONE_TIME_PREKEY_PUBLIC_LEN) if flag else None
        reader.finish()
        return cls.from_parts(identity, signed, one_time)
