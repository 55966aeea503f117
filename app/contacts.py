"""Contacts and conversations: adding from an invite, trust state, and the views the UI shows.

Trust rules (docs/protocol.md, sections 8, 8.1 "Succession statements", 8.2 "Message requests"):

- A first message from an identity that is not a contact makes a message REQUEST (state
  "request"): its claimed name is kept as a claim, nothing is sent back (no receipt) until the
  user accepts it; deleting forgets it; blocking keeps only the identity key, and every later
  delivery from it is acknowledged to the relay, counted and dropped, never stored (its earlier
  history stays, hidden with it).
- A contact's identity key changes only with a succession statement signed by the old key
  (crypto/succession.py) or when the user merges a request into the contact after comparing
  safety numbers. Every rebinding writes a system line into the conversation.
- A contact is keyed by a random id, not by its identity key, so that a key change keeps the
  conversation and its history.
- A key change (a new identity proven by a succession statement) stores the new key,
  flags ``key_changed`` and, if the contact was verified, records that sending is BLOCKED until
  the user accepts the new key (``accept_key_change``). An unverified contact is flagged but not
  blocked, as in Signal: the warning is shown, the user was never relying on a verified key.

All functions are synchronous and run on the core thread inside the caller's transaction.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace

from parley.app import replies
from parley.app.events import (
    AttachmentView,
    BlockedView,
    ContactView,
    ConversationView,
    MessageView,
    RequestView,
    SafetyNumberView,
)
from parley.app.store import attachments, contacts, conversations, messages, sessions, settings
from parley.app.store import replies as replies_repo
from parley.app.store.contacts import ContactRow, State
from parley.app.store.conversations import ConversationRow
from parley.app.store.db import Database
from parley.app.store.messages import MessageRow, NewMessage
from parley.crypto.keys import IdentityPublicKey
from parley.crypto.safety import qr_payload, safety_number

_BLOCKED_PREFIX = "contact.send_blocked."
_AUTHORITY_PREFIX = "contact.authority."
_ACKNOWLEDGED_PREFIX = "contact.build_acknowledged."
PREVIEW_CHARS = 80


def new_id() -> str:
    """A random id for a contact, conversation or attachment (32 hex digits)."""
    return os.urandom(16).hex()


def fingerprint(identity_key: bytes) -> str:
    """The short fingerprint shown next to a stranger's claimed name: 16 hex digits in fours."""
    digits = identity_key.hex()[:16]
    return " ".join(digits[i : i + 4] for i in range(0, 16, 4))


def display_label(row: ContactRow) -> str:
    """How to name a sender to the user: a contact by its name; a request by its CLAIMED name,
    marked as a claim, with the fingerprint of its identity key."""
    if row.state == "accepted":
        return row.display_name
    claim = f"\u201c{row.claimed_name}\u201d (unverified name)" if row.claimed_name else "Unknown"
    return f"{claim} \u00b7 {fingerprint(row.identity_key)}"


def create(
    db: Database,
    identity_key: bytes,
    display_name: str,
    *,
    build_variant: str = "standard",
    state: State = "accepted",
    claimed_name: str | None = None,
    claims_was: bytes | None = None,
) -> tuple[ContactRow, ConversationRow]:
    """Add a contact (or request) and its conversation (call inside a transaction)."""
    now = time.time()
    row = ContactRow(
        new_id(),
        display_name,
        identity_key,
        False,
        False,
        now,
        build_variant,
        state,
        claimed_name,
        claims_was,
    )
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


def system_line(db: Database, conversation_id: str, text: str, now: float) -> MessageRow:
    """Write a line of the app's own into a conversation (stored as read, never sent)."""
    row = messages.add(
        db,
        NewMessage(
            os.urandom(messages.MESSAGE_ID_BYTES),
            conversation_id,
            "in",
            "Parley",
            text,
            now,
            now,
            "read",
            None,
            "system",
        ),
    )
    if row is None:  # 128 random bits clashed: impossible in practice
        raise RuntimeError("a system line's random id clashed")
    conversations.touch(db, conversation_id, now)
    return row


