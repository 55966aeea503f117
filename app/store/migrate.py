"""Numbered schema migrations: ``migrations/NNNN_name.sql``, applied in order, one transaction each.

The schema version is SQLite's ``PRAGMA user_version``. Each migration runs together with the
statement that bumps the version inside one ``BEGIN IMMEDIATE ... COMMIT``, so a failure leaves the
database exactly at the previous version. A database whose version is newer than the newest
migration this app knows is refused: an older app must not write into a schema it does not
understand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from parley.app.store.db import Database
from parley.app.store.errors import DatabaseTooNew, MigrationError

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: the version it produces and its SQL text."""

    version: int
    name: str
    sql: str


def load_migrations() -> tuple[Migration, ...]:
    """Read the packaged migration files, checking they are numbered 1, 2, 3... without gaps.

    Raises:
        MigrationError: a file is misnamed, duplicated or a number is missing.
    """
    found: dict[int, Migration] = {}
    folder = resources.files("parley.app.store").joinpath("migrations")
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _NAME.match(entry.name)
        if match is None:
            raise MigrationError(f"Migration file {entry.name!r} is not named NNNN_name.sql.")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"Two migration files carry number {version}.")
        found[version] = Migration(version, entry.name, entry.read_text(encoding="utf-8"))
    expected = list(range(1, len(found) + 1))
    if sorted(found) != expected:
        raise MigrationError(
            f"Migration numbers must run 1..N without gaps; found {sorted(found)}."
        )
    return tuple(found[v] for v in expected)


MIGRATIONS = load_migrations()
SCHEMA_VERSION = MIGRATIONS[-1].version


def migrate(db: Database, *, target: int = SCHEMA_VERSION) -> int:
    """Bring ``db`` up to schema version ``target`` and return the version it started at.

    Raises:
        DatabaseTooNew: the database is newer than ``target``.
        MigrationError: a migration failed; the database stays at the last good version.
    """
    if not 0 <= target <= SCHEMA_VERSION:
        raise MigrationError(f"This app knows schema versions 0..{SCHEMA_VERSION}, not {target}.")
    start = db.user_version()
    if start > SCHEMA_VERSION:
        raise DatabaseTooNew(
            f"This profile was written by a newer Parley (schema version {start}; this app "
            f"understands up to {SCHEMA_VERSION}). Update Parley to open it."
        )
    if start > target:
        raise DatabaseTooNew(f"The database is at schema version {start}, past {target}.")
    for migration in MIGRATIONS[start:target]:
        try:
            db.run_script_atomically(
                migration.sql + f"\nPRAGMA user_version = {migration.version};\n"
            )
        except MigrationError:
            raise
        except Exception as exc:
            raise MigrationError(
                f"Upgrading the database to schema version {migration.version} "
                f"({migration.name}) failed: {exc}. It was left at version {db.user_version()}."
            ) from exc
    return start
