"""Everything net/ raises, with a stable machine code and a sentence a person can read.

The tree::

    NetError                        anything that went wrong in the network layer
    +-- WireError                   a frame that is not valid under the wire schema (has ``code``)
    |   +-- MalformedFrame          not msgpack, not a map, a missing or mistyped field: bad_frame
    |   +-- UnknownFrameType        a well-formed map whose ``type`` this side does not know
    |   +-- FieldTooLarge           a field over its size limit (payload, prekey batch): too_large
    |   +-- UnsupportedVersion      the peer speaks another version of the schema
    +-- RelayRefused                the relay answered a request with an error frame (client side)
    +-- ClientError                 the relay client could not do what was asked
    |   +-- RequestTimeout          no connection or no reply within the request's timeout
    |   +-- ClientClosed            the client was closed while the request waited
    +-- StoreError                  the relay's store could not read or write (disk full, corrupt)
    +-- RelayConfigError            a relay option that cannot work (bad TTL, bad data directory)
    +-- InterceptError              a warrant, HI1 order or capture record that is malformed or
                                    whose signature does not verify (lawful interception only)

Why one code per class: the relay turns a WireError into an error frame whose ``code`` is the
class's code, so a client (or a test) can react to a refusal without parsing English.
"""

from __future__ import annotations


class NetError(Exception):
    """Base class of every error raised by parley.net."""


class WireError(NetError):
    """A frame that cannot be accepted under the wire schema.

    Attributes:
        code: the stable error code that the relay puts in its error frame.
        reason: what is wrong, for a person.
        request_id: the frame's request id when it could be read, so the reply can carry it.
    """

    code = "bad_frame"

    def __init__(self, reason: str, request_id: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.request_id = request_id


class MalformedFrame(WireError):
    """Not msgpack, not a map, or a field that is missing or of the wrong type or length."""

    code = "bad_frame"


class UnknownFrameType(WireError):
    """A map whose ``type`` is not one this side of the protocol accepts."""

    code = "unknown_type"


class FieldTooLarge(WireError):
    """A field over its documented size limit (for example a payload over 256 KiB)."""

    code = "too_large"


class UnsupportedVersion(WireError):
    """The peer announced a protocol version that this side does not speak."""

    code = "unsupported_version"


class RelayRefused(NetError):
    """The relay refused a request; ``code`` is one of the stable codes in docs/protocol.md.

    Attributes:
        code: the stable code from the error frame (for example ``quota_exceeded``).
        reason: the relay's explanation, for a person.
        request_id: the id of the refused request, or None for a connection-level refusal.
    """

    def __init__(self, code: str, reason: str, request_id: int | None = None) -> None:
        super().__init__(f"the relay refused the request ({code}): {reason}")
        self.code = code
        self.reason = reason
        self.request_id = request_id


class ClientError(NetError):
    """The relay client could not do what was asked; the message says why, for a person."""


class RequestTimeout(ClientError):
    """No connection to the relay, or no reply from it, within the request's timeout."""


class ClientClosed(ClientError):
    """The client was closed while the request was waiting."""


class StoreError(NetError):
    """The relay's store failed; the request was not committed and the client should retry."""


class RelayConfigError(NetError):
    """A relay setting that cannot work, explained so an operator can fix the command line."""


class InterceptError(NetError):
    """A lawful-interception document (warrant, HI1 order, capture record) that cannot be accepted;
    the message is one sentence naming what is missing or wrong."""
