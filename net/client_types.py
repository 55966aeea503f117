"""What the relay client hands to the app: immutable records of deliveries, receipts and bundles.

They live apart from the client so that the app can type its callbacks against them without
pulling in the connection machinery.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Delivery:
    """A message the relay delivered to us; the app commits it, then the client acknowledges it.

    Attributes:
        message_id: the sender's id for the message; the same id can arrive twice (at-least-once).
        sender: the sender's account (identity public key), as authenticated by the relay.
        payload: the opaque ciphertext (never logged, hence not in the repr).
        relay_received_at: when the relay stored it (Unix seconds, the relay's clock).
    """

    message_id: bytes
    sender: bytes
    payload: bytes = field(repr=False)
    relay_received_at: float


@dataclass(frozen=True)
class SendReceipt:
    """Proof that the relay stored a message durably: the sender may now forget its retry copy.

    Attributes:
        message_id: the id the message was sent with.
        stored_at: when the relay stored it (Unix seconds, the relay's clock).
        expires_at: when the relay will drop it if the recipient has not fetched it.
        frame: the exact bytes of the frame that carried the message to the relay, for the app's
            "what the relay saw" view.
    """

    message_id: bytes
    stored_at: float
    expires_at: float
    frame: bytes = field(repr=False)


@dataclass(frozen=True)
class FetchedBundle:
    """A contact's prekey bundle as the relay holds it (signatures are checked by the caller).

    Attributes:
        identity_key: the account, that is the contact's identity public key.
        signed_prekey: the signed prekey record as the owner published it.
        one_time_prekey: one one-time prekey, handed out to us alone, or None when none are left.
    """

    identity_key: bytes
    signed_prekey: bytes
    one_time_prekey: bytes | None
