"""What a received message shows about its sender's build, and refused messages kept as evidence.

No silent escrow: the extension of every message is authenticated by the AEAD, so when a contact's
messages carry a warrant envelope the standard build knows it for certain, records the contact as a
warrant-build contact and tells its user at once (ContactBuildChanged), whatever the invite said.
The warrant build likewise records a contact whose messages carry none (transitional policy).

A message the warrant build refuses (missing, malformed, forged, copied, relabelled, other
authority or epoch) is never shown as a message: it is stored as a "rejected" entry naming who
sent it and when the relay received it, with its encrypted bytes kept in the relay record (all in
the encrypted store), and the session is left as it was.
"""

from __future__ import annotations

import time

from parley.app import contacts as contact_ops
from parley.app.events import (
    ContactBuildChanged,
    ConversationChanged,
    ErrorRaised,
    Event,
    MessageAdded,
)
from parley.app.store import conversations, messages, relay_records
from parley.app.store.contacts import ContactRow
from parley.app.store.db import Database
from parley.app.store.messages import NewMessage
from parley.app.store.relay_records import RelayRecordRow
from parley.crypto.errors import EnvelopeRejected, MalformedData
from parley.crypto.keys import SIGNATURE_LEN, IdentityKeyPair, IdentityPublicKey
from parley.crypto.prekeys import SIGNED_PREKEY_PUBLIC_LEN
from parley.net.client_types import Delivery

WARRANT_DOC = "docs/warrant.md"
REASONS = {
    "missing": "it carries no warrant envelope, and this warrant build's policy is strict",
    "malformed": "its warrant envelope is malformed",
    "other-authority": "its warrant envelope is sealed to another authority",
    "other-epoch": "its warrant envelope is sealed to an epoch other than the one of its arrival",
    "mismatch": "its warrant envelope does not match the message (forged, random, copied from "
    "another message or relabelled)",
}


def warrant_notice(name: str, key_id: str) -> str:
    """The one plain paragraph a standard build shows about a warrant-build contact."""
    return (
        f"{name} uses the warrant build of Parley (authority {key_id or 'unknown'}). Every "
        f"message {name} sends also carries its key sealed to that lawful-access authority: any "
        "K of its trustees, acting on a logged warrant, can read those messages if the relay "
        "captured them, and they may quote what you wrote. Your own messages carry no such "
        "envelope, and a warrant build with the strict policy refuses them. Your safety number "
        "is unchanged and nobody is added to the conversation. What this means and what it "
        f"cannot do: {WARRANT_DOC}."
    )


def note_sender_build(
    db: Database, contact: ContactRow, shown: tuple[str, str] | None, now_variant: str
) -> list[Event]:
    """Record what a decrypted message showed about its sender's build; events if it changed.

    Args:
        shown: ("warrant", key id) or ("standard", "") from the receiving hook, or None.
        now_variant: this build's variant (a standard build never learns "standard" this way).
    """
    if shown is None:
        return []
    variant, key_id = shown
    known_key = contact_ops.authority_of(db, contact.id)
    if variant == contact.build_variant and key_id == known_key:
        return []
    contact_ops.set_build(db, contact.id, variant, key_id)
    conversation = contact_ops.conversation_of(db, contact.id)
    if variant == "warrant":
        explanation = warrant_notice(contact.display_name, key_id)
    else:
        explanation = (
            f"{contact.display_name} uses the standard build of Parley: their messages carry no "
            f"warrant envelope. This {now_variant} build accepts them under its transitional "
            "policy and marks each one."
        )
    told: list[Event] = [
        ContactBuildChanged(
            contact.id, conversation.id, contact.display_name, variant, key_id, explanation
        ),
        ErrorRaised(explanation),
    ]
    if contact.state == "accepted":  # a message request stays out of the conversation list
        view = contact_ops.conversation_view(db, conversations.get(db, conversation.id))
        told.insert(1, ConversationChanged(view))
    return told


def store_refused(
    db: Database,
    contact: ContactRow | None,
    delivery: Delivery,
    error: EnvelopeRejected,
    when: str,
) -> list[Event]:
    """Keep a refused message as evidence and say so (who, ``when``, why). Returns the events."""
    now = time.time()
    if contact is None:  # a refused first message: a stranger, so a message request
        contact, _ = contact_ops.create(
            db, delivery.sender, f"Unknown {delivery.sender.hex()[:8]}", state="request"
        )
    conversation = contact_ops.conversation_of(db, contact.id)
    reason = REASONS.get(error.reason, str(error))
    body = (
        f"Refused a message from {contact.display_name} (relay received it {when}): {reason}. "
        "It was not opened; its encrypted bytes are kept as evidence (What the relay saw)."
    )
    row = messages.add(
        db,
        NewMessage(
            delivery.message_id,
            conversation.id,
            "in",
            contact.display_name,
            body,
            delivery.relay_received_at,
            now,
            "rejected",
        ),
    )
    relay_records.record(
        db,
        RelayRecordRow(
            delivery.message_id,
            "in",
            delivery.payload,
            (
                ("sender account", delivery.sender.hex()),
                ("payload bytes", str(len(delivery.payload))),
                ("relay received at", when),
                ("refused", f"{error.reason}: {error}"),
            ),
            now,
            None,
            True,
        ),
    )
    conversations.touch(db, conversation.id, now, add_unread=1)
    events: list[Event] = [ErrorRaised(body)]
    if row is not None:
        events.insert(0, MessageAdded(contact_ops.message_view(db, row)))
    events.append(
        ConversationChanged(
            contact_ops.conversation_view(db, conversations.get(db, conversation.id))
        )
    )
    return events


# ---- the build in the prekey bundle ------------------------------------------------------------

BUNDLE_TAG_DOMAIN = b"parley-build-tag-v1"
BUNDLE_TAG_KIND = 1
_TAG_LEN = 1 + 8 + SIGNATURE_LEN


def tag_signed_prekey(record: bytes, authority_key_id: str, identity: IdentityKeyPair) -> bytes:
    """The signed prekey record as published: a warrant build appends its authority key id,
    signed by the identity key (so the relay can drop the tag but never forge one).

    Layout: ``record (109) || 0x01 || key id (8) || Ed25519 signature over domain || record ||
    0x01 || key id``. The standard build publishes the record alone, as before.
    """
    if not authority_key_id:
        return record
    tag = bytes((BUNDLE_TAG_KIND,)) + bytes.fromhex(authority_key_id)
    return record + tag + identity.sign(BUNDLE_TAG_DOMAIN + record + tag)


def split_signed_prekey(blob: bytes, identity: IdentityPublicKey) -> tuple[bytes, str]:
    """(signed prekey record, authority key id or "") from a fetched bundle's record.

    Raises:
        CryptoError: a tag that is malformed or not signed by the bundle's identity key.
    """
    if len(blob) == SIGNED_PREKEY_PUBLIC_LEN:
        return blob, ""
    record, tag = blob[:SIGNED_PREKEY_PUBLIC_LEN], blob[SIGNED_PREKEY_PUBLIC_LEN:]
    if len(tag) != _TAG_LEN or tag[0] != BUNDLE_TAG_KIND:
        raise MalformedData("The prekey bundle carries a build tag that does not parse.")
    identity.verify(BUNDLE_TAG_DOMAIN + record + tag[:9], tag[9:])
    return record, tag[1:9].hex()
