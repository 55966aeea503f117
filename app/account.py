"""Accounts: create (identity, prekeys, first publish), open, and keep the prekeys fresh.

A profile folder holds one account (see app/store/profile.py for its files). Its database key is
kept in the system keyring or behind a passphrase (Argon2id); ``profile_state`` tells the user
interface which it is before anything is unlocked, so it can ask for a passphrase only when one
is needed. Demo profiles (app/demo.py) use a passphrase that is written, clearly labelled, in
``DEMO-PASSPHRASE.txt`` inside the folder; ``profile_state`` reports them as "demo" and
``open_account`` reads that file, so the demo opens without typing. Nothing else ever reads a
passphrase from disk.

Prekeys: the account keeps ``ONE_TIME_STOCK`` one-time prekeys on the relay (topped up when the
relay says the stock is low) and rotates its signed prekey once it is ``ROTATION_INTERVAL`` old
(crypto/prekeys.py), keeping the previous one for sessions started from an older bundle.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import keyring.backend
from parley.app.errors import AccountLocked, AppError, ProfileExists, ProfileMissing, from_store
from parley.app.profile import default_profile_dir, ensure_private_dir
from parley.app.runtime import CoreRuntime
from parley.app.store import identity as identity_repo
from parley.app.store import keysource, prekeys, settings
from parley.app.store.db import Database
from parley.app.store.errors import StoreError
from parley.app.store.identity import IdentityRow
from parley.app.store.keysource import KeyringSource, KeySource, PassphraseSource
from parley.app.store.prekeys import OneTimePrekeyRow, SignedPrekeyRow
from parley.app.store.profile import DB_NAME, HEADER_NAME, Store
from parley.crypto.keys import KEY_LEN, DHKeyPair, IdentityKeyPair
from parley.crypto.prekeys import (
    OneTimePreKey,
    SignedPreKey,
    generate_one_time_prekeys,
    needs_rotation,
)

if TYPE_CHECKING:
    from parley.app.messenger import Messenger

__all__ = [
    "DEMO_PASSPHRASE_FILE",
    "ProfileState",
    "create_account",
    "default_profile_dir",
    "open_account",
    "profile_state",
]

ProfileState = Literal["missing", "keyring", "passphrase", "demo"]
KeyStorage = Literal["keyring", "passphrase"]
DEMO_PASSPHRASE_FILE = "DEMO-PASSPHRASE.txt"  # noqa: S105 (a file name)
ONE_TIME_STOCK = 100
LOW_STOCK = 10  # the relay client reports a stock below this at login
MIN_PASSPHRASE_CHARS = 8
PUBLISH_TIMEOUT_S = 20.0
U32 = 2**32
REPLACES_SETTING = "identity.replaces"
DRAIN_WARNING = ONE_TIME_STOCK // 2  # handed out but unused keys that make a warning
DRAIN_WARNED_SETTING = "prekeys.drain_warned"


def profile_state(profile: Path) -> ProfileState:
    """What opening ``profile`` needs: nothing there yet, the keyring, a passphrase, or demo."""
    if not (profile / HEADER_NAME).is_file() or not (profile / DB_NAME).is_file():
        return "missing"
    try:
        header = keysource.read_header(profile / HEADER_NAME)
    except StoreError as exc:
        raise from_store(exc) from exc
    if header.kind == "keyring":
        return "keyring"
    return "demo" if (profile / DEMO_PASSPHRASE_FILE).is_file() else "passphrase"


def _source(
    kind: KeyStorage,
    passphrase: str | None,
    keyring_backend: keyring.backend.KeyringBackend | None,
    argon2_limits: tuple[int, int] | None,
) -> KeySource:
    if kind == "keyring":
        return KeyringSource(keyring_backend)
    if kind != "passphrase":
        raise AppError(f"Key storage is 'keyring' or 'passphrase', not {kind!r}.")
    if passphrase is None or len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise AppError(f"Choose a passphrase of at least {MIN_PASSPHRASE_CHARS} characters.")
    if argon2_limits is None:
        return PassphraseSource(passphrase)
    return PassphraseSource(passphrase, opslimit=argon2_limits[0], memlimit=argon2_limits[1])


async def create_account(
    profile: Path,
    display_name: str,
    relay_url: str,
    *,
    key_storage: KeyStorage,
    passphrase: str | None = None,
    runtime: CoreRuntime | None = None,
    keyring_backend: keyring.backend.KeyringBackend | None = None,
    argon2_limits: tuple[int, int] | None = None,
    replaces: bytes | None = None,
    publish_timeout: float = PUBLISH_TIMEOUT_S,
) -> Messenger:
    """Create an account in ``profile`` and publish its prekeys; return it started.

    The account only exists once the relay holds its prekeys (otherwise nobody could write to
    it): if publishing fails, the half-made profile is removed and NetworkError raised, so that
    the same command can simply be tried again.

    Args:
        runtime: unused by the core itself (the coroutine already runs on the core loop); kept
            so callers may pass the runtime they run it on.
        keyring_backend: a specific keyring backend (tests); None means the platform default.
        argon2_limits: (opslimit, memlimit) for the passphrase; None means libsodium's MODERATE.
        replaces: the identity key of this person's previous account when its key is lost (no
            succession statement can be signed): messages then claim it, unproven, and contacts
            see a message request that they may merge after comparing safety numbers. With the
            old account still at hand, use ``Messenger.adopt_succession`` instead.
        publish_timeout: seconds to wait for the relay to take the prekeys.

    Raises:
        ProfileExists, AppError (bad name, URL or passphrase), AccountLocked (no secure keyring),
        NetworkError.
    """
    del runtime
    from parley.app.invite import Invite

    name = display_name.strip()
    if not name:
        raise AppError("Choose a display name: it is how your contacts will see you.")
    Invite(bytes(32), relay_url, name)  # validates the name and URL as an invite will
    if replaces is not None and len(replaces) != KEY_LEN:
        raise AppError("The previous identity key must be 32 bytes.")
    if (profile / HEADER_NAME).exists() or (profile / DB_NAME).exists():
        raise ProfileExists(f"{profile} already holds a Parley account.")
    created_folder = not profile.exists()
    source = _source(key_storage, passphrase, keyring_backend, argon2_limits)
    ensure_private_dir(profile)
    try:
        store = Store.create(profile, source)
    except StoreError as exc:
        if created_folder:
            shutil.rmtree(profile, ignore_errors=True)
        raise from_store(exc) from exc
    identity = IdentityKeyPair.generate()
    now = time.time()
    with store.transaction() as db:
        identity_repo.save(db, IdentityRow(identity.to_bytes(), name, relay_url, now))
        rotate_signed_prekey(db, identity, now)
        add_one_time_prekeys(db, ONE_TIME_STOCK)
        if replaces is not None:
            settings.put(db, REPLACES_SETTING, replaces.hex())
    from parley.app.messenger import Messenger  # messenger.py uses this module's prekey helpers

    messenger = Messenger(store, identity, source)
    try:
        await messenger.start()
        await messenger.publish_prekeys(timeout=publish_timeout)
    except BaseException:
        await messenger.close()
        with contextlib.suppress(StoreError):
            keysource.forget(keysource.read_header(profile / HEADER_NAME), source)
        if created_folder:
            shutil.rmtree(profile, ignore_errors=True)
        else:
            for leftover in profile.glob("store.*"):
                leftover.unlink(missing_ok=True)
        raise
    return messenger


async def open_account(
    profile: Path,
    *,
    passphrase: str | None = None,
    keyring_backend: keyring.backend.KeyringBackend | None = None,
) -> Messenger:
    """Unlock the account in ``profile`` (not yet connected: call ``start``).

    Raises:
        ProfileMissing: no account there.
        AccountLocked: a passphrase is needed, or it is wrong, or the keyring lacks the key.
        StorageError: the store is damaged.
    """
    state = profile_state(profile)
    if state == "missing":
        raise ProfileMissing(f"There is no Parley account in {profile}.")
    source: KeySource
    if state == "keyring":
        source = KeyringSource(keyring_backend)
    else:
        if passphrase is None and state == "demo":
            passphrase = read_demo_passphrase(profile)
        if passphrase is None:
            raise AccountLocked("This account is protected by a passphrase; enter it to unlock.")
        source = PassphraseSource(passphrase)
    try:
        store = Store.open(profile, source)
        identity = IdentityKeyPair.from_bytes(identity_repo.load(store.db).seed)
    except StoreError as exc:
        raise from_store(exc) from exc
    from parley.app.messenger import Messenger  # messenger.py uses this module's prekey helpers

    return Messenger(store, identity, source)


def read_demo_passphrase(profile: Path) -> str:
    """The labelled demo passphrase of a demo profile (see app/demo.py)."""
    lines = (profile / DEMO_PASSPHRASE_FILE).read_text(encoding="utf-8").splitlines()
    return lines[-1].strip() if lines else ""


# ---- prekeys -------------------------------------------------------------------------------


def signed_prekey_of(row: SignedPrekeyRow) -> SignedPreKey:
    """The crypto object of a stored signed prekey."""
    return SignedPreKey(
        row.key_id, DHKeyPair.from_private(row.private_key), row.signature, int(row.created_at)
    )


def rotate_signed_prekey(db: Database, identity: IdentityKeyPair, now: float) -> None:
    """Make a new current signed prekey (the previous one is kept by the store)."""
    try:
        next_id = (prekeys.current_signed(db).key_id + 1) % U32
    except StoreError:
        next_id = 1
    spk = SignedPreKey.generate(identity, next_id, int(now))
    prekeys.rotate_signed(
        db,
        SignedPrekeyRow(
            spk.id, spk.key_pair.private, spk.key_pair.public, spk.signature, now, True
        ),
    )


def rotate_if_old(db: Database, identity: IdentityKeyPair, now: float) -> bool:
    """Rotate the signed prekey when it is too old; True if it did."""
    if needs_rotation(signed_prekey_of(prekeys.current_signed(db)), int(now)):
        rotate_signed_prekey(db, identity, now)
        return True
    return False


def add_one_time_prekeys(db: Database, count: int) -> None:
    """Generate ``count`` new one-time prekeys (unpublished) with never-used ids."""
    start = prekeys.next_one_time_id(db)
    if start + count > U32:
        start = 0
    keys = generate_one_time_prekeys(start, count)
    prekeys.add_one_time(
        db, [OneTimePrekeyRow(k.id, k.key_pair.private, k.key_pair.public, False) for k in keys]
    )


def drain_warning(db: Database, relay_stock: int) -> str | None:
    """A warning when our one-time prekeys are taken from the relay faster than they are used.

    Every published key we still hold is either on the relay (``relay_stock``) or was handed to
    someone whose first message has not come (a key is deleted once its first message is read).
    Many of the latter mean someone may be draining the stock (the relay limits fetches per
    requester and per target, but many accounts can still drain it slowly): first messages then
    come without a one-time prekey, which weakens their forward secrecy, never their secrecy.
    Said once per ``DRAIN_WARNING`` more such keys.
    """
    published = prekeys.count_one_time(db) - len(prekeys.unpublished_one_time(db))
    unused = published - relay_stock
    warned = settings.get_int(db, DRAIN_WARNED_SETTING, 0)
    if unused < warned + DRAIN_WARNING:
        if unused < warned:  # used since (or pruned): count afresh
            settings.put(db, DRAIN_WARNED_SETTING, str(max(0, unused)))
        return None
    settings.put(db, DRAIN_WARNED_SETTING, str(unused))
    return (
        f"{unused} of your one-time prekeys were fetched from the relay and no first message "
        "has used them: someone may be draining them. New contacts can still write to you, "
        "but their first message then has weaker forward secrecy (docs/relay.md)."
    )


def publication(db: Database) -> tuple[bytes, list[bytes], list[int]]:
    """What to publish: the signed prekey record, unpublished one-time prekeys and their ids."""
    spk = signed_prekey_of(prekeys.current_signed(db)).public().to_bytes()
    rows = prekeys.unpublished_one_time(db)
    blobs = [
        OneTimePreKey(r.key_id, DHKeyPair.from_private(r.private_key)).public().to_bytes()
        for r in rows
    ]
    return spk, blobs, [r.key_id for r in rows]
