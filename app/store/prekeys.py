"""Signed prekeys (the current one and those replaced recently) and one-time prekeys (used once).

A replaced signed prekey is kept for PREVIOUS_KEY_GRACE (30 days, longer than the relay's 14-day
message TTL) because a peer may still start a session with the bundle it fetched before, and
that first message may wait on the relay; after that it is deleted (secure_delete zeroes it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from parley.app.store._rows import RowReader
from parley.app.store.db import Database
from parley.app.store.errors import MalformedRow, NotFound
from parley.crypto.prekeys import PREVIOUS_KEY_GRACE

_SIGNED = ("key_id", "private_key", "public_key", "signature", "created_at", "is_current")
_ONE_TIME = ("key_id", "private_key", "public_key", "published")
_NEXT_ID_SETTING = "internal.next_one_time_prekey_id"


@dataclass(frozen=True, slots=True)
class SignedPrekeyRow:
    key_id: int
    private_key: bytes = field(repr=False)
    public_key: bytes
    signature: bytes
    created_at: float
    is_current: bool


@dataclass(frozen=True, slots=True)
class OneTimePrekeyRow:
    key_id: int
    private_key: bytes = field(repr=False)
    public_key: bytes
    published: bool


def _signed(row: tuple[object, ...]) -> SignedPrekeyRow:
    r = RowReader("signed_prekeys", row, _SIGNED)
    return SignedPrekeyRow(
        r.integer("key_id"),
        r.blob("private_key", 32),
        r.blob("public_key", 32),
        r.blob("signature", 64),
        r.real("created_at"),
        r.flag("is_current"),
    )


def _one_time(row: tuple[object, ...]) -> OneTimePrekeyRow:
    r = RowReader("one_time_prekeys", row, _ONE_TIME)
    return OneTimePrekeyRow(
        r.integer("key_id"),
        r.blob("private_key", 32),
        r.blob("public_key", 32),
        r.flag("published"),
    )


def rotate_signed(db: Database, row: SignedPrekeyRow, *, grace: float = PREVIOUS_KEY_GRACE) -> None:
    """Make ``row`` the current signed prekey; replaced ones stay for ``grace`` seconds.

    A replaced key is kept until ``grace`` (30 days, as Signal) after it was replaced, which is
    longer than the relay keeps a message (14 days by default): a first message built from a
    bundle fetched just before a rotation can still be answered when it arrives late. A key
    is replaced when the next one is created, so that is its retirement time; ``row.created_at``
    is "now".
    """
    with db.transaction():
        db.execute(
            "DELETE FROM signed_prekeys WHERE is_current = 0 AND key_id != ? AND ("
            "SELECT min(newer.created_at) FROM signed_prekeys AS newer "
            "WHERE newer.created_at > signed_prekeys.created_at) <= ?",
            (row.key_id, row.created_at - grace),
        )
        db.execute("UPDATE signed_prekeys SET is_current = 0 WHERE is_current = 1")
        db.execute(
            "INSERT OR REPLACE INTO signed_prekeys (key_id, private_key, public_key, "
            "signature, created_at, is_current) "
            "VALUES (?, ?, ?, ?, ?, 1)",
            (row.key_id, row.private_key, row.public_key, row.signature, row.created_at),
        )


def current_signed(db: Database) -> SignedPrekeyRow:
    """The signed prekey to publish. Raises NotFound before the first rotation."""
    row = db.one(
        "SELECT key_id, private_key, public_key, signature, created_at, is_current FROM "
        "signed_prekeys WHERE is_current = 1"
    )
    if row is None:
        raise NotFound("No signed prekey has been generated yet.")
    return _signed(row)


def signed_by_id(db: Database, key_id: int) -> SignedPrekeyRow:
    """The current or previous signed prekey ``key_id``. Raises NotFound otherwise."""
    row = db.one(
        "SELECT key_id, private_key, public_key, signature, created_at, is_current FROM "
        "signed_prekeys WHERE key_id = ?",
        (key_id,),
    )
    if row is None:
        raise NotFound(f"Signed prekey {key_id} is not (or no longer) kept.")
    return _signed(row)


def add_one_time(db: Database, rows: list[OneTimePrekeyRow]) -> None:
    """Store freshly generated one-time prekeys and advance ``next_one_time_id`` past them."""
    with db.transaction():
        db.executemany(
            "INSERT INTO one_time_prekeys (key_id, private_key, public_key, published) VALUES"
            " (?, ?, ?, ?)",
            [(r.key_id, r.private_key, r.public_key, int(r.published)) for r in rows],
        )
        if rows:
            following = max(max(r.key_id for r in rows) + 1, next_one_time_id(db))
            db.execute(
                "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
                (_NEXT_ID_SETTING, str(following)),
            )


def next_one_time_id(db: Database) -> int:
    """The first id never used by a one-time prekey, so that ids are never reused."""
    row = db.one("SELECT value FROM settings WHERE key = ?", (_NEXT_ID_SETTING,))
    if row is None:
        return 0
    value = row[0]
    if not isinstance(value, str) or not value.isdecimal():
        raise MalformedRow("The stored next one-time prekey id is not a number.")
    return int(value)


def unpublished_one_time(db: Database) -> list[OneTimePrekeyRow]:
    """One-time prekeys not yet uploaded to the relay, in key id order."""
    rows = db.all(
        "SELECT key_id, private_key, public_key, published FROM one_time_prekeys WHERE "
        "published = 0 ORDER BY key_id"
    )
    return [_one_time(r) for r in rows]


def mark_published(db: Database, key_ids: list[int]) -> None:
    """Record that these one-time prekeys were uploaded."""
    db.executemany(
        "UPDATE one_time_prekeys SET published = 1 WHERE key_id = ?", [(k,) for k in key_ids]
    )


def one_time_by_id(db: Database, key_id: int) -> OneTimePrekeyRow:
    """One-time prekey ``key_id`` (still in the store). Raises NotFound if used or unknown.

    Reading does not consume it: the pipeline deletes it with ``delete_one_time`` only once the
    first message naming it has decrypted, in the transaction that stores the session, so a
    forged first message cannot burn a key that a genuine one still needs.
    """
    row = db.one(
        "SELECT key_id, private_key, public_key, published FROM one_time_prekeys WHERE key_id = ?",
        (key_id,),
    )
    if row is None:
        raise NotFound(f"One-time prekey {key_id} was already used or never existed.")
    return _one_time(row)


def delete_one_time(db: Database, key_id: int) -> None:
    """Delete a used one-time prekey (secure_delete zeroes it), in the session's transaction."""
    db.execute("DELETE FROM one_time_prekeys WHERE key_id = ?", (key_id,))


def first_message_seen(
    db: Database, sender: bytes, ephemeral: bytes, signed_prekey_id: int
) -> bool:
    """Whether a first message with these X3DH values already started a session (a replay)."""
    return (
        db.one(
            "SELECT 1 FROM x3dh_replay WHERE sender = ? AND ephemeral = ? AND signed_prekey_id = ?",
            (sender, ephemeral, signed_prekey_id),
        )
        is not None
    )


def remember_first_message(
    db: Database, sender: bytes, ephemeral: bytes, signed_prekey_id: int, now: float
) -> None:
    """Record an accepted first message; the row lives as long as its signed prekey (cascade)."""
    db.execute(
        "INSERT OR IGNORE INTO x3dh_replay (sender, ephemeral, signed_prekey_id, seen_at) "
        "VALUES (?, ?, ?, ?)",
        (sender, ephemeral, signed_prekey_id, now),
    )


def count_one_time(db: Database) -> int:
    """How many one-time prekeys remain (to decide when to top up the relay)."""
    row = db.one("SELECT count(*) FROM one_time_prekeys")
    return int(row[0]) if row else 0