def rebind(
    db: Database, contact: ContactRow, new_identity_key: bytes, why: str, now: float
) -> MessageRow:
    """Move ``contact`` to a new identity key: its old sessions go, verification is dropped
    (sending stays blocked until accepted if it was verified), and a system line says so."""
    record_key_change(db, contact, new_identity_key)
    sessions.delete(db, contact.id)
    conversation = conversation_of(db, contact.id)
    text = (
        f"{contact.display_name}'s identity key changed ({why}). New key "
        f"{fingerprint(new_identity_key)}. Compare safety numbers again"
        + (" before sending: sending is blocked until you accept it." if contact.verified else ".")
    )
    return system_line(db, conversation.id, text, now)


def merge(db: Database, source: ContactRow, into: ContactRow, now: float) -> MessageRow:
    """The user compared safety numbers with ``source`` (a request or contact with a new key) and
    says it is the same person as ``into``: ``into`` takes the key, the session and the history."""
    source_conversation = conversation_of(db, source.id)
    target_conversation = conversation_of(db, into.id)
    messages.move(db, source_conversation.id, target_conversation.id)
    state = sessions.load(db, source.id)
    contacts.delete(db, source.id)
    contacts.record_key_change(db, into.id, source.identity_key)
    contacts.accept_key_change(db, into.id)
    contacts.set_verified(db, into.id, True)
    settings.delete(db, _BLOCKED_PREFIX + into.id)
    sessions.delete(db, into.id)
    if state is not None:
        sessions.save(db, into.id, state, now=now)
    conversations.touch(db, target_conversation.id, now)
    text = (
        f"You merged {fingerprint(source.identity_key)} into {into.display_name} after comparing "
        "safety numbers: this is their identity key now."
    )
    return system_line(db, target_conversation.id, text, now)


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


def message_view(db: Database, row: MessageRow, *, fresh: bool = False) -> MessageView:
    """One stored message as the UI shows it. ``fresh``: just stored, so nothing has reacted
    to it yet (the receive pipeline skips that query for every message of a catch-up)."""
    reactions = None if fresh else replies_repo.reactions_of(db, [row.id])
    return _view(db, row, reactions)


def message_views(db: Database, rows: list[MessageRow]) -> list[MessageView]:
    """A page of messages, their reactions read in one query."""
    reactions = replies_repo.reactions_of(db, [r.id for r in rows])
    return [_view(db, r, reactions) for r in rows]


def _view(
    db: Database, row: MessageRow, reactions: dict[bytes, list[replies_repo.ReactionRow]] | None
) -> MessageView:
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
        row.kind,
        replies.reply_view(db, row),
        replies.reaction_views((reactions or {}).get(row.id, [])),
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


def blocked_view(db: Database, row: ContactRow) -> BlockedView:
    """A blocked identity named as the user knew it (a contact's name is the user's choice, a
    request's only its claim), with its fingerprint and what unblocking gives back."""
    was = contacts.blocked_from(db, row.id)
    short = fingerprint(row.identity_key)
    label = display_label(replace(row, state=was))
    if was == "accepted":
        label = f"{label} \u00b7 {short}"
    return BlockedView(
        row.id, label, short, row.identity_key.hex(), was, contacts.dropped(db, row.id)
    )


def request_view(db: Database, row: ContactRow) -> RequestView:
    conversation = conversation_of(db, row.id)
    count_row = db.one(
        "SELECT count(*) FROM messages WHERE conversation_id = ? AND kind = 'message'",
        (conversation.id,),
    )
    latest = messages.latest(db, conversation.id)
    preview = ""
    if latest is not None:
        preview = latest.body or ("Picture" if latest.attachment_id else "")
        preview = preview.replace("\n", " ")[:PREVIEW_CHARS]
    replaces = None
    if row.claims_was is not None:
        previous = contacts.find_by_identity_key(db, row.claims_was)
        if previous is not None and previous.state == "accepted":
            replaces = contact_view(previous)
    return RequestView(
        row.id,
        conversation.id,
        row.claimed_name,
        fingerprint(row.identity_key),
        row.identity_key.hex(),
        row.first_seen,
        int(count_row[0]) if count_row else 0,
        preview,
        replaces,
    )
