"""The "cannot decrypt" notice: a recipient tells a sender that one of its messages failed.

Signal's DecryptionErrorMessage (a retry request) is the anchor: the recipient of a message it
cannot decrypt answers outside the broken session, and the sender starts a fresh session and sends
again what was not delivered. Parley's notice is signed by the reporter's identity key, because it
travels outside any session and a relay (or anyone) must not be able to force session resets.

Wire form (a relay payload, 90 bytes; docs/protocol.md s5)::

    0x01 (session wire version) || 0x03 (type: notice) || message_id (16) || u64 created_at
    || Sign(IK_reporter, NoticeMessage) (64)

    NoticeMessage = "Parley cannot decrypt v1" || 0x00 || IK_reporter (32) || IK_sender (32)
                    || message_id (16) || u64 created_at

The identity keys are not on the wire (the relay names the reporter as the delivery's sender, and
the sender is the one verifying), but they are signed: a notice is bound to the one failed message,
to who failed to read it and to whom it was sent, so it cannot be replayed to anyone else, and the
domain string keeps it apart from every other Parley signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from parley.crypto.encoding import Reader, check_u64, u64
from parley.crypto.errors import MalformedData
from parley.crypto.keys import SIGNATURE_LEN, IdentityKeyPair, IdentityPublicKey

WIRE_VERSION: Final = 1
TYPE_NOTICE: Final = 3
"""The session wire type of a notice (1 and 2 are session messages, crypto/session.py)."""
PREFIX: Final = bytes((WIRE_VERSION, TYPE_NOTICE))
MESSAGE_ID_LEN: Final = 16
NOTICE_LEN: Final = len(PREFIX) + MESSAGE_ID_LEN + 8 + SIGNATURE_LEN
DOMAIN: Final = b"Parley cannot decrypt v1\x00"


@dataclass(frozen=True)
class Notice:
    """A parsed notice; ``verify`` before believing any of it."""

    message_id: bytes
    created_at: int
    signature: bytes

    def verify(self, reporter: IdentityPublicKey, sender: IdentityPublicKey) -> None:
        """Check that ``reporter`` signed this notice about a message ``sender`` sent it.

        Raises:
            InvalidSignature: forged, altered, or about another sender's message.
        """
        reporter.verify(
            signed_message(reporter, sender, self.message_id, self.created_at), self.signature
        )


def signed_message(
    reporter: IdentityPublicKey, sender: IdentityPublicKey, message_id: bytes, created_at: int
) -> bytes:
    """NoticeMessage, the bytes the reporter signs."""
    return b"".join((DOMAIN, reporter.to_bytes(), sender.to_bytes(), message_id, u64(created_at)))


def make_notice(
    reporter: IdentityKeyPair, sender: IdentityPublicKey, message_id: bytes, created_at: int
) -> bytes:
    """The wire bytes of a notice that ``message_id`` from ``sender`` could not be decrypted.

    Raises:
        MalformedData: the message id is not 16 bytes or the time is out of range.
    """
    if not isinstance(message_id, bytes) or len(message_id) != MESSAGE_ID_LEN:
        raise MalformedData("A notice names a 16-byte message id.")
    check_u64(created_at, "the notice's time")
    signature = reporter.sign(signed_message(reporter.public, sender, message_id, created_at))
    return b"".join((PREFIX, message_id, u64(created_at), signature))


def is_notice(payload: bytes) -> bool:
    """Whether a relay payload claims to be a notice (it still has to parse and verify)."""
    return payload[:2] == PREFIX


def parse_notice(payload: bytes) -> Notice:
    """Parse the wire form (it does not verify the signature).

    Raises:
        MalformedData: not a notice, or a wrong length.
    """
    reader = Reader(payload, "a cannot-decrypt notice")
    reader.version(WIRE_VERSION)
    if reader.u8() != TYPE_NOTICE:
        raise MalformedData("This message is not a cannot-decrypt notice.")
    message_id = reader.take(MESSAGE_ID_LEN)
    created_at = reader.u64()
    signature = reader.take(SIGNATURE_LEN)
    reader.finish()
    return Notice(message_id, created_at, signature)
