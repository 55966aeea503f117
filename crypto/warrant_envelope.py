"""The warrant envelope: every message key sealed, deterministically, to the authority's epoch key.

Only the warrant build contains this module (packaging/build.sh leaves it out of the standard
wheel). Byte layouts and the reasoning are in docs/warrant.md; in short, for a message with key
``mk``, ratchet header ``hdr`` (40 bytes), sender and recipient identity keys ``IKs``, ``IKr``,
authority key id ``kid`` (8 bytes) and epoch ``e`` with public key ``W_e``::

    binding  = 0x01 || kid || e (u32 BE) || IKs || IKr || hdr                       (117 bytes)
    r        = clamp(BLAKE2b-256(key=mk, person="parley-warrant-r", binding || W_e))
    R        = r·B            S = r·W_e, used as its X25519 u-coordinate u(S)
    k        = BLAKE2b-256(person="parley-warrant-k", u(S) || R || binding)
    nonce    = BLAKE2b-192(person="parley-warrant-n", R)
    envelope = 0x01 || kid || e || R || XChaCha20-Poly1305(k, nonce, mk, ad=binding)  (93 bytes)

Everything is a function of ``mk`` and public values, so the recipient, who knows ``mk`` from the
ratchet, rebuilds the envelope byte for byte and compares in constant time: a missing, random,
copied, relabelled or other-authority envelope fails at full strength (Blaze's attack on
Clipper's 16-bit checksum does not apply). The authority, holding ``w_e`` (shared among trustees,
crypto/threshold.py), computes ``S = w_e·R`` and opens ``mk`` with :func:`open_with_shared_point`.
"""

from __future__ import annotations

import hmac
import struct
from dataclasses import dataclass
from functools import lru_cache
from hashlib import blake2b
from typing import Final

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
    crypto_scalarmult,
    crypto_sign_ed25519_pk_to_curve25519,
)
from nacl.exceptions import CryptoError as _NaclError
from parley.crypto import session as session_format
from parley.crypto.errors import (
    CryptoError,
    DecryptionError,
    EnvelopeRejected,
    InvalidKey,
    MalformedData,
)
from parley.crypto.hooks import KEY_ID_LEN, KIND_WARRANT_ENVELOPE_V1, Parties
from parley.crypto.threshold import POINT_LEN, base_mul, check_point

KIND: Final = KIND_WARRANT_ENVELOPE_V1
MESSAGE_KEY_LEN: Final = 32
HEADER_LEN: Final = 40
IDENTITY_LEN: Final = 32
TAG_LEN: Final = 16
LABEL_LEN: Final = 1 + KEY_ID_LEN + 4
BINDING_LEN: Final = LABEL_LEN + 2 * IDENTITY_LEN + HEADER_LEN
ENVELOPE_LEN: Final = LABEL_LEN + POINT_LEN + MESSAGE_KEY_LEN + TAG_LEN
_LABEL = struct.Struct(">B8sI")
_PERSON_R: Final = b"parley-warrant-r"
_PERSON_K: Final = b"parley-warrant-k"
_PERSON_N: Final = b"parley-warrant-n"


@dataclass(frozen=True)
class EpochKey:
    """One epoch's public key ``W_e`` and its window ``[start, end)`` in Unix seconds."""

    number: int
    start: int
    end: int
    public_key: bytes

    def __post_init__(self) -> None:
        check_point(self.public_key)
        if not 0 <= self.number <= 0xFFFFFFFF or self.end <= self.start:
            raise MalformedData(f"Epoch {self.number} has an impossible number or window.")


@dataclass(frozen=True)
class AuthorityKey:
    """The public parameters a warrant build seals to: key id and per-epoch keys."""

    key_id: bytes
    epochs: tuple[EpochKey, ...]

    def __post_init__(self) -> None:
        if len(self.key_id) != KEY_ID_LEN:
            raise MalformedData(f"An authority key id is {KEY_ID_LEN} bytes.")
        if len({e.number for e in self.epochs}) != len(self.epochs):
            raise MalformedData("The authority lists an epoch twice.")

    def epoch(self, number: int) -> EpochKey | None:
        for epoch in self.epochs:
            if epoch.number == number:
                return epoch
        return None

    def epoch_at(self, when: float) -> EpochKey | None:
        """The epoch whose window holds ``when`` (None before the first or after the last)."""
        for epoch in self.epochs:
            if epoch.start <= when < epoch.end:
                return epoch
        return None


