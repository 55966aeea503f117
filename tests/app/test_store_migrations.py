"""Schema migrations: upgrading a stored version-1 profile, refusing newer ones, atomic steps."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import nacl.pwhash
import pytest
from parley.app.store import contacts, messages, migrate, replies, search
from parley.app.store.db import Database
from parley.app.store.errors import DatabaseTooNew, MigrationError
from parley.app.store.keysource import PassphraseSource
from parley.app.store.profile import DB_NAME, HEADER_NAME, Store

from .conftest import fast_passphrase

DATA = Path(__file__).resolve().parent.parent / "data"
V1_KEY = bytes(range(32))  # tests/data/make_store_v1.py TEST_KEY
V1_SOURCE = PassphraseSource(
    "parley-v1-fixture",
    opslimit=nacl.pwhash.argon2id.OPSLIMIT_MIN,
    memlimit=nacl.pwhash.argon2id.MEMLIMIT_MIN,
)


def snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture
def v1_profile(profile: Path) -> Path:
    profile.mkdir(mode=0o700)
    shutil.copyfile(DATA / "store_v1.db", profile / DB_NAME)
    shutil.copyfile(DATA / "store_v1.header", profile / HEADER_NAME)
    return profile


def test_the_stored_database_is_version_1(v1_profile: Path) -> None:
    db = Database.open(v1_profile / DB_NAME, V1_KEY)
    assert db.user_version() == 1
    assert db.one("SELECT count(*) FROM sqlite_master WHERE name = 'messages_fts'") == (0,)
    db.close()


def test_upgrade_of_a_stored_version_1_profile(v1_profile: Path) -> None:
    store = Store.open(v1_profile, V1_SOURCE)
    assert store.db.user_version() == migrate.SCHEMA_VERSION == 7
    page = messages.page(store.db, "v1")
    assert [m.body for m in page] == [
        "Café at noon? See example.com/menu",
        "holiday_photo-2024.jpg is in the album",
        "plain words only",
    ]
    # Migration 2 indexed the messages that version 1 already held.
    assert [r.message.seq for r in search.search(store.db, "cafe")] == [page[0].seq]
    assert [r.message.seq for r in search.search(store.db, "photo")] == [page[1].seq]
    # Migration 4: every existing contact stays an accepted contact, every message a message.
    assert {c.state for c in contacts.all_contacts(store.db)} == {"accepted"}
    assert contacts.all_contacts(store.db)
    assert not contacts.all_contacts(store.db, "request")
    assert {m.kind for m in page} == {"message"}
    assert store.db.one("SELECT count(*) FROM x3dh_replay") == (0,)
    # Migration 5: old messages quote nothing and carry no reactions; both can be added now.
    assert store.db.one("SELECT count(*) FROM message_replies") == (0,)
    assert replies.reactions_of(store.db, [m.id for m in page]) == {}
    assert replies.set_reaction(store.db, page[0].id, "in", "\U0001f44d", 1.0)
    # Migration 6: an empty outbox for reactions waiting for the relay.
    assert store.db.one("SELECT count(*) FROM outbox") == (0,)
    # Migration 7: nobody is blocked, so nobody records a state to go back to.
    assert store.db.one("SELECT count(*) FROM contacts WHERE blocked_from IS NOT NULL") == (0,)
    store.close()
    reopened = Store.open(v1_profile, V1_SOURCE)  # a second open has nothing left to do
    assert reopened.db.user_version() == 7
    [kept] = replies.reactions_of(reopened.db, [page[0].id])[page[0].id]
    assert (kept.side, kept.emoji) == ("in", "\U0001f44d")
    assert [r.message.seq for r in search.search(reopened.db, "cafe")] == [page[0].seq]
    sql = reopened.db.one("SELECT sql FROM sqlite_master WHERE name = 'messages_fts'")
    assert sql is not None and "prefix = '2 3'" in sql[0]
    reopened.close()


def test_an_identity_blocked_before_version_7_is_unblocked_as_a_request(tmp_path: Path) -> None:
    db = Database.open(tmp_path / "s.db", bytes(32), create=True)
    migrate.migrate(db, target=6)
    row = contacts.ContactRow("c1", "Old", bytes(32), True, False, 1.0, "standard", "blocked")
    contacts.add(db, row)
    migrate.migrate(db)
    # Nobody recorded whether it had been a contact: it comes back as a request, never more.
    assert contacts.unblock(db, "c1") == "request"
    assert contacts.get(db, "c1").state == "request"
    # From version 7 on, the state it was blocked from is remembered (and kept by a second block).
    contacts.set_state(db, "c1", "accepted")
    contacts.block(db, "c1")
    contacts.block(db, "c1")
    assert contacts.unblock(db, "c1") == "accepted"
    db.close()


def test_a_newer_database_is_refused_and_left_alone(profile: Path) -> None:
    store = Store.create(profile, fast_passphrase())
    store.db.execute("PRAGMA user_version = 99")
    store.close()
    before = snapshot(profile)
    with pytest.raises(DatabaseTooNew, match="newer Parley"):
        Store.open(profile, fast_passphrase())
    assert snapshot(profile) == before


def test_a_failing_migration_leaves_the_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    last = migrate.SCHEMA_VERSION
    broken = migrate.Migration(
        last + 1, "9999_broken.sql", "CREATE TABLE half_done (x);\nSELECT nosuch;"
    )
    monkeypatch.setattr(migrate, "MIGRATIONS", (*migrate.MIGRATIONS, broken))
    monkeypatch.setattr(migrate, "SCHEMA_VERSION", last + 1)
    db = Database.open(tmp_path / "s.db", bytes(32), create=True)
    with pytest.raises(MigrationError, match=rf"version {last + 1} .*left at version {last}"):
        migrate.migrate(db, target=last + 1)
    assert db.user_version() == last
    assert db.one("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'") == (0,)
    db.close()


def test_migrations_are_numbered_without_gaps() -> None:
    assert [m.version for m in migrate.MIGRATIONS] == list(range(1, migrate.SCHEMA_VERSION + 1))
    assert migrate.MIGRATIONS[1].name == "0002_search.sql"


def test_unknown_target_is_refused(tmp_path: Path) -> None:
    db = Database.open(tmp_path / "s.db", bytes(32), create=True)
    with pytest.raises(MigrationError, match="schema versions"):
        migrate.migrate(db, target=migrate.SCHEMA_VERSION + 1)
    db.close()
