"""The message-key hook: a seam through which a later build can wrap each message key.

The warrant build of a later issue must attach an envelope holding each message key to every
message, and refuse messages whose envelope is missing or forged, without any change to the
Double Ratchet. The ratchet therefore hands every message key to an optional hook: on sending,
``seal`` returns extension bytes that travel with the message and are authenticated as part of
the AEAD associated data (so they cannot be stripped or altered undetected); on receiving,
``check`` sees the same key, header and extension once the AEAD has verified them, and may
refuse the message by raising :class:`~parley.crypto.errors.EnvelopeRejected`. A refusal leaves
the caller's ratchet state untouched, exactly like any other decryption failure.

The default is no hook: no extension is produced, and an extension on a received message is
authenticated but otherwise ignored (so the default build can read a warrant build's messages).
"""

from __future__ import annotations

from typing import Protocol

MAX_EXTENSION_LEN = 0xFFFF
"""The wire format carries the extension length in two bytes."""


class MessageKeyHook(Protocol):
    """Sees every message key the ratchet uses; may attach and verify extension bytes."""

    def seal(self, message_key: bytes, header_bytes: bytes) -> bytes:
        """Return the extension bytes to attach to the message about to be encrypted.

        Args:
            message_key: the 32-byte Double Ratchet message key of this message.
            header_bytes: the serialised ratchet header (see docs/protocol.md section 4).

        Returns:
            At most ``MAX_EXTENSION_LEN`` bytes; ``b""`` attaches nothing.
        """
        ...

    def check(self, message_key: bytes, header_bytes: bytes, extension: bytes) -> None:
        """Accept or refuse a received message whose AEAD has already verified.

        Raises:
            EnvelopeRejected: the extension is missing, malformed or does not match the key.
        """
        ...
