"""Payloads waiting for the relay that are not messages (reactions): kept until it stores them."""

from __future__ import annotations

from parley.app.store.db import Database


def add(db: Database, wire_id: bytes, recipient: bytes, payload: bytes, now: float) -> None:
    db.execute(
        "INSERT INTO outbox (id, recipient, payload, created_at) VALUES (?, ?, ?, ?)",
        (wire_id, recipient, payload, now),
    )


def remove(db: Database, wire_id: bytes) -> bool:
    """Forget a payload (the relay stored it, or refused it for good); False if not ours."""
    removed: int = db.execute("DELETE FROM outbox WHERE id = ?", (wire_id,)).rowcount
    return removed > 0


def pending(db: Database) -> list[tuple[bytes, bytes, bytes]]:
    """(wire id, recipient, payload) of every waiting payload, oldest first."""
    rows = db.all("SELECT id, recipient, payload FROM outbox ORDER BY created_at")
    return [(bytes(r[0]), bytes(r[1]), bytes(r[2])) for r in rows]