@dataclass(frozen=True)
class Envelope:
    """A parsed envelope: its labels, the point R and the sealed message key."""

    key_id: bytes
    epoch: int
    point: bytes
    sealed: bytes


def binding(key_id: bytes, epoch: int, header_bytes: bytes, parties: Parties) -> bytes:
    """The bytes an envelope is bound to (and authenticates as associated data).

    Raises:
        MalformedData: a field has the wrong length.
    """
    if (
        len(key_id) != KEY_ID_LEN
        or len(header_bytes) != HEADER_LEN
        or len(parties.sender) != IDENTITY_LEN
        or len(parties.recipient) != IDENTITY_LEN
    ):
        raise MalformedData(
            "An envelope binding needs an 8-byte key id, 40-byte header, 32-byte keys."
        )
    return b"".join(
        (_LABEL.pack(KIND, key_id, epoch), parties.sender, parties.recipient, header_bytes)
    )


def seal(message_key: bytes, bound: bytes, public_key: bytes) -> bytes:
    """The envelope of ``message_key`` under ``bound`` (see :func:`binding`) and ``W_e``."""
    if len(message_key) != MESSAGE_KEY_LEN:
        raise MalformedData("A message key is 32 bytes.")
    r = _clamp(
        blake2b(bound + public_key, digest_size=32, key=message_key, person=_PERSON_R).digest()
    )
    point = base_mul(r)
    # S = r·W_e is needed only through its Montgomery u-coordinate, which X25519 computes about
    # three times faster than an Edwards scalar multiplication (r is clamped, so X25519 uses it
    # as it is; W_e is in the prime-order subgroup, checked when the authority was loaded).
    try:
        shared_u = crypto_scalarmult(r, montgomery(public_key))
    except _NaclError as exc:
        raise CryptoError("The envelope's shared point is the identity.") from exc
    key, nonce = _cipher(shared_u, point, bound)
    sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(message_key, bound, nonce, key)
    return bound[:LABEL_LEN] + point + sealed


def _clamp(digest: bytes) -> bytes:
    """X25519's clamping: a multiple of the cofactor 8, bit 254 set, bit 255 clear."""
    return bytes((digest[0] & 248,)) + digest[1:31] + bytes(((digest[31] & 127) | 64,))


@lru_cache(maxsize=64)
def montgomery(edwards_point: bytes) -> bytes:
    """The X25519 u-coordinate of an edwards25519 point (the birational map)."""
    try:
        return crypto_sign_ed25519_pk_to_curve25519(edwards_point)
    except _NaclError as exc:
        raise InvalidKey("This point has no Montgomery form.") from exc


def parse(envelope: bytes) -> Envelope:
    """Split an envelope into its labels, R and the sealed key. Raises MalformedData."""
    if len(envelope) != ENVELOPE_LEN or envelope[0] != KIND:
        raise MalformedData(f"A warrant envelope is {ENVELOPE_LEN} bytes starting with {KIND}.")
    _, key_id, epoch = _LABEL.unpack_from(envelope)
    return Envelope(key_id, epoch, envelope[LABEL_LEN : LABEL_LEN + POINT_LEN], envelope[-48:])


def ephemeral_point(envelope: bytes) -> bytes:
    """R, the point each trustee multiplies by its share (``D_i = w_i·R``)."""
    point = parse(envelope).point
    check_point(point)
    return point


