"""The store of one profile folder: key header + SQLCipher database, opened, created, re-keyed.

Layout of a profile folder (0700)::

    store.header          how the database key is kept (keysource.Header, JSON, 0600)
    store.header.pending  only during a rekey: the header of the new key (see rekey)
    store.db[-wal,-shm]   the SQLCipher database (0600)

Opening never writes before the key is proven right, so a failed open leaves every file as it was.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from parley.app.events import KeyStorageInfo
from parley.app.store import keysource
from parley.app.store.db import KEY_BYTES, SIDE_SUFFIXES, Database
from parley.app.store.errors import ProfileError, StoreError
from parley.app.store.keysource import Header, KeySource, Rng
from parley.app.store.migrate import migrate

DB_NAME = "store.db"
HEADER_NAME = "store.header"
PENDING_NAME = "store.header.pending"
DIR_MODE = 0o700


def _private_dir(folder: Path) -> None:
    folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if stat.S_IMODE(folder.stat().st_mode) != DIR_MODE:
        folder.chmod(DIR_MODE)


class Store:
    """An open profile store: ``db`` for the repositories, plus key-source management."""

    def __init__(self, folder: Path, db: Database, header: Header, source: KeySource) -> None:
        self.folder = folder
        self.db = db
        self._header = header
        self._source = source

    def __repr__(self) -> str:
        return f"Store({str(self.folder)!r}, kind={self._header.kind!r})"

    @staticmethod
    def exists(folder: Path) -> bool:
        """Whether ``folder`` already holds a store."""
        return (folder / HEADER_NAME).exists() or (folder / DB_NAME).exists()

    @classmethod
    def create(cls, folder: Path, source: KeySource, *, rng: Rng = os.urandom) -> Store:
        """Make a new store in ``folder`` (created 0700) with a fresh random database key.

        Raises:
            ProfileError: the folder already holds a store.
            NoSecureKeyring, KeyUnavailable: the key cannot be kept as asked.
        """
        if cls.exists(folder):
            raise ProfileError(f"{folder} already holds a Parley profile; refusing to replace it.")
        _private_dir(folder)
        db_key = rng(KEY_BYTES)
        header = keysource.seal(source, db_key, profile_id=rng(16).hex(), rng=rng)
        db: Database | None = None
        try:
            db = Database.open(folder / DB_NAME, db_key, create=True)
            migrate(db)
            keysource.write_header(folder / HEADER_NAME, header)
        except BaseException:
            # Undo a half-made profile so that the next attempt is not refused as "existing".
            if db is not None:
                db.close()
            keysource.forget(header, source)
            for name in (DB_NAME, *(DB_NAME + s for s in SIDE_SUFFIXES), HEADER_NAME):
                with contextlib.suppress(FileNotFoundError):
                    (folder / name).unlink()
            raise
        return cls(folder, db, header, source)

    @classmethod
    def open(cls, folder: Path, source: KeySource) -> Store:
        """Open the store in ``folder`` and bring its schema up to date.

        Raises:
            ProfileError: no store there.
            WrongPassphrase, KeyUnavailable, NoSecureKeyring: the key cannot be had.
            CorruptDatabase: the header or database is damaged.
            DatabaseTooNew, MigrationError: the schema cannot be used by this app.
        """
        if not (folder / DB_NAME).is_file():
            raise ProfileError(f"No Parley profile in {folder}.")
        header = keysource.read_header(folder / HEADER_NAME)
        pending = folder / PENDING_NAME
        try:
            db_key = keysource.unseal(header, source)
            db = Database.open(folder / DB_NAME, db_key)
        except StoreError as first:
            if not pending.exists():
                raise
            # A rekey was interrupted after the database took the new key but before the
            # header was replaced: the pending header describes the key that opens it now.
            try:
                new_header = keysource.read_header(pending)
                db = Database.open(folder / DB_NAME, keysource.unseal(new_header, source))
            except StoreError:
                raise first from None
            os.replace(pending, folder / HEADER_NAME)
            keysource.forget(header, source)
            header = new_header
        else:
            if pending.exists():
                # The rekey never reached the database: drop its half-made key.
                with contextlib.suppress(StoreError):
                    keysource.forget(keysource.read_header(pending), source)
                pending.unlink()
        try:
            migrate(db)
        except BaseException:
            db.close()
            raise
        return cls(folder, db, header, source)

    # ---- key management -----------------------------------------------------------------------

    def key_storage(self) -> KeyStorageInfo:
        """Where this store's key lives, in words for the user."""
        return keysource.describe(self._header, self._source)

    def change_key_source(self, source: KeySource, *, rng: Rng = os.urandom) -> KeyStorageInfo:
        """Keep the same database key under a new source (new passphrase, or keyring<->passphrase).

        Only the header (and keyring entry) change; the database is not re-encrypted. The new
        header replaces the old one atomically, and only then is the old keyring entry removed.
        """
        db_key = keysource.unseal(self._header, self._source)
        header = keysource.seal(source, db_key, profile_id=self._header.profile_id, rng=rng)
        try:
            keysource.write_header(self.folder / HEADER_NAME, header)
        except BaseException:
            keysource.forget(header, source)
            raise
        keysource.forget(self._header, self._source)
        self._header, self._source = header, source
        return self.key_storage()

    def rekey(self, *, rng: Rng = os.urandom) -> None:
        """Re-encrypt the database under a new random key kept by the same source.

        Crash safety: the new header is written as ``store.header.pending`` first, then the
        database is re-encrypted, then the pending header replaces the old one; ``open`` finishes
        or discards an interrupted rekey.
        """
        new_key = rng(KEY_BYTES)
        header = keysource.seal(self._source, new_key, profile_id=self._header.profile_id, rng=rng)
        keysource.write_header(self.folder / PENDING_NAME, header)
        try:
            self.db.rekey(new_key)
        except BaseException:
            keysource.forget(header, self._source)
            (self.folder / PENDING_NAME).unlink()
            raise
        os.replace(self.folder / PENDING_NAME, self.folder / HEADER_NAME)
        keysource.forget(self._header, self._source)
        self._header = header

    # ---- passthrough --------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Database]:
        """One atomic unit of writes (e.g. ratchet state + message); see Database.transaction."""
        with self.db.transaction() as db:
            yield db

    def close(self) -> None:
        """Checkpoint and close the database."""
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
