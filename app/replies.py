"""Replies and reactions: what a quote shows, which message a reaction may touch.

Both name another message by its 16-byte id, and both come from the other side of an end-to-end
session, so neither is trusted beyond the conversation it arrived in:

- A quote is shown from the ORIGINAL when this device has it in the same conversation (author and
  text from the stored message); only otherwise is the sender's excerpt shown, marked as a claim
  (``ReplyView.found`` False). A forged excerpt of a real message therefore cannot put words in
  anyone's mouth, and an id from another conversation shows nothing of that conversation.
- A reaction changes only a message of the conversation it arrived in (neither a system line nor
  another conversation's message, nor an unknown id), and only a contact's: a message request's
  reactions are dropped, as nothing else from a request acts on this device's state.
"""

from __future__ import annotations

from parley.app import content as content_format
from parley.app.errors import ContactNotFound
from parley.app.events import ReactionView, ReplyView
from parley.app.store import contacts, conversations, messages, replies
from parley.app.store.db import Database
from parley.app.store.errors import NotFound
from parley.app.store.messages import MessageRow
from parley.app.store.replies import QuoteRow, ReactionRow, Side

YOU = "You"
SOMEONE_ELSE = "Someone else"


def target(db: Database, conversation_id: str, message_id: bytes) -> MessageRow | None:
    """The message ``message_id`` if it is a message (not a system line) of this conversation."""
    try:
        row = messages.get(db, message_id)
    except NotFound:
        return None
    if row.conversation_id != conversation_id or row.kind != "message":
        return None
    return row


def quote_for(
    db: Database, conversation_id: str, message_id: bytes, me: bytes
) -> tuple[content_format.Quote, Side]:
    """The quote of one of this conversation's messages, for a reply we send.

    Raises:
        ContactNotFound: there is no such message in this conversation.
    """
    original = target(db, conversation_id, message_id)
    if original is None:
        raise ContactNotFound(f"There is no message {message_id.hex()} in this conversation.")
    if original.direction == "out":
        author = me
    else:
        contact_id = conversations.get(db, conversation_id).contact_id
        author = contacts.get(db, contact_id).identity_key
    quote = content_format.Quote(original.id, author, content_format.excerpt(original.body))
    return quote, original.direction


def side_of(author: bytes, me: bytes, sender: bytes) -> Side | None:
    """Whose key a received quote names: mine ("out"), its sender's ("in"), or nobody's here."""
    if author == me:
        return "out"
    if author == sender:
        return "in"
    return None


def store_quote(
    db: Database, message_id: bytes, quote: content_format.Quote, side: Side | None
) -> None:
    replies.add_quote(db, QuoteRow(message_id, quote.message_id, quote.author, side, quote.excerpt))


def stored_quote(db: Database, message_id: bytes) -> content_format.Quote | None:
    """The quote one of our messages carried, to send it again exactly (session recovery)."""
    row = replies.quote_of(db, message_id)
    return None if row is None else content_format.Quote(row.quoted_id, row.author, row.excerpt)


def reply_view(db: Database, row: MessageRow) -> ReplyView | None:
    """What ``row`` quotes, as shown: the local original if there is one, else the claim."""
    quote = replies.quote_of(db, row.id)
    if quote is None:
        return None
    original = target(db, row.conversation_id, quote.quoted_id)
    if original is not None:
        author = YOU if original.direction == "out" else original.sender
        return ReplyView(
            quote.quoted_id.hex(),
            author,
            content_format.excerpt(original.body),
            True,
            original.attachment_id is not None,
        )
    if quote.author_side == "out":
        author = YOU
    elif quote.author_side == "in":
        author = _contact_name(db, row.conversation_id)
    else:
        author = SOMEONE_ELSE
    return ReplyView(quote.quoted_id.hex(), author, quote.excerpt, False)


def _contact_name(db: Database, conversation_id: str) -> str:
    contact_id = conversations.get(db, conversation_id).contact_id
    return contacts.get(db, contact_id).display_name


def reaction_views(rows: list[ReactionRow]) -> tuple[ReactionView, ...]:
    """Reactions grouped by emoji, in the order each emoji was first chosen."""
    counts: dict[str, int] = {}
    mine: set[str] = set()
    for reaction in rows:
        counts[reaction.emoji] = counts.get(reaction.emoji, 0) + 1
        if reaction.side == "out":
            mine.add(reaction.emoji)
    return tuple(ReactionView(emoji, n, emoji in mine) for emoji, n in counts.items())
