"""X3DH key agreement, as the Signal specification describes it, over libsodium's X25519.

The initiator (Alice) fetches Bob's prekey bundle, verifies its signature, and computes::

    DH1 = DH(IK_A, SPK_B)   DH2 = DH(EK_A, IK_B)   DH3 = DH(EK_A, SPK_B)   [DH4 = DH(EK_A, OPK_B)]
    SK  = HKDF-SHA256(salt = 32 zero bytes, ikm = 32 * 0xFF || DH1 || DH2 || DH3 [|| DH4],
                      info = "Parley X3DH v1", length = 32)
    AD  = IK_A || IK_B      (the two 32-byte Ed25519 identity keys)

IK_A and IK_B take part in DH as the X25519 form of the Ed25519 identity (see keys.py). Alice sends
an :class:`X3DHHeader` with her first message; Bob looks up the prekeys it names and calls
:func:`respond`, which recomputes the same SK and AD. The session layer then starts the Double
Ratchet from SK, with AD bound into every message, and Alice's first ratchet step uses Bob's signed
prekey (``X3DHInitiation.their_signed_prekey``) as his ratchet key, as Signal does.

Python cannot wipe memory, so the DH outputs and the ephemeral private key live until collected;
they are never stored or logged, and no object holding them has them in its repr.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import nacl.utils
from parley.crypto.encoding import Reader, check_u32, u8, u32
from parley.crypto.errors import MalformedData, PreKeyMismatch
from parley.crypto.kdf import hkdf_sha256
from parley.crypto.keys import KEY_LEN, DHKeyPair, IdentityKeyPair, IdentityPublicKey, Rng
from parley.crypto.prekeys import OneTimePreKey, PreKeyBundle, SignedPreKey

HEADER_VERSION = 1
"""The version byte that starts an encoded :class:`X3DHHeader`."""

HEADER_LEN = 1 + KEY_LEN + KEY_LEN + 4 + 1 + 4
"""version || IK_A || EK_A || signed prekey id || has one-time || one-time prekey id = 74 bytes."""

KDF_INFO = b"Parley X3DH v1"
"""HKDF info: identifies the application and protocol version, as the X3DH spec asks."""

KDF_PAD = b"\xff" * 32
"""The 32 0xFF bytes X3DH prefixes to the DH outputs (domain separation from XEdDSA, for X25519)."""

KDF_SALT = bytes(32)
"""HKDF salt: 32 zero bytes (the SHA-256 output length), as the X3DH spec says."""

SHARED_SECRET_LEN = 32
"""Bytes of SK."""


def derive_shared_secret(dh_outputs: tuple[bytes, ...]) -> bytes:
    """SK = HKDF-SHA256(32 zero bytes, 32 * 0xFF || DH1 || DH2 || DH3 [|| DH4], KDF_INFO, 32).

    Public so that it can be checked on its own against an independent implementation.
    """
    if len(dh_outputs) not in (3, 4) or any(len(dh) != KEY_LEN for dh in dh_outputs):
        raise MalformedData("X3DH needs three or four 32-byte Diffie-Hellman outputs.")
    return hkdf_sha256(
        KDF_PAD + b"".join(dh_outputs), salt=KDF_SALT, info=KDF_INFO, length=SHARED_SECRET_LEN
    )


def associated_data(initiator: IdentityPublicKey, responder: IdentityPublicKey) -> bytes:
    """AD = IK_A || IK_B: the initiator's then the responder's 32-byte Ed25519 identity key."""
    return initiator.to_bytes() + responder.to_bytes()


@dataclass(frozen=True)
class X3DHHeader:
    """What the initiator's first message carries so that the responder can compute SK.

    ``one_time_prekey_id`` is None when Bob's bundle had no one-time prekey left.
    """

    identity_key: IdentityPublicKey
    ephemeral_key: bytes
    signed_prekey_id: int
    one_time_prekey_id: int | None

    def __post_init__(self) -> None:
        if not isinstance(self.ephemeral_key, bytes) or len(self.ephemeral_key) != KEY_LEN:
            raise MalformedData("The X3DH ephemeral key must be exactly 32 bytes.")
        check_u32(self.signed_prekey_id, "A signed prekey id")
        if self.one_time_prekey_id is not None:
            check_u32(self.one_time_prekey_id, "A one-time prekey id")

    def to_bytes(self) -> bytes:
        """The 74-byte encoding (see :data:`HEADER_LEN`); an absent one-time id is encoded as 0."""
        has_one_time = self.one_time_prekey_id is not None
        return (
            u8(HEADER_VERSION)
            + self.identity_key.to_bytes()
            + self.ephemeral_key
            + u32(self.signed_prekey_id)
            + u8(1 if has_one_time else 0)
            + u32(self.one_time_prekey_id or 0)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> X3DHHeader:
        """Parse the 74-byte encoding.

        Raises:
            MalformedData: wrong length, version or flag, or a non-zero id with the flag clear
                (one meaning, one encoding).
            InvalidKey: the identity key is not a valid Ed25519 point.
        """
        reader = Reader(data, "an X3DH header")
        reader.version(HEADER_VERSION)
        identity = reader.take(KEY_LEN)
        ephemeral = reader.take(KEY_LEN)
        signed_id = reader.u32()
        flag = reader.u8()
        one_time_id = reader.u32()
        reader.finish()
        if flag not in (0, 1):
            raise MalformedData("The X3DH header's one-time prekey flag must be 0 or 1.")
        if flag == 0 and one_time_id != 0:
            raise MalformedData("The X3DH header names a one-time prekey id without its flag.")
        return cls(
            identity_key=IdentityPublicKey.from_bytes(identity),
            ephemeral_key=ephemeral,
            signed_prekey_id=signed_id,
            one_time_prekey_id=one_time_id if flag else None,
        )


@dataclass(frozen=True)
class X3DHInitiation:
    """The initiator's result: SK, AD, the header to send, and Bob's signed prekey public key."""

    shared_secret: bytes = field(repr=False)
    associated_data: bytes
    header: X3DHHeader
    their_signed_prekey: bytes
    their_identity: IdentityPublicKey


@dataclass(frozen=True)
class X3DHResponse:
    """The responder's result: SK and AD, equal to the initiator's, and who the initiator is."""

    shared_secret: bytes = field(repr=False)
    associated_data: bytes
    their_identity: IdentityPublicKey


def initiate(
    identity: IdentityKeyPair, bundle: PreKeyBundle, rng: Rng = nacl.utils.random
) -> X3DHInitiation:
    """Run Alice's side of X3DH against Bob's bundle.

    The bundle's signature is verified before any of its keys is used. ``rng`` supplies exactly the
    32 bytes of the ephemeral private key.

    Raises:
        InvalidSignature: the signed prekey was not signed by the bundle's identity key.
        InvalidKey: a prekey is of small order (a DH output would be all zeros).
    """
    bundle.verify()
    our_identity = identity.dh_key_pair()
    ephemeral = DHKeyPair.generate(rng)
    their_identity = bundle.identity_key.x25519()
    signed_prekey = bundle.signed_prekey.public
    outputs: tuple[bytes, ...] = (
        our_identity.dh(signed_prekey),
        ephemeral.dh(their_identity),
        ephemeral.dh(signed_prekey),
    )
    one_time = bundle.one_time_prekey
    if one_time is not None:
        outputs += (ephemeral.dh(one_time.public),)
    header = X3DHHeader(
        identity_key=identity.public,
        ephemeral_key=ephemeral.public,
        signed_prekey_id=bundle.signed_prekey.id,
        one_time_prekey_id=None if one_time is None else one_time.id,
    )
    return X3DHInitiation(
        shared_secret=derive_shared_secret(outputs),
        associated_data=associated_data(identity.public, bundle.identity_key),
        header=header,
        their_signed_prekey=signed_prekey,
        their_identity=bundle.identity_key,
    )


def respond(
    identity: IdentityKeyPair,
    signed_prekey: SignedPreKey,
    one_time_prekey: OneTimePreKey | None,
    header: X3DHHeader,
) -> X3DHResponse:
    """Run Bob's side of X3DH for a received header, with the prekeys it names.

    The caller looks the prekeys up by the header's ids (and deletes the one-time prekey once the
    first message has decrypted); passing others is refused rather than silently producing a
    secret that cannot match.

    Raises:
        PreKeyMismatch: the header names a different signed prekey, a one-time prekey that was not
            given, or none while one was given.
        InvalidKey: the initiator's ephemeral key is of small order.
    """
    if header.signed_prekey_id != signed_prekey.id:
        raise PreKeyMismatch(
            f"The first message was made for signed prekey {header.signed_prekey_id}, "
            f"not {signed_prekey.id}."
        )
    given_id = None if one_time_prekey is None else one_time_prekey.id
    if header.one_time_prekey_id != given_id:
        wanted = header.one_time_prekey_id
        raise PreKeyMismatch(
            "The first message was made "
            + ("without a one-time prekey" if wanted is None else f"for one-time prekey {wanted}")
            + ", but "
            + ("none was given." if given_id is None else f"one-time prekey {given_id} was given.")
        )
    our_identity = identity.dh_key_pair()
    ephemeral = header.ephemeral_key
    outputs: tuple[bytes, ...] = (
        signed_prekey.key_pair.dh(header.identity_key.x25519()),
        our_identity.dh(ephemeral),
        signed_prekey.key_pair.dh(ephemeral),
    )
    if one_time_prekey is not None:
        outputs += (one_time_prekey.key_pair.dh(ephemeral),)
    return X3DHResponse(
        shared_secret=derive_shared_secret(outputs),
        associated_data=associated_data(header.identity_key, identity.public),
        their_identity=header.identity_key,
    )