def open_with_shared_point(shared: bytes, envelope: bytes, bound: bytes) -> bytes:
    """Recover the message key from ``S = w_e·R`` (combined from k trustees' answers).

    Raises:
        DecryptionError: ``S`` is not the right point (fewer than k shares, a wrong share, or a
            binding other than the one the envelope was sealed under).
        MalformedData: the envelope does not parse.
    """
    parsed = parse(envelope)
    key, nonce = _cipher(montgomery(shared), parsed.point, bound)
    try:
        return crypto_aead_xchacha20poly1305_ietf_decrypt(parsed.sealed, bound, nonce, key)
    except _NaclError as exc:
        raise DecryptionError("The envelope does not open with this point and binding.") from exc


def _cipher(shared: bytes, point: bytes, bound: bytes) -> tuple[bytes, bytes]:
    key = blake2b(shared + point + bound, digest_size=32, person=_PERSON_K).digest()
    nonce = blake2b(point, digest_size=24, person=_PERSON_N).digest()
    return key, nonce


def captured_binding(message_bytes: bytes, sender: bytes, recipient: bytes) -> tuple[bytes, bytes]:
    """The envelope and binding of a captured session message between two relay accounts.

    The relay knows both accounts (identity keys); the header and the envelope are in the clear
    part of the message, so this needs no key.

    Raises:
        MalformedData: not a session message, or it carries no warrant envelope.
    """
    message = session_format.ratchet_message_of(message_bytes)
    parsed = parse(message.extension)
    bound = binding(parsed.key_id, parsed.epoch, message.header_bytes(), Parties(sender, recipient))
    return message.extension, bound


class EnvelopeHook:
    """The warrant build's message-key hook (crypto/hooks.py).

    Args:
        authority: the compiled-in authority key.
        seal_epoch: the epoch to seal under (the one of the sender's clock); None: cannot send.
        accepted_epochs: epoch numbers a received envelope may carry (the app chooses them from
            the relay's arrival time; docs/warrant.md).
        require: refuse a message without an envelope ("strict"); otherwise accept it and set
            ``unenveloped`` ("transitional").
    """

    __slots__ = ("_accepted", "_authority", "_epoch", "_require", "unenveloped")

    def __init__(
        self,
        authority: AuthorityKey,
        seal_epoch: EpochKey | None,
        accepted_epochs: frozenset[int],
        *,
        require: bool,
    ) -> None:
        self._authority = authority
        self._epoch = seal_epoch
        self._accepted = accepted_epochs
        self._require = require
        self.unenveloped = False

    def seal(self, message_key: bytes, header_bytes: bytes, parties: Parties) -> bytes:
        epoch = self._epoch
        if epoch is None:
            raise CryptoError(
                "This warrant build's authority has no epoch key for the present time, so it "
                "cannot send (the build has expired or the clock is wrong)."
            )
        bound = binding(self._authority.key_id, epoch.number, header_bytes, parties)
        return seal(message_key, bound, epoch.public_key)

    def check(
        self, message_key: bytes, header_bytes: bytes, parties: Parties, extension: bytes
    ) -> None:
        if not extension:
            if self._require:
                raise EnvelopeRejected("The message carries no warrant envelope.", "missing")
            self.unenveloped = True
            return
        try:
            parsed = parse(extension)
        except MalformedData:
            raise EnvelopeRejected(
                "The message's warrant envelope is malformed.", "malformed"
            ) from None
        if not hmac.compare_digest(parsed.key_id, self._authority.key_id):
            raise EnvelopeRejected(
                f"The message's envelope is for another authority ({parsed.key_id.hex()}).",
                "other-authority",
            )
        epoch = self._authority.epoch(parsed.epoch)
        if epoch is None or parsed.epoch not in self._accepted:
            raise EnvelopeRejected(
                f"The message's envelope is sealed for epoch {parsed.epoch}, not the epoch of "
                "its arrival.",
                "other-epoch",
            )
        bound = binding(self._authority.key_id, epoch.number, header_bytes, parties)
        if not hmac.compare_digest(seal(message_key, bound, epoch.public_key), extension):
            raise EnvelopeRejected(
                "The message's warrant envelope does not match its key, header or parties.",
                "mismatch",
            )
