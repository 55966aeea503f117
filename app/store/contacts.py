"""Contacts: identity key, trust state (verified, key_changed), first seen, build variant, and
the request state (accepted, request, blocked) of schema version 4."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from parley.app.store._rows import RowReader
from parley.app.store.db import Database
from parley.app.store.errors import NotFound

State = Literal["accepted", "request", "blocked"]
STATES: tuple[State, ...] = ("accepted", "request", "blocked")
_COLUMNS = (
    "id",
    "display_name",
    "identity_key",
    "verified",
    "key_changed",
    "first_seen",
    "build_variant",
    "state",
    "claimed_name",
    "claims_was",
    "succession_at",
)
_SELECT = (
    "SELECT id, display_name, identity_key, verified, key_changed, first_seen, build_variant, "
    "state, claimed_name, claims_was, succession_at FROM contacts "
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
    state: State = "accepted"
    claimed_name: str | None = None  # what a stranger called itself: a claim, not a name
    claims_was: bytes | None = None  # a previous identity it claimed without proof
    succession_at: int | None = None  # time of the last succession statement accepted


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
        r.choice("state", STATES),
        r.opt_text("claimed_name"),
        None if row[9] is None else r.blob("claims_was", 32),
        None if row[10] is None else r.integer("succession_at"),
    )


def add(db: Database, row: ContactRow) -> None:
    """Insert a new contact (its id must be new)."""
    db.execute(
        "INSERT INTO contacts (id, display_name, identity_key, verified, key_changed, "
        "first_seen, build_variant, state, claimed_name, claims_was, succession_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            row.id,
            row.display_name,
            row.identity_key,
            int(row.verified),
            int(row.key_changed),
            row.first_seen,
            row.build_variant,
            row.state,
            row.claimed_name,
            row.claims_was,
            row.succession_at,
        ),
    )


def get(db: Database, contact_id: str) -> ContactRow:
    """The contact ``contact_id``. Raises NotFound."""
    row = db.one(_SELECT + "WHERE id = ?", (contact_id,))
    if row is None:
        raise NotFound(f"No contact {contact_id!r}.")
    return _parse(row)


def find_by_identity_key(db: Database, identity_key: bytes) -> ContactRow | None:
    """The contact (or request, or blocked identity) with this identity key, if any.

    An accepted contact wins over a request or a block naming the same key.
    """
    row = db.one(
        _SELECT + "WHERE identity_key = ? ORDER BY state = 'accepted' DESC, first_seen LIMIT 1",
        (identity_key,),
    )
    return None if row is None else _parse(row)


def all_contacts(db: Database, state: State = "accepted") -> list[ContactRow]:
    """Every contact in ``state`` (by default the accepted ones), by display name."""
    rows = db.all(_SELECT + "WHERE state = ? ORDER BY display_name, id", (state,))
    return [_parse(r) for r in rows]


def set_state(db: Database, contact_id: str, state: State) -> None:
    """Accept a request (blocking goes through ``block``, which remembers the state it left)."""
    _update(db, "UPDATE contacts SET state = ? WHERE id = ?", (state, contact_id))


def block(db: Database, contact_id: str) -> None:
    """Block an identity, remembering whether it was a contact or a request (for ``unblock``).

    Blocking one that is already blocked changes nothing (it keeps the state it came from)."""
    _update(
        db,
        "UPDATE contacts SET blocked_from = CASE WHEN state = 'blocked' THEN blocked_from "
        "ELSE state END, state = 'blocked' WHERE id = ?",
        (contact_id,),
    )


def blocked_from(db: Database, contact_id: str) -> State:
    """What unblocking gives back: "accepted" for an identity blocked as a contact, else
    "request" (blocked as a request, or before schema version 7 recorded it). Raises NotFound."""
    row = db.one("SELECT blocked_from FROM contacts WHERE id = ?", (contact_id,))
    if row is None:
        raise NotFound(f"No contact {contact_id!r}.")
    return "accepted" if row[0] == "accepted" else "request"


def unblock(db: Database, contact_id: str) -> State:
    """Put a blocked identity back in the state it was blocked from, and return that state: a
    request stays a request, a contact the contact it was; one blocked before schema version 7
    (its earlier state unknown) becomes a request. The dropped count starts again at zero."""
    state = blocked_from(db, contact_id)
    _update(
        db,
        "UPDATE contacts SET state = ?, blocked_from = NULL, dropped = 0 "
        "WHERE state = 'blocked' AND id = ?",
        (state, contact_id),
    )
    return state


def set_succession(db: Database, contact_id: str, at: int) -> None:
    """Remember the time of the succession statement just accepted for this contact."""
    _update(db, "UPDATE contacts SET succession_at = ? WHERE id = ?", (at, contact_id))


def count_dropped(db: Database, contact_id: str) -> None:
    """One more delivery from a blocked identity was acknowledged and dropped."""
    _update(db, "UPDATE contacts SET dropped = dropped + 1 WHERE id = ?", (contact_id,))


def dropped(db: Database, contact_id: str) -> int:
    """How many deliveries from this (blocked) identity were dropped."""
    row = db.one("SELECT dropped FROM contacts WHERE id = ?", (contact_id,))
    if row is None:
        raise NotFound(f"No contact {contact_id!r}.")
    return int(row[0])


def delete(db: Database, contact_id: str) -> None:
    """Forget a contact with its conversation, messages, pictures and session (cascades)."""
    pictures = db.all(
        "SELECT m.attachment_id FROM messages AS m JOIN conversations AS v "
        "ON v.id = m.conversation_id WHERE v.contact_id = ? AND m.attachment_id IS NOT NULL",
        (contact_id,),
    )
    _update(db, "DELETE FROM contacts WHERE id = ?", (contact_id,))
    db.executemany("DELETE FROM attachments WHERE id = ?", [(r[0],) for r in pictures])


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
