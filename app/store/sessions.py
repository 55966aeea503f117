"""Per-contact session state: the serialized ratchet, opaque to the store."""

from __future__ import annotations

from parley.app.store._rows import RowReader
from parley.app.store.db import Database

_COLUMNS = ("state",)


def save(db: Database, contact_id: str, state: bytes, *, now: float) -> None:
    """Store (replace) the session with ``contact_id``; call in the same transaction as the
    message it decrypted or encrypted, so state and message never disagree."""
    db.execute(
        "INSERT INTO sessions (contact_id, state, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (contact_id) DO UPDATE SET state = excluded.state, "
        "updated_at = excluded.updated_at",
        (contact_id, state, now),
    )


def load(db: Database, contact_id: str) -> bytes | None:
    """The serialized session with ``contact_id``, or None if there is none."""
    row = db.one("SELECT state FROM sessions WHERE contact_id = ?", (contact_id,))
    return None if row is None else RowReader("sessions", row, _COLUMNS).blob("state")


def delete(db: Database, contact_id: str) -> None:
    """Forget the session (e.g. after the contact's identity key changed)."""
    db.execute("DELETE FROM sessions WHERE contact_id = ?", (contact_id,))
