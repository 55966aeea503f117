"""The profile's own identity: its secret seed, display name and relay URL (one row)."""

from __future__ import annotations

from dataclasses import dataclass, field

from parley.app.store._rows import RowReader
from parley.app.store.db import Database
from parley.app.store.errors import NotFound

_COLUMNS = ("seed", "display_name", "relay_url", "created_at")


@dataclass(frozen=True, slots=True)
class IdentityRow:
    """My identity; ``seed`` is the 32-byte secret all my identity keys derive from."""

    seed: bytes = field(repr=False)
    display_name: str
    relay_url: str
    created_at: float


def save(db: Database, row: IdentityRow) -> None:
    """Create or replace the identity."""
    db.execute(
        "INSERT OR REPLACE INTO identity (id, seed, display_name, relay_url, created_at) "
        "VALUES (1, ?, ?, ?, ?)",
        (row.seed, row.display_name, row.relay_url, row.created_at),
    )


def load(db: Database) -> IdentityRow:
    """The identity. Raises NotFound before one was saved."""
    row = db.one("SELECT seed, display_name, relay_url, created_at FROM identity WHERE id = 1")
    if row is None:
        raise NotFound("This profile has no identity yet.")
    r = RowReader("identity", row, _COLUMNS)
    return IdentityRow(
        r.blob("seed", 32), r.text("display_name"), r.text("relay_url"), r.real("created_at")
    )


def update(db: Database, *, display_name: str | None = None, relay_url: str | None = None) -> None:
    """Change the display name and/or relay URL."""
    current = load(db)
    db.execute(
        "UPDATE identity SET display_name = ?, relay_url = ? WHERE id = 1",
        (
            current.display_name if display_name is None else display_name,
            current.relay_url if relay_url is None else relay_url,
        ),
    )
