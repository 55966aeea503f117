"""Contacts: identity key, trust state (verified, key_changed), first seen, build variant."""

from __future__ import annotations

from dataclasses import dataclass

from parley.app.store._rows import RowReader
from parley.app.store.db import Database
from parley.app.store.errors import NotFound

_COLUMNS = (
    "id",
    "display_name",
    "identity_key",
    "verified",
    "key_changed",
    "first_seen",
    "build_variant",
)


@dataclass(frozen=True, slots=True)
class ContactRow:
    id: str
    display_name: str
    identity_key: bytes
    verified: bool
    key_changed: bool
    first_seen: float
    build_variant: str


def _parse(row: tuple[object, ...]) -> ContactRow:
    r = RowReader("contacts", row, _COLUMNS)
    return ContactRow(
        r.text("id"),
        r.text("display_name"),
        r.blob("identity_key", 32),
        r.flag("verified"),
        r.flag("key_changed"),
        r.real("first_seen"),
        r.text("build_variant"),
    )


def add(db: Database, row: ContactRow) -> None:
    """Insert a new contact (its id must be new)."""
    db.execute(
        "INSERT INTO contacts (id, display_name, identity_key, verified, key_changed, "
        "first_seen, build_variant) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            row.id,
            row.display_name,
            row.identity_key,
            int(row.verified),
            int(row.key_changed),
            row.first_seen,
            row.build_variant,
        ),
    )


def get(db: Database, contact_id: str) -> ContactRow:
    """The contact ``contact_id``. Raises NotFound."""
    row = db.one(
        "SELECT id, display_name, identity_key, verified, key_changed, first_seen, "
        "build_variant FROM contacts WHERE id = ?",
        (contact_id,),
    )
    if row is None:
        raise NotFound(f"No contact {contact_id!r}.")
    return _parse(row)


def find_by_identity_key(db: Database, identity_key: bytes) -> ContactRow | None:
    """The contact with this identity key, if any."""
    row = db.one(
        "SELECT id, display_name, identity_key, verified, key_changed, first_seen, "
        "build_variant FROM contacts WHERE identity_key = ?",
        (identity_key,),
    )
    return None if row is None else _parse(row)


def all_contacts(db: Database) -> list[ContactRow]:
    """Every contact, by display name."""
    rows = db.all(
        "SELECT id, display_name, identity_key, verified, key_changed, first_seen, "
        "build_variant FROM contacts ORDER BY display_name, id"
    )
    return [_parse(r) for r in rows]


def set_verified(db: Database, contact_id: str, verified: bool) -> None:
    """Mark the contact's current key as verified (or not)."""
    _update(db, "UPDATE contacts SET verified = ? WHERE id = ?", (int(verified), contact_id))


def set_display_name(db: Database, contact_id: str, display_name: str) -> None:
    """Rename a contact."""
    _update(db, "UPDATE contacts SET display_name = ? WHERE id = ?", (display_name, contact_id))


def set_build_variant(db: Database, contact_id: str, build_variant: str) -> None:
    """Record the build the contact's messages show ("standard" or "warrant")."""
    _update(db, "UPDATE contacts SET build_variant = ? WHERE id = ?", (build_variant, contact_id))


def record_key_change(db: Database, contact_id: str, new_identity_key: bytes) -> None:
    """Store the contact's new identity key, flag key_changed and drop verification."""
    _update(
        db,
        "UPDATE contacts SET identity_key = ?, key_changed = 1, verified = 0 WHERE id = ?",
        (new_identity_key, contact_id),
    )


def accept_key_change(db: Database, contact_id: str) -> None:
    """The user accepted the new key: clear key_changed."""
    _update(db, "UPDATE contacts SET key_changed = 0 WHERE id = ?", (contact_id,))


def _update(db: Database, sql: str, params: tuple[object, ...]) -> None:
    if db.execute(sql, params).rowcount == 0:  # type: ignore[arg-type]
        raise NotFound(f"No contact {params[-1]!r}.")
