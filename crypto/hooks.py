"""The message-key hook: a seam through which a build can wrap each message key.

The warrant build attaches an envelope holding each message key to every message, and refuses
messages whose envelope is missing or forged, without any change to the Double Ratchet. The
ratchet therefore hands every message key to an optional hook: on sending, ``seal`` returns
extension bytes that travel with the message and are authenticated as part of the AEAD associated
data (so they cannot be stripped or altered undetected); on receiving, ``check`` sees the same
key, header and extension once the AEAD has verified them, and may refuse the message by raising
:class:`~parley.crypto.errors.EnvelopeRejected`. A refusal leaves the caller's ratchet state
untouched, exactly like any other decryption failure.

The hook also sees the session's parties (both identity keys, as sender and recipient of this
message), so that an extension can be bound to the conversation and cannot be replayed into
another one (docs/warrant.md).

Without a hook no extension is produced, and an extension on a received message is authenticated
but otherwise ignored (so the standard build reads a warrant build's messages). The standard build
passes an :class:`ExtensionObserver`, which refuses nothing but remembers what a peer attached, so
that the app can tell its user that the contact runs a warrant build (no silent escrow).
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

MAX_EXTENSION_LEN = 0xFFFF
"""The wire format carries the extension length in two bytes."""

KIND_WARRANT_ENVELOPE_V1 = 1
"""First byte of a warrant envelope (docs/warrant.md); the next 8 bytes are the authority key id."""
KEY_ID_LEN = 8


class Parties(NamedTuple):
    """Who sends and who receives one message: their 32-byte Ed25519 identity public keys."""

    sender: bytes
    recipient: bytes


class MessageKeyHook(Protocol):
    """Sees every message key the ratchet uses; may attach and verify extension bytes."""

    def seal(self, message_key: bytes, header_bytes: bytes, parties: Parties) -> bytes:
        """Return the extension bytes to attach to the message about to be encrypted.

        Args:
            message_key: the 32-byte Double Ratchet message key of this message.
            header_bytes: the serialised ratchet header (see docs/protocol.md section 4).
            parties: this message's sender (us) and recipient identity keys.

        Returns:
            At most ``MAX_EXTENSION_LEN`` bytes; ``b""`` attaches nothing.
        """
        ...

    def check(
        self, message_key: bytes, header_bytes: bytes, parties: Parties, extension: bytes
    ) -> None:
        """Accept or refuse a received message whose AEAD has already verified.

        Raises:
            EnvelopeRejected: the extension is missing, malformed or does not match the key.
        """
        ...


class ExtensionSeen(NamedTuple):
    """What a peer attached to a message, as far as a build without envelope code can tell."""

    kind: int
    """First byte of the extension (``KIND_WARRANT_ENVELOPE_V1`` for a warrant envelope)."""
    key_id: str
    """The authority key id (hex) of a warrant envelope; "" for another kind."""
    length: int


def describe_extension(extension: bytes) -> ExtensionSeen | None:
    """Name an authenticated extension by its first bytes (None for an empty one).

    This only reads labels: it checks nothing, and needs no key.
    """
    if not extension:
        return None
    kind = extension[0]
    key_id = ""
    if kind == KIND_WARRANT_ENVELOPE_V1 and len(extension) > KEY_ID_LEN:
        key_id = extension[1 : 1 + KEY_ID_LEN].hex()
    return ExtensionSeen(kind, key_id, len(extension))


class ExtensionObserver:
    """A hook that attaches nothing, refuses nothing, and remembers the last extension it saw.

    The standard build's app decrypts with one of these per delivery: an envelope-bearing message
    is read normally, and the app learns (reliably, since the AEAD authenticated the extension)
    that the sender runs a warrant build.
    """

    __slots__ = ("seen",)

    def __init__(self) -> None:
        self.seen: ExtensionSeen | None = None

    def seal(self, message_key: bytes, header_bytes: bytes, parties: Parties) -> bytes:
        return b""

    def check(
        self, message_key: bytes, header_bytes: bytes, parties: Parties, extension: bytes
    ) -> None:
        self.seen = describe_extension(extension)
