"""Key/value settings (text values); typed accessors parse strictly with a default."""

from __future__ import annotations

from parley.app.store.db import Database
from parley.app.store.errors import MalformedRow


def get(db: Database, key: str) -> str | None:
    """The stored value of ``key``, or None."""
    row = db.one("SELECT value FROM settings WHERE key = ?", (key,))
    if row is None:
        return None
    if not isinstance(row[0], str):
        raise MalformedRow(f"Stored setting {key!r} is not text.")
    return row[0]


def put(db: Database, key: str, value: str) -> None:
    """Set ``key`` to ``value``."""
    db.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def delete(db: Database, key: str) -> None:
    """Remove ``key``."""
    db.execute("DELETE FROM settings WHERE key = ?", (key,))


def get_int(db: Database, key: str, default: int) -> int:
    """An integer setting; a stored value that is not an integer raises MalformedRow."""
    value = get(db, key)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise MalformedRow(f"Stored setting {key!r} is not an integer: {value!r}.") from exc


def get_bool(db: Database, key: str, default: bool) -> bool:
    """A boolean setting stored as "0" or "1"."""
    value = get(db, key)
    if value is None:
        return default
    if value not in ("0", "1"):
        raise MalformedRow(f"Stored setting {key!r} is not 0 or 1: {value!r}.")
    return value == "1"


def put_bool(db: Database, key: str, value: bool) -> None:
    """Store a boolean setting."""
    put(db, key, "1" if value else "0")
