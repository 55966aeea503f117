"""Succession statements: an old identity key vouching for the identity key that replaces it.

A person who moves to a new device or reinstalls gets a new identity key. Contacts accept the
new key as the SAME contact only with a statement signed by the OLD identity key over the new key
and a time (docs/protocol.md, "Succession statements")::

    signed bytes = "parley-succession-v1" (20 ASCII bytes)
                   || old identity key (32) || new identity key (32) || at (8, u64 big-endian)
    statement    = old identity key (32) || new identity key (32) || at (8) || signature (64)

``at`` is UNIX seconds (when it was signed). ``check`` refuses a statement whose time is more than
``MAX_SKEW_S`` in the future or older than ``MAX_AGE_S``, and one not newer than the last statement
accepted for the same contact (so an old rebinding cannot be played again).
"""

from __future__ import annotations

from dataclasses import dataclass

from parley.crypto.encoding import Reader
from parley.crypto.errors import InvalidKey, InvalidSignature, MalformedData
from parley.crypto.keys import KEY_LEN, SIGNATURE_LEN, IdentityKeyPair, IdentityPublicKey

CONTEXT = b"parley-succession-v1"
TIME_LEN = 8
STATEMENT_LEN = 2 * KEY_LEN + TIME_LEN + SIGNATURE_LEN
MAX_AGE_S = 30 * 24 * 3600
"""A statement is accepted for 30 days after it was signed (the signed prekey grace period)."""
MAX_SKEW_S = 24 * 3600
"""How far in the future a statement's time may be (clocks differ)."""


class SuccessionRefused(MalformedData):
    """A succession statement is malformed, not signed by the old key, or not fresh."""


@dataclass(frozen=True, slots=True)
class Succession:
    """``old`` says that ``new`` replaces it, as of ``at`` (UNIX seconds)."""

    old: bytes
    new: bytes
    at: int
    signature: bytes

    def to_bytes(self) -> bytes:
        return self.old + self.new + self.at.to_bytes(TIME_LEN, "big") + self.signature

    @classmethod
    def from_bytes(cls, data: bytes) -> Succession:
        """Parse a statement (its signature is checked by ``check``). Raises SuccessionRefused."""
        if not isinstance(data, bytes) or len(data) != STATEMENT_LEN:
            raise SuccessionRefused(f"A succession statement is {STATEMENT_LEN} bytes.")
        reader = Reader(data, "succession statement")
        old = reader.take(KEY_LEN)
        new = reader.take(KEY_LEN)
        at = int.from_bytes(reader.take(TIME_LEN), "big")
        return cls(old, new, at, reader.take(SIGNATURE_LEN))


def signed_bytes(old: bytes, new: bytes, at: int) -> bytes:
    """The bytes the old identity key signs."""
    return CONTEXT + old + new + at.to_bytes(TIME_LEN, "big")


def sign(old_identity: IdentityKeyPair, new_identity_key: bytes, at: int) -> Succession:
    """The old identity's statement that ``new_identity_key`` replaces it, as of ``at``."""
    if len(new_identity_key) != KEY_LEN:
        raise SuccessionRefused("The new identity key must be 32 bytes.")
    try:
        IdentityPublicKey.from_bytes(new_identity_key)
    except (InvalidKey, MalformedData) as exc:
        raise SuccessionRefused("The new identity key is not a valid identity key.") from exc
    old = old_identity.public.to_bytes()
    if new_identity_key == old:
        raise SuccessionRefused("An identity cannot succeed itself.")
    if not 0 <= at < 2**63:
        raise SuccessionRefused("A succession time must be a UNIX time in seconds.")
    signature = old_identity.sign(signed_bytes(old, new_identity_key, at))
    return Succession(old, new_identity_key, at, signature)


def check(
    statement: Succession, *, old: bytes, new: bytes, now: float, after: int | None = None
) -> None:
    """Check that ``statement`` proves ``old`` -> ``new`` now. Raises SuccessionRefused.

    Args:
        after: the time of the last statement already accepted for this contact, if any; the new
            one must be strictly later.
    """
    if statement.old != old or statement.new != new:
        raise SuccessionRefused("The succession statement names other identity keys.")
    if statement.old == statement.new:
        raise SuccessionRefused("An identity cannot succeed itself.")
    try:
        IdentityPublicKey.from_bytes(old).verify(
            signed_bytes(old, new, statement.at), statement.signature
        )
    except (InvalidSignature, InvalidKey, MalformedData) as exc:
        raise SuccessionRefused("The succession statement is not signed by the old key.") from exc
    if statement.at > now + MAX_SKEW_S:
        raise SuccessionRefused("The succession statement is dated in the future.")
    if statement.at < now - MAX_AGE_S:
        raise SuccessionRefused("The succession statement is more than 30 days old.")
    if after is not None and statement.at <= after:
        raise SuccessionRefused("The succession statement is not newer than the last one seen.")
