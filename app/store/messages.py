"""Messages: one row each, paged by ``seq`` (monotonic row number) within a conversation.

``page`` walks ``messages_by_conversation (conversation_id, seq)`` backwards from a cursor, so the
newest 50 of a 100k-message conversation cost an index seek and 50 row reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from parley.app.store._rows import RowReader
from parley.app.store.db import Database
from parley.app.store.errors import NotFound, StoreError

Direction = Literal["in", "out"]
Status = Literal["sending", "sent", "delivered", "read", "failed", "rejected"]
Kind = Literal["message", "system"]
KINDS: tuple[Kind, ...] = ("message", "system")
DIRECTIONS: tuple[Direction, ...] = ("in", "out")
STATUSES: tuple[Status, ...] = ("sending", "sent", "delivered", "read", "failed", "rejected")
MESSAGE_ID_BYTES = 16
MAX_PAGE = 1000

COLUMNS = (
    "seq",
    "id",
    "conversation_id",
    "direction",
    "sender",
    "body",
    "sent_at",
    "received_at",
    "status",
    "attachment_id",
    "kind",
)
_INSERT_COLUMNS = COLUMNS[1:]
_SELECT = (
    "SELECT seq, id, conversation_id, direction, sender, body, sent_at, received_at, status, "
    "attachment_id, kind FROM messages "
)


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to store; the store assigns its ``seq``."""

    id: bytes
    conversation_id: str
    direction: Direction
    sender: str
    body: str
    sent_at: float
    received_at: float | None
    status: Status
    attachment_id: str | None = None
    kind: Kind = "message"  # "system": a line this app wrote (a key change, a refused message)


@dataclass(frozen=True, slots=True)
class MessageRow:
    seq: int
    id: bytes
    conversation_id: str
    direction: Direction
    sender: str
    body: str
    sent_at: float
    received_at: float | None
    status: Status
    attachment_id: str | None
    kind: Kind = "message"


def parse(row: tuple[object, ...]) -> MessageRow:
    """A stored message row (columns as ``COLUMNS``) as a MessageRow; MalformedRow if damaged."""
    r = RowReader("messages", row, COLUMNS)
    return MessageRow(
        r.integer("seq", 1),
        r.blob("id", MESSAGE_ID_BYTES),
        r.text("conversation_id"),
        r.choice("direction", DIRECTIONS),
        r.text("sender"),
        r.text("body"),
        r.real("sent_at"),
        r.opt_real("received_at"),
        r.choice("status", STATUSES),
        r.opt_text("attachment_id"),
        r.choice("kind", KINDS),
    )


def _values(m: NewMessage) -> tuple[bytes | str | float | None, ...]:
    if len(m.id) != MESSAGE_ID_BYTES:
        raise StoreError("A message id must be 16 bytes.")
    return (
        m.id,
        m.conversation_id,
        m.direction,
        m.sender,
        m.body,
        m.sent_at,
        m.received_at,
        m.status,
        m.attachment_id,
        m.kind,
    )


_INSERT = (
    "INSERT INTO messages (id, conversation_id, direction, sender, body, sent_at, "
    "received_at, status, attachment_id, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def add(db: Database, message: NewMessage) -> MessageRow | None:
    """Store ``message`` and return it with its seq; None if its id is already stored.

    Duplicates (a redelivered frame) are dropped here, atomically, rather than checked first.
    Only a clash on the message id is ignored: any other constraint still raises.
    """
    cursor = db.execute(_INSERT + " ON CONFLICT (id) DO NOTHING", _values(message))
    if cursor.rowcount == 0:
        return None
    seq = cursor.lastrowid
    if not isinstance(seq, int):
        raise StoreError("The database did not report the new message's row number.")
    m = message
    return MessageRow(
        seq,
        m.id,
        m.conversation_id,
        m.direction,
        m.sender,
        m.body,
        m.sent_at,
        m.received_at,
        m.status,
        m.attachment_id,
        m.kind,
    )


def add_many(db: Database, batch: list[NewMessage]) -> None:
    """Store many messages in one transaction (imports, catch-up, benchmarks); ids must be new."""
    db.executemany(_INSERT, [_values(m) for m in batch])


def get(db: Database, message_id: bytes) -> MessageRow:
    """The message with ``message_id``. Raises NotFound."""
    row = db.one(
        _SELECT + "WHERE id = ?",
        (message_id,),
    )
    if row is None:
        raise NotFound(f"No message {message_id.hex()}.")
    return parse(row)


def exists(db: Database, message_id: bytes) -> bool:
    """Whether a message with this id is stored (duplicate detection)."""
    return db.one("SELECT 1 FROM messages WHERE id = ?", (message_id,)) is not None


def page(
    db: Database, conversation_id: str, *, before_seq: int | None = None, limit: int = 50
) -> list[MessageRow]:
    """The newest ``limit`` messages of a conversation older than ``before_seq``, oldest first.

    Pass the smallest seq of the previous page as ``before_seq`` to scroll further back.
    """
    if not 0 < limit <= MAX_PAGE:
        raise StoreError(f"A page holds 1..{MAX_PAGE} messages.")
    cursor = (1 << 63) - 1 if before_seq is None else before_seq
    rows = db.all(
        _SELECT + "WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
        (conversation_id, cursor, limit),
    )
    return [parse(r) for r in reversed(rows)]


def latest(db: Database, conversation_id: str) -> MessageRow | None:
    """The newest message of a conversation (for the conversation list preview)."""
    rows = page(db, conversation_id, limit=1)
    return rows[0] if rows else None


def set_status(db: Database, message_id: bytes, status: Status) -> None:
    """Update a message's delivery status. Raises NotFound."""
    if status not in STATUSES:
        raise StoreError(f"Unknown message status {status!r}.")
    cursor = db.execute("UPDATE messages SET status = ? WHERE id = ?", (status, message_id))
    if cursor.rowcount == 0:
        raise NotFound(f"No message {message_id.hex()}.")


def delete(db: Database, message_id: bytes) -> None:
    """Delete a message (secure_delete zeroes its bytes; the search index follows by trigger)."""
    db.execute("DELETE FROM messages WHERE id = ?", (message_id,))


def move(db: Database, from_conversation: str, to_conversation: str) -> None:
    """Move every message of one conversation into another (merging two contacts); ``seq`` is
    kept, so the merged history stays in the order it arrived."""
    db.execute(
        "UPDATE messages SET conversation_id = ? WHERE conversation_id = ?",
        (to_conversation, from_conversation),
    )


def incoming_after(db: Database, after_seq: int, *, limit: int = MAX_PAGE) -> list[MessageRow]:
    """Received messages stored after ``after_seq`` (every conversation), oldest first."""
    rows = db.all(
        _SELECT + "WHERE direction = 'in' AND kind = 'message' AND seq > ? ORDER BY seq LIMIT ?",
        (after_seq, limit),
    )
    return [parse(r) for r in rows]
