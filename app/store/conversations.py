"""Conversations: one per contact, with an unread count and the time of the last activity."""

from __future__ import annotations

from dataclasses import dataclass

from parley.app.store._rows import RowReader
from parley.app.store.db import Database
from parley.app.store.errors import NotFound

_COLUMNS = ("id", "contact_id", "unread", "last_activity")


@dataclass(frozen=True, slots=True)
class ConversationRow:
    id: str
    contact_id: str
    unread: int
    last_activity: float


def _parse(row: tuple[object, ...]) -> ConversationRow:
    r = RowReader("conversations", row, _COLUMNS)
    return ConversationRow(
        r.text("id"), r.text("contact_id"), r.integer("unread"), r.real("last_activity")
    )


def add(db: Database, row: ConversationRow) -> None:
    """Insert a new conversation."""
    db.execute(
        "INSERT INTO conversations (id, contact_id, unread, last_activity) VALUES (?, ?, ?, ?)",
        (row.id, row.contact_id, row.unread, row.last_activity),
    )


def get(db: Database, conversation_id: str) -> ConversationRow:
    """The conversation. Raises NotFound."""
    row = db.one(
        "SELECT id, contact_id, unread, last_activity FROM conversations WHERE id = ?",
        (conversation_id,),
    )
    if row is None:
        raise NotFound(f"No conversation {conversation_id!r}.")
    return _parse(row)


def for_contact(db: Database, contact_id: str) -> ConversationRow | None:
    """The conversation with ``contact_id``, if there is one."""
    row = db.one(
        "SELECT id, contact_id, unread, last_activity FROM conversations WHERE contact_id = ?",
        (contact_id,),
    )
    return None if row is None else _parse(row)


def all_conversations(db: Database) -> list[ConversationRow]:
    """Every conversation, most recently active first."""
    rows = db.all(
        "SELECT id, contact_id, unread, last_activity FROM conversations ORDER BY "
        "last_activity DESC, id"
    )
    return [_parse(r) for r in rows]


def touch(db: Database, conversation_id: str, when: float, *, add_unread: int = 0) -> None:
    """Move last_activity forward to ``when`` (never back) and add to the unread count."""
    cursor = db.execute(
        "UPDATE conversations SET last_activity = max(last_activity, ?), unread = unread + ? "
        "WHERE id = ?",
        (when, add_unread, conversation_id),
    )
    if cursor.rowcount == 0:
        raise NotFound(f"No conversation {conversation_id!r}.")


def mark_read(db: Database, conversation_id: str) -> None:
    """Reset the unread count."""
    cursor = db.execute("UPDATE conversations SET unread = 0 WHERE id = ?", (conversation_id,))
    if cursor.rowcount == 0:
        raise NotFound(f"No conversation {conversation_id!r}.")
