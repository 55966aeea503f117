"""The SQLCipher layer: pragmas, private files, transactions, corruption, no plaintext on disk."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
from parley.app.store import contacts, conversations, messages, sessions
from parley.app.store import settings as settings_repo
from parley.app.store.db import Database
from parley.app.store.errors import ConstraintViolation, CorruptDatabase, ProfileError, StoreError
from parley.app.store.profile import DB_NAME, Store

from .conftest import fast_passphrase


def snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture
def store(profile: Path) -> Store:
    return Store.create(profile, fast_passphrase())


def add_conversation(db: Database, contact_id: str = "c1", conversation_id: str = "v1") -> None:
    contacts.add(
        db, contacts.ContactRow(contact_id, "Bob", os.urandom(32), False, False, 1.0, "standard")
    )
    conversations.add(db, conversations.ConversationRow(conversation_id, contact_id, 0, 1.0))


def new_message(
    body: str, conversation_id: str = "v1", n: int | None = None
) -> messages.NewMessage:
    mid = os.urandom(16) if n is None else n.to_bytes(16, "big")
    return messages.NewMessage(mid, conversation_id, "in", "Bob", body, 1.0, 2.0, "delivered")


def test_pragmas(store: Store) -> None:
    db = store.db
    assert db.one("PRAGMA journal_mode") == ("wal",)
    assert db.one("PRAGMA secure_delete") == (1,)
    assert db.one("PRAGMA foreign_keys") == (1,)
    assert db.one("PRAGMA busy_timeout") == (5000,)
    assert db.one("PRAGMA synchronous") == (2,)  # FULL
    assert db.one("PRAGMA temp_store") == (2,)  # MEMORY
    assert db.one("PRAGMA cipher_version") is not None
    store.close()


def test_files_are_private(profile: Path) -> None:
    old_umask = os.umask(0o022)  # a permissive umask must not leak into our files
    try:
        store = Store.create(profile, fast_passphrase())
        settings_repo.put(store.db, "k", "v")
        names = sorted(p.name for p in profile.iterdir())
        assert {"store.db", "store.db-wal", "store.db-shm", "store.header"} <= set(names)
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in profile.iterdir()}
        store.close()
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(profile.stat().st_mode) == 0o700
    assert all(mode == 0o600 for mode in modes.values()), modes


def test_the_file_is_not_plain_sqlite(store: Store) -> None:
    store.close()
    assert not (store.folder / DB_NAME).read_bytes().startswith(b"SQLite format 3")


def test_no_plaintext_on_disk(store: Store) -> None:
    """After writing and checkpointing, neither the db nor its WAL holds a known plaintext."""
    secret_body = "the eagle lands at midnight 7f3a9c"
    secret_state = b"ratchet-state-marker-5b1e"
    add_conversation(store.db)
    for _ in range(20):
        messages.add(store.db, new_message(secret_body))
    sessions.save(store.db, "c1", secret_state, now=1.0)
    wal = store.folder / (DB_NAME + "-wal")
    wal_before_checkpoint = wal.read_bytes()
    store.db.checkpoint()
    files = {
        "wal (before checkpoint)": wal_before_checkpoint,
        "db": (store.folder / DB_NAME).read_bytes(),
        "wal": wal.read_bytes() if wal.exists() else b"",
    }
    store.close()
    files["db (closed)"] = (store.folder / DB_NAME).read_bytes()
    assert len(wal_before_checkpoint) > 0
    for name, data in files.items():
        for needle in (secret_body.encode(), b"eagle", secret_state):
            assert needle not in data, f"{needle!r} found in {name}"


def test_transaction_commits_together_or_not_at_all(store: Store) -> None:
    add_conversation(store.db)
    message = new_message("hello")
    with pytest.raises(RuntimeError), store.transaction():
        sessions.save(store.db, "c1", b"state-1", now=1.0)
        messages.add(store.db, message)
        raise RuntimeError("crash between the writes")
    assert sessions.load(store.db, "c1") is None
    assert not messages.exists(store.db, message.id)
    with store.transaction():
        sessions.save(store.db, "c1", b"state-1", now=1.0)
        messages.add(store.db, message)
    assert sessions.load(store.db, "c1") == b"state-1"
    assert messages.exists(store.db, message.id)
    store.close()


def test_nested_transaction_rolls_back_only_the_inner_block(store: Store) -> None:
    with store.transaction():
        settings_repo.put(store.db, "outer", "1")
        with pytest.raises(ValueError), store.transaction():
            settings_repo.put(store.db, "inner", "1")
            raise ValueError
        settings_repo.put(store.db, "after", "1")
    assert settings_repo.get(store.db, "outer") == "1"
    assert settings_repo.get(store.db, "inner") is None
    assert settings_repo.get(store.db, "after") == "1"
    store.close()


def test_a_failed_commit_leaves_no_transaction_open(store: Store) -> None:
    """A deferred constraint fails at COMMIT: the block is undone and the store stays usable."""
    store.db.execute(
        "CREATE TABLE deferred_child (parent TEXT REFERENCES contacts (id) "
        "DEFERRABLE INITIALLY DEFERRED)"
    )
    with pytest.raises(ConstraintViolation, match="FOREIGN KEY"), store.transaction():
        store.db.execute("INSERT INTO deferred_child VALUES ('nobody')")
        settings_repo.put(store.db, "in-failed-block", "1")
    assert settings_repo.get(store.db, "in-failed-block") is None
    with store.transaction():
        settings_repo.put(store.db, "next", "1")
    assert settings_repo.get(store.db, "next") == "1"
    store.close()


def test_foreign_keys_are_enforced(store: Store) -> None:
    with pytest.raises(ConstraintViolation, match="FOREIGN KEY"):
        messages.add(store.db, new_message("orphan", conversation_id="nowhere"))
    store.close()


def _corrupt(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    for i in range(offset, min(offset + 64, len(data))):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("offset", [0, 4096 + 100], ids=["first-page", "later-page"])
def test_corrupted_database_is_reported_and_not_overwritten(profile: Path, offset: int) -> None:
    store = Store.create(profile, fast_passphrase())
    add_conversation(store.db)
    messages.add_many(store.db, [new_message(f"message {i}") for i in range(200)])
    store.close()
    _corrupt(profile / DB_NAME, offset)
    before = snapshot(profile)
    with pytest.raises(CorruptDatabase, match="damaged"):
        # Page 1 fails at open; a later page fails when it is read, or in a full verify.
        reopened = Store.open(profile, fast_passphrase())
        try:
            messages.page(reopened.db, "v1", limit=200)
            reopened.db.verify()
        finally:
            reopened.close()
    assert snapshot(profile) == before


def test_truncated_database_is_reported(profile: Path) -> None:
    Store.create(profile, fast_passphrase()).close()
    path = profile / DB_NAME
    path.write_bytes(path.read_bytes()[:100])
    before = snapshot(profile)
    with pytest.raises(CorruptDatabase):
        Store.open(profile, fast_passphrase())
    assert snapshot(profile) == before


def test_database_of_another_profile_is_refused(tmp_path: Path) -> None:
    Store.create(tmp_path / "a", fast_passphrase()).close()
    Store.create(tmp_path / "b", fast_passphrase()).close()
    (tmp_path / "a" / DB_NAME).write_bytes((tmp_path / "b" / DB_NAME).read_bytes())
    before = snapshot(tmp_path / "a")
    with pytest.raises(CorruptDatabase, match="another profile"):
        Store.open(tmp_path / "a", fast_passphrase())
    assert snapshot(tmp_path / "a") == before


def test_open_requires_an_existing_file_and_create_a_new_one(tmp_path: Path) -> None:
    with pytest.raises(ProfileError):
        Database.open(tmp_path / "missing.db", bytes(32))
    assert not (tmp_path / "missing.db").exists()
    Database.open(tmp_path / "x.db", bytes(32), create=True).close()
    with pytest.raises(ProfileError):
        Database.open(tmp_path / "x.db", bytes(32), create=True)
    with pytest.raises(StoreError, match="32 bytes"):
        Database.open(tmp_path / "x.db", bytes(31))
    with pytest.raises(ProfileError, match="does not exist"):
        Database.open(tmp_path / "nowhere" / "x.db", bytes(32), create=True)


def test_reopen_keeps_data(profile: Path) -> None:
    store = Store.create(profile, fast_passphrase())
    add_conversation(store.db)
    stored = messages.add(store.db, new_message("persisted"))
    store.close()
    store = Store.open(profile, fast_passphrase())
    assert stored is not None
    assert messages.get(store.db, stored.id) == stored
    store.close()
