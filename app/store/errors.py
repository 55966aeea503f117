"""Errors of the encrypted store, each written for the person who will read it.

Exception tree::

    StoreError                      anything the store refuses or cannot do
    ├── KeySourceError              the database key cannot be obtained
    │   ├── WrongPassphrase         the passphrase does not unwrap the database key
    │   ├── KeyUnavailable          the keyring has no (or a different) entry for this profile
    │   └── NoSecureKeyring         only an insecure keyring backend (fail, null, plaintext) exists
    ├── CorruptDatabase             the database or its header file is damaged or not ours
    ├── StorageFull                 the disk (or the file size limit) is full: nothing was written
    ├── ProfileError                the profile folder is missing, already exists, or is unsafe
    ├── MigrationError              the schema cannot be brought to this app's version
    │   └── DatabaseTooNew          written by a newer Parley; refused rather than damaged
    ├── MalformedRow                a stored row does not have the shape the schema promises
    ├── ConstraintViolation         a write breaks the schema's rules (unknown contact, bad value)
    └── NotFound                    the requested row does not exist

Every failed open leaves the profile's files byte for byte as they were.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class: the store refused or could not complete an operation."""


class KeySourceError(StoreError):
    """The database key could not be obtained from its key source."""


class WrongPassphrase(KeySourceError):
    """The passphrase given does not unwrap this profile's database key."""


class KeyUnavailable(KeySourceError):
    """The keyring holds no usable key for this profile."""


class NoSecureKeyring(KeySourceError):
    """No keyring backend that actually protects secrets is available."""


class CorruptDatabase(StoreError):
    """The database file or its header is damaged, truncated or not a Parley store."""


class StorageFull(StoreError):
    """A write failed because the disk is full; the transaction was rolled back whole."""


class ProfileError(StoreError):
    """The profile folder is missing, already holds a store, or cannot be made private."""


class MigrationError(StoreError):
    """A schema migration failed; the database was left at its previous version."""


class DatabaseTooNew(MigrationError):
    """The database was written by a newer version of Parley than this one."""


class MalformedRow(StoreError):
    """A stored row does not match the schema (wrong type, size or value)."""


class ConstraintViolation(StoreError):
    """A write was refused by the schema: a missing referenced row, a duplicate, a bad value."""


class NotFound(StoreError):
    """The requested row does not exist."""
