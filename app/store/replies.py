"""Replies and reactions: what a message quotes, and the emoji people put on messages.

A quote is stored as its sender sent it (``message_replies``); the app decides what to show
(app/replies.py). Reactions are one per side ("out" mine, "in" the contact's) and message; a newer
one (by the sender's time) replaces the older, and a removal is kept as a row without emoji so
that an older reaction arriving late cannot bring it back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from parley.app.store._rows import RowReader
from parley.app.store.db import Database

Side = Literal["in", "out"]
SIDES: tuple[Side, ...] = ("in", "out")


@dataclass(frozen=True, slots=True)
class QuoteRow:
    message_id: bytes
    quoted_id: bytes
    author: bytes
    author_side: Side | None  # whose key ``author`` is: mine, the contact's, or nobody's here
    excerpt: str


_REACTIONS = (
    "SELECT message_id, side, emoji, at FROM reactions "
    "WHERE emoji IS NOT NULL AND message_id IN ({marks}) ORDER BY at"
)
_QUOTE_COLUMNS = ("message_id", "quoted_id", "author", "author_side", "excerpt")


@dataclass(frozen=True, slots=True)
class ReactionRow:
    message_id: bytes
    side: Side
    emoji: str
    at: float


def add_quote(db: Database, row: QuoteRow) -> None:
    db.execute(
        "INSERT INTO message_replies (message_id, quoted_id, author, author_side, excerpt) "
        "VALUES (?, ?, ?, ?, ?)",
        (row.message_id, row.quoted_id, row.author, row.author_side, row.excerpt),
    )


def quote_of(db: Database, message_id: bytes) -> QuoteRow | None:
    """What ``message_id`` quotes, or None."""
    row = db.one(
        f"SELECT {', '.join(_QUOTE_COLUMNS)} FROM message_replies WHERE message_id = ?",  # noqa: S608
        (message_id,),
    )
    if row is None:
        return None
    r = RowReader("message_replies", row, _QUOTE_COLUMNS)
    side = None if row[3] is None else r.choice("author_side", SIDES)
    return QuoteRow(
        r.blob("message_id", 16),
        r.blob("quoted_id", 16),
        r.blob("author", 32),
        side,
        r.text("excerpt"),
    )


def set_reaction(db: Database, message_id: bytes, side: Side, emoji: str | None, at: float) -> bool:
    """Record ``side``'s reaction (None: removed) unless a newer one is stored; True if it
    changed what is shown."""
    before = db.one(
        "SELECT emoji, at FROM reactions WHERE message_id = ? AND side = ?", (message_id, side)
    )
    if before is not None and float(before[1]) > at:
        return False  # an older reaction, arriving late
    db.execute(
        "INSERT INTO reactions (message_id, side, emoji, at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (message_id, side) DO UPDATE SET emoji = excluded.emoji, at = excluded.at",
        (message_id, side, emoji, at),
    )
    return (before is None and emoji is not None) or (before is not None and before[0] != emoji)


def reactions_of(db: Database, message_ids: Sequence[bytes]) -> dict[bytes, list[ReactionRow]]:
    """The shown reactions of each message (removed ones left out), oldest first."""
    found: dict[bytes, list[ReactionRow]] = {}
    for start in range(0, len(message_ids), 500):
        chunk = list(message_ids[start : start + 500])
        # Only "?" placeholders are formatted in, one per id: the ids themselves are bound.
        sql = _REACTIONS.format(marks=", ".join("?" * len(chunk)))
        rows = db.all(sql, chunk)
        for row in rows:
            r = RowReader("reactions", row, ("message_id", "side", "emoji", "at"))
            reaction = ReactionRow(
                r.blob("message_id", 16), r.choice("side", SIDES), r.text("emoji"), r.real("at")
            )
            found.setdefault(reaction.message_id, []).append(reaction)
    return found
