"""Contacts and conversations: adding from an invite, trust state, and the views the UI shows.

Trust rules (docs/protocol.md, section "app"):

- A contact is keyed by a random id, not by its identity key, so that a key change keeps the
  conversation and its history.
- A key change (a new identity claiming, end-to-end, to replace a known one) stores the new key,
  flags ``key_changed`` and, if the contact was verified, records that sending is BLOCKED until
  the user accepts the new key (``accept_key_change``). An unverified contact is flagged but not
  blocked, as in Signal: the warning is shown, the user was never relying on a verified key.

All functions are synchronous and run on the core thread inside the caller's transaction.
"""

from __future__ import annotations

import os
import time

from parley.app.events import (
    AttachmentView,
    ContactView,
    ConversationView,
    MessageView,
    SafetyNumberView,
)
from parley.app.store import attachments, contacts, conversations, messages, settings
from parley.app.store.contacts import ContactRow
from parley.app.store.conversations import ConversationRow
from parley.app.store.db import Database
from parley.app.store.messages import MessageRow
from parley.crypto.keys import IdentityPublicKey
from parley.crypto.safety import qr_payload, safety_number

_BLOCKED_PREFIX = "contact.send_blocked."
_AUTHORITY_PREFIX = "contact.authority."
_ACKNOWLEDGED_PREFIX = "contact.build_acknowledged."
PREVIEW_CHARS = 80


def new_id() -> str:
    """A random id for a contact, conversation or attachment (32 hex digits)."""
    return os.urandom(16).hex()


def create(
    db: Database, identity_key: bytes, display_name: str, *, build_variant: str = "standard"
) -> tuple[ContactRow, ConversationRow]:
    """Add a contact and its conversation (call inside a transaction)."""
    now = time.time()
    row = ContactRow(new_id(), display_name, identity_key, False, False, now, build_variant)
    contacts.add(db, row)
    conversation = ConversationRow(new_id(), row.id, 0, now)
    conversations.add(db, conversation)
    return row, conversation


def conversation_of(db: Database, contact_id: str) -> ConversationRow:
    """The contact's conversation, created if it is missing."""
    found = conversations.for_contact(db, contact_id)
    if found is not None:
        return found
    row = ConversationRow(new_id(), contact_id, 0, time.time())
    conversations.add(db, row)
    return row


def record_key_change(db: Database, contact: ContactRow, new_identity_key: bytes) -> None:
    """Store the contact's new key; block sending if the old key had been verified."""
    if contact.verified:
        settings.put(db, _BLOCKED_PREFIX + contact.id, "1")
    contacts.record_key_change(db, contact.id, new_identity_key)


def set_build(db: Database, contact_id: str, build_variant: str, authority_key_id: str) -> None:
    """Record the build a contact runs (from its invite or, reliably, from its messages)."""
    contacts.set_build_variant(db, contact_id, build_variant)
    if authority_key_id:
        settings.put(db, _AUTHORITY_PREFIX + contact_id, authority_key_id)
    else:
        settings.delete(db, _AUTHORITY_PREFIX + contact_id)


def acknowledge_build(db: Database, contact_id: str) -> None:
    """Remember that the user was told what writing to this warrant-build contact means."""
    settings.put(db, _ACKNOWLEDGED_PREFIX + contact_id, authority_of(db, contact_id) or "?")


def build_acknowledged(db: Database, contact_id: str) -> bool:
    """Whether the user was told about this contact's current authority (a new one asks again)."""
    told = settings.get(db, _ACKNOWLEDGED_PREFIX + contact_id)
    return told is not None and told == (authority_of(db, contact_id) or "?")


def authority_of(db: Database, contact_id: str) -> str:
    """The authority key id a warrant-build contact's envelopes name ("" if none is known)."""
    return settings.get(db, _AUTHORITY_PREFIX + contact_id) or ""


def send_blocked(db: Database, contact: ContactRow) -> bool:
    """Whether sending to ``contact`` waits for the user to accept its changed key."""
    return contact.key_changed and settings.get(db, _BLOCKED_PREFIX + contact.id) == "1"


def accept_key_change(db: Database, contact_id: str) -> None:
    """The user accepted the new key: clear the flag and the block (the key is unverified)."""
    contacts.accept_key_change(db, contact_id)
    settings.delete(db, _BLOCKED_PREFIX + contact_id)


# ---- views ---------------------------------------------------------------------------------


def contact_view(row: ContactRow) -> ContactView:
    return ContactView(
        row.id,
        row.display_name,
        row.identity_key.hex(),
        row.verified,
        row.key_changed,
        row.build_variant,
    )


def message_view(db: Database, row: MessageRow) -> MessageView:
    attachment = None
    if row.attachment_id is not None:
        meta = attachments.get_meta(db, row.attachment_id)
        attachment = AttachmentView(
            meta.id, meta.mime_type, meta.size, meta.width, meta.height, meta.file_name
        )
    return MessageView(
        row.id.hex(),
        row.conversation_id,
        row.seq,
        row.direction,
        row.sender,
        row.body,
        row.sent_at,
        row.received_at,
        row.status,
        attachment,
    )


def conversation_view(db: Database, row: ConversationRow) -> ConversationView:
    contact = contacts.get(db, row.contact_id)
    latest = messages.latest(db, row.id)
    preview = ""
    if latest is not None:
        preview = latest.body or ("Picture" if latest.attachment_id else "")
        preview = preview.replace("\n", " ")[:PREVIEW_CHARS]
    return ConversationView(
        row.id,
        contact.id,
        contact.display_name,
        row.unread,
        preview,
        row.last_activity,
        contact.verified,
        contact.key_changed,
        contact.build_variant,
        authority_of(db, contact.id) if contact.build_variant == "warrant" else "",
        contact.build_variant == "warrant" and build_acknowledged(db, contact.id),
        contact.identity_key.hex(),
    )


def safety_view(mine: IdentityPublicKey, contact: ContactRow) -> SafetyNumberView:
    theirs = IdentityPublicKey.from_bytes(contact.identity_key)
    return SafetyNumberView(
        contact.id, safety_number(mine, theirs), qr_payload(mine, theirs), contact.verified
    )
