"""Errors of the messenger core, each with a message written for the person who will read it.

Exception tree::

    AppError                        anything the core refuses or cannot do
    ├── ProfileMissing              no account in this profile folder (create one first)
    ├── ProfileExists               the folder already holds an account
    ├── AccountLocked               the key cannot be had: wrong passphrase, keyring entry missing
    ├── InvalidInvite               an invite code or link that does not parse or fails its checksum
    ├── ContentError                an application message that does not parse (from a peer)
    ├── AttachmentRejected          a picture that is not an image, too large, or unreadable
    ├── ContactNotFound             no such contact, conversation, message or attachment
    ├── ContactExists               adding an invite of someone already in the contacts
    ├── NotBlocked                  unblocking an identity that is not blocked
    ├── SendBlocked                 sending refused: a verified contact's key changed
    ├── NetworkError                the relay could not be reached or refused the request
    └── StorageError                the encrypted store failed (damaged file, bad row)
        └── DiskFull                the disk is full: nothing was written, nothing was lost

The store's own errors (parley.app.store.errors) are translated by ``from_store`` at the
boundary, so the user interfaces catch AppError alone; the original stays as ``__cause__``.
"""

from __future__ import annotations

from parley.app.store import errors as store_errors


class AppError(Exception):
    """Base class: the messenger refused or could not complete an operation."""


class ProfileMissing(AppError):
    """The profile folder holds no account."""


class ProfileExists(AppError):
    """The profile folder already holds an account; it is never overwritten."""


class AccountLocked(AppError):
    """The database key could not be obtained (wrong passphrase, missing keyring entry)."""


class InvalidInvite(AppError):
    """An invite code or link is malformed, truncated, or fails its checksum."""


class ContentError(AppError):
    """A decrypted application message does not follow the content format."""


class AttachmentRejected(AppError):
    """A picture was refused: not an image when decoded, too large, or unreadable."""


class ContactNotFound(AppError):
    """The contact, conversation, message or attachment asked for does not exist."""


class ContactExists(AppError):
    """The invite belongs to someone already in the contacts (or to this account)."""


class NotBlocked(AppError):
    """Unblocking a contact or request that is not blocked (nothing was changed)."""


class SendBlocked(AppError):
    """Sending is refused until the user accepts a verified contact's new identity key."""


class NetworkError(AppError):
    """The relay could not be reached in time or refused the request."""


class StorageError(AppError):
    """The encrypted store failed: a damaged file, a malformed row, a refused write."""


class DiskFull(StorageError):
    """A write was refused because the disk is full; it was rolled back whole."""


def from_store(exc: store_errors.StoreError) -> AppError:
    """The AppError that tells a person what a store error means (raise it ``from exc``)."""
    if isinstance(exc, store_errors.KeySourceError):
        return AccountLocked(str(exc))
    if isinstance(exc, store_errors.StorageFull):
        return DiskFull(str(exc))
    if isinstance(exc, store_errors.NotFound):
        return ContactNotFound(str(exc))
    if isinstance(exc, store_errors.ProfileError):
        return ProfileExists(str(exc)) if "already" in str(exc) else ProfileMissing(str(exc))
    return StorageError(str(exc))
