"""The SQLCipher connection: raw-key opening, pragmas, private files, transactions.

The database key is 32 random bytes handed to SQLCipher as a raw key (``x'<hex>'``), so SQLCipher's
own passphrase KDF never runs: the key source (keysource.py) already did any stretching. Opening
verifies the key by reading the schema before anything else touches the file, so a wrong key or a
damaged file is reported without a single byte being written.

Pragmas and why:

- ``journal_mode=WAL``: readers never block the writer; the core writes small transactions often.
- ``synchronous=FULL``: the core acknowledges a message to the relay right after committing it
  ("commit, then act"); with NORMAL a power cut could lose a commit the relay already forgot.
- ``secure_delete=ON``: deleted rows are zeroed rather than left in free pages.
- ``foreign_keys=ON``, ``busy_timeout=5000`` ms, ``temp_store=MEMORY`` (no temporary files).
- ``cipher_log_level=NONE``: SQLCipher's own log lines ("ERROR CORE ... hmac check failed") went
  to stderr, ahead of the one sentence the user interfaces print for a damaged store.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlcipher3
from parley.app.store.errors import (
    ConstraintViolation,
    CorruptDatabase,
    ProfileError,
    StorageFull,
    StoreError,
)

KEY_BYTES = 32
BUSY_TIMEOUT_MS = 5000
FILE_MODE = 0o600
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")

Param = bytes | str | int | float | None
Row = tuple[Any, ...]


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Create files readable by their owner only while the block runs (process-wide umask)."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def make_private(path: Path) -> None:
    """chmod 0600 the database file and whichever of its side files exist."""
    for candidate in (path, *(path.with_name(path.name + s) for s in SIDE_SUFFIXES)):
        with contextlib.suppress(FileNotFoundError):
            if stat.S_IMODE(candidate.stat().st_mode) != FILE_MODE:
                candidate.chmod(FILE_MODE)


def _full_disk(path: Path, exc: sqlcipher3.DatabaseError) -> StorageFull | None:
    """The StorageFull for SQLITE_FULL (ENOSPC) and SQLITE_IOERR (what a full tmpfs gives when
    the -shm file cannot grow, or a write past the file size limit); None for anything else.
    SQLite has rolled the statement back, so nothing half-written stays."""
    text = str(exc).lower()
    if "disk is full" in text:
        return StorageFull(
            f"The disk holding {path} is full: nothing was saved, nothing was lost. "
            "Free some space and try again."
        )
    if "disk i/o error" in text:
        return StorageFull(
            f"Reading or writing {path} failed (the disk is full or failing): nothing was "
            "saved, nothing was lost. Free some space or check the disk, and try again."
        )
    return None


class Database:
    """One open SQLCipher database in autocommit mode with explicit, nestable transactions.

    Use it from one thread at a time (the core's asyncio thread). Statements outside
    ``transaction()`` commit on their own.
    """

    def __init__(self, connection: sqlcipher3.Connection, path: Path) -> None:
        self._conn = connection
        self._depth = 0
        self.path = path

    def __repr__(self) -> str:
        return f"Database({str(self.path)!r})"

    # ---- opening -----------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, key: bytes, *, create: bool = False) -> Database:
        """Open (or, with ``create``, make) the database at ``path`` with the raw ``key``.

        Raises:
            ProfileError: the file is missing (or, with ``create``, already there).
            CorruptDatabase: the key does not open the file or the file is damaged.
        """
        if len(key) != KEY_BYTES:
            raise StoreError("The database key must be 32 bytes.")
        if create and path.exists():
            raise ProfileError(f"A database already exists at {path}; refusing to overwrite it.")
        if not create and not path.is_file():
            raise ProfileError(f"No database at {path}.")
        if not create and path.stat().st_size == 0:
            # SQLite would take an empty file for a new database and write a schema into it.
            # Parley never leaves one (creating switches to WAL, which writes page 1), so it was
            # truncated: refuse it, and leave it as it is for whoever restores a backup.
            raise CorruptDatabase(f"The database at {path} is empty (0 bytes): it was truncated.")
        if not path.parent.is_dir():
            raise ProfileError(f"The folder {path.parent} does not exist.")
        with private_umask():
            try:
                conn = sqlcipher3.connect(str(path), isolation_level=None, check_same_thread=False)
            except sqlcipher3.Error as exc:
                raise CorruptDatabase(f"Cannot open the database at {path}: {exc}") from exc
            try:
                # SQLCipher writes its own "ERROR CORE ... hmac check failed" lines to stderr
                # (default level WARN) before the error reaches us; the CorruptDatabase raised
                # below says it for a person, so its log is silenced (process-wide setting).
                conn.execute("PRAGMA cipher_log_level = NONE")
                conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
                conn.execute("PRAGMA cipher_compatibility = 4")
                # The first read decrypts page 1: a wrong key or a damaged file fails here,
                # before any pragma below could write to the file.
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                db = cls(conn, path)
                db._configure()
            except sqlcipher3.DatabaseError as exc:
                conn.close()
                full = _full_disk(path, exc)
                if full is not None:  # opening needs room too (the -shm and -wal files)
                    raise full from exc
                raise CorruptDatabase(
                    f"The database at {path} cannot be read with its key: it is damaged or "
                    f"belongs to another profile ({exc})."
                ) from exc
            except BaseException:
                conn.close()
                raise
        make_private(path)
        return db

    def _configure(self) -> None:
        mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()
        if mode is None or str(mode[0]).lower() != "wal":
            raise CorruptDatabase(f"Cannot switch {self.path} to write-ahead logging.")
        for pragma in (
            "PRAGMA synchronous = FULL",
            "PRAGMA secure_delete = ON",
            "PRAGMA foreign_keys = ON",
            f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
            "PRAGMA temp_store = MEMORY",
        ):
            self._conn.execute(pragma)

    @classmethod
    def adopt(cls, connection: Any, path: Path) -> Database:
        """Wrap an already open connection with the store's pragmas (benchmarks use this to run
        the same code over plain sqlite3)."""
        db = cls(connection, path)
        db._configure()
        return db

    def verify(self) -> None:
        """Check every page's HMAC and the b-trees; costs a full read of the file.

        Opening checks only the pages it reads (SQLCipher authenticates each page when it is
        read), because reading a large store in full would make every start slow. A damaged page
        met later raises CorruptDatabase from the statement that read it.

        Raises:
            CorruptDatabase: with the first problems found.
        """
        problems = [str(r[0]) for r in self.all("PRAGMA cipher_integrity_check")]
        row = self.one("PRAGMA quick_check(5)")
        if row is None or row[0] != "ok":
            problems.append(str(row[0]) if row else "quick_check returned nothing")
        if problems:
            raise CorruptDatabase(f"The database at {self.path} is damaged: {problems[:5]}.")

    # ---- statements --------------------------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Param] = ()) -> sqlcipher3.Cursor:
        """Run one statement with bound parameters."""
        with self._errors_translated():
            return self._conn.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Param]]) -> None:
        """Run one statement for each parameter row (inside a transaction for speed)."""
        with self.transaction(), self._errors_translated():
            self._conn.executemany(sql, rows)

    def one(self, sql: str, params: Sequence[Param] = ()) -> Row | None:
        """The first row of a query, or None."""
        with self._errors_translated():
            row: Row | None = self._conn.execute(sql, params).fetchone()
        return row

    def all(self, sql: str, params: Sequence[Param] = ()) -> list[Row]:
        """Every row of a query."""
        with self._errors_translated():
            rows: list[Row] = self._conn.execute(sql, params).fetchall()
        return rows

    @contextlib.contextmanager
    def _errors_translated(self) -> Iterator[None]:
        """Turn SQLite's corruption errors (a page failing its HMAC, a broken b-tree) into
        CorruptDatabase and constraint failures into ConstraintViolation; programming errors
        (bad SQL) pass through unchanged."""
        try:
            yield
        except sqlcipher3.IntegrityError as exc:
            raise ConstraintViolation(f"The store refused the change: {exc}.") from exc
        except sqlcipher3.DatabaseError as exc:
            text = str(exc).lower()
            full = _full_disk(self.path, exc)
            if full is not None:
                raise full from exc
            if "malformed" in text or "not a database" in text or "corrupt" in text:
                raise CorruptDatabase(
                    f"The database at {self.path} is damaged ({exc}). Restore it from a backup."
                ) from exc
            raise

    def user_version(self) -> int:
        """The schema version recorded in the database header."""
        row = self.one("PRAGMA user_version")
        return int(row[0]) if row is not None else 0

    def run_script_atomically(self, script: str) -> None:
        """Run a multi-statement script inside one transaction: all of it or none of it."""
        if self._depth:
            raise StoreError("A schema script cannot run inside another transaction.")
        try:
            self._conn.executescript("BEGIN IMMEDIATE;\n" + script + "\nCOMMIT;")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Database]:
        """All writes in the block commit together or not at all; blocks nest (savepoints).

        The outermost block takes the write lock at once (BEGIN IMMEDIATE) so that it cannot
        fail half-way with SQLITE_BUSY when upgrading a read lock.
        """
        name = f"sp{self._depth}"
        with self._errors_translated():
            self._conn.execute("BEGIN IMMEDIATE" if self._depth == 0 else f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield self
        except BaseException:
            self._depth -= 1
            self._undo(name)
            raise
        self._depth -= 1
        try:
            with self._errors_translated():
                self._conn.execute("COMMIT" if self._depth == 0 else f"RELEASE {name}")
        except BaseException:
            self._undo(name)
            raise

    def _undo(self, name: str) -> None:
        """Roll back the block that just failed (``_depth`` already points at its parent).

        SQLite rolls the whole transaction back by itself after some errors (disk full, I/O);
        then there is nothing left to undo, and trying would hide the original error.
        """
        if not self._conn.in_transaction:
            return
        if self._depth == 0:
            self._conn.execute("ROLLBACK")
        else:
            self._conn.execute(f"ROLLBACK TO {name}")
            self._conn.execute(f"RELEASE {name}")

    # ---- maintenance -------------------------------------------------------------------------

    def checkpoint(self) -> None:
        """Copy the WAL into the main file and truncate it (e.g. before a backup or a test)."""
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()

    def rekey(self, new_key: bytes) -> None:
        """Re-encrypt every page under ``new_key`` (SQLCipher's PRAGMA rekey)."""
        if len(new_key) != KEY_BYTES:
            raise StoreError("The database key must be 32 bytes.")
        if self._depth:
            raise StoreError("Cannot change the database key inside a transaction.")
        self.checkpoint()
        self._conn.execute(f"PRAGMA rekey = \"x'{new_key.hex()}'\"")
        make_private(self.path)

    def close(self) -> None:
        """Checkpoint and close; the object is unusable afterwards."""
        with contextlib.suppress(sqlcipher3.Error):
            self.checkpoint()
        self._conn.close()
