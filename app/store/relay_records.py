""" "What the relay saw": for each message, the exact frame bytes exchanged with the relay.

Kept so the user can inspect what an observer of the relay learns (ciphertext, metadata, how long
the relay said it keeps it). ``metadata`` is a list of (name, value) text pairs stored as JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from parley.app.store._rows import RowReader
from parley.app.store.db import Database
from parley.app.store.errors import MalformedRow, NotFound
from parley.app.store.messages import DIRECTIONS, MESSAGE_ID_BYTES, Direction

_COLUMNS = (
    "message_id",
    "direction",
    "frame",
    "metadata",
    "recorded_at",
    "stored_until",
    "deleted",
)


@dataclass(frozen=True, slots=True)
class RelayRecordRow:
    message_id: bytes
    direction: Direction
    frame: bytes
    metadata: tuple[tuple[str, str], ...]
    recorded_at: float
    stored_until: float | None
    deleted: bool


def _metadata(text: str) -> tuple[tuple[str, str], ...]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedRow("Stored relay_records.metadata is not JSON.") from exc
    if not isinstance(value, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in value
    ):
        raise MalformedRow("Stored relay_records.metadata is not a list of text pairs.")
    return tuple((p[0], p[1]) for p in value)


def _parse(row: tuple[object, ...]) -> RelayRecordRow:
    r = RowReader("relay_records", row, _COLUMNS)
    return RelayRecordRow(
        r.blob("message_id", MESSAGE_ID_BYTES),
        r.choice("direction", DIRECTIONS),
        r.blob("frame"),
        _metadata(r.text("metadata")),
        r.real("recorded_at"),
        r.opt_real("stored_until"),
        r.flag("deleted"),
    )


def record(db: Database, row: RelayRecordRow) -> None:
    """Store (or replace) the record of ``row.message_id``."""
    db.execute(
        "INSERT OR REPLACE INTO relay_records (message_id, direction, frame, metadata, "
        "recorded_at, stored_until, deleted) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            row.message_id,
            row.direction,
            row.frame,
            json.dumps([list(p) for p in row.metadata]),
            row.recorded_at,
            row.stored_until,
            int(row.deleted),
        ),
    )


def get(db: Database, message_id: bytes) -> RelayRecordRow:
    """The record for ``message_id``. Raises NotFound."""
    row = db.one(
        "SELECT message_id, direction, frame, metadata, recorded_at, stored_until, "
        "deleted FROM relay_records WHERE message_id = ?",
        (message_id,),
    )
    if row is None:
        raise NotFound(f"No relay record for message {message_id.hex()}.")
    return _parse(row)


def mark_deleted(db: Database, message_id: bytes) -> None:
    """The relay confirmed it deleted the message (acknowledged)."""
    cursor = db.execute("UPDATE relay_records SET deleted = 1 WHERE message_id = ?", (message_id,))
    if cursor.rowcount == 0:
        raise NotFound(f"No relay record for message {message_id.hex()}.")
