"""Opening one captured session message with a message key recovered from its warrant envelope.

The relay captured the session message exactly as the sender sent it (docs/protocol.md section 5);
the relay's record names the two accounts, which are the parties' identity keys. The session's
associated data is ``IK_initiator || IK_responder || prefix``; a captured message does not say who
initiated the session, so both orders are tried: the AEAD accepts exactly the right one.
"""

from __future__ import annotations

from parley.crypto import ratchet, session, x3dh
from parley.crypto.errors import DecryptionError, MalformedData
from parley.crypto.ratchet import RatchetMessage


def split(message_bytes: bytes) -> tuple[bytes, RatchetMessage]:
    """(prefix, ratchet message) of a session message.

    Raises:
        MalformedData: not a Parley session message.
    """
    if len(message_bytes) < 2 or message_bytes[0] != session.WIRE_VERSION:
        raise MalformedData("The captured content is not a Parley session message.")
    if message_bytes[1] == session.TYPE_NORMAL:
        end = 2
    elif message_bytes[1] == session.TYPE_INITIAL:
        end = 2 + x3dh.HEADER_LEN
    else:
        raise MalformedData("The captured content is not a Parley session message.")
    return message_bytes[:end], RatchetMessage.from_bytes(message_bytes[end:])


def open_captured(
    message_bytes: bytes, message_key: bytes, sender: bytes, recipient: bytes
) -> bytes:
    """The plaintext of a captured message between two accounts, given its message key.

    Raises:
        MalformedData: the content is not a session message.
        DecryptionError: the key does not open it between these two parties.
    """
    prefix, message = split(message_bytes)
    for ad in (sender + recipient, recipient + sender):
        try:
            return ratchet.decrypt_with_key(message, message_key, ad + prefix)
        except DecryptionError:
            continue
    raise DecryptionError("The recovered key does not open the captured message.")
