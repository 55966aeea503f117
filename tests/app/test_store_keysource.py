"""Key sources: a real Secret Service keyring, passphrases, refusals, key changes, failed opens."""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

import keyring.backend
import keyring.backends.chainer
import keyring.backends.fail
import keyring.backends.null
import keyring.backends.SecretService
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parley.app.store import keysource
from parley.app.store import settings as settings_repo
from parley.app.store.errors import (
    CorruptDatabase,
    KeyUnavailable,
    NoSecureKeyring,
    ProfileError,
    WrongPassphrase,
)
from parley.app.store.keysource import KeyringSource, PassphraseSource
from parley.app.store.profile import HEADER_NAME, PENDING_NAME, Store

from .conftest import fast_passphrase


def snapshot(folder: Path) -> dict[str, str]:
    """Name -> SHA-256 of every file in the folder: "overwrites nothing" is checked with this."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def make_store(profile: Path, source: keysource.KeySource) -> None:
    store = Store.create(profile, source)
    settings_repo.put(store.db, "marker", "kept")
    store.close()


class OnlyInsecureChainer(keyring.backends.chainer.ChainerBackend):
    """What keyring's default chainer looks like on a machine with no real keyring."""

    backends = (keyring.backends.fail.Keyring(), keyring.backends.null.Keyring())  # type: ignore[no-untyped-call]


class FailThenRealChainer(keyring.backends.chainer.ChainerBackend):
    backends: tuple[keyring.backend.KeyringBackend, ...] = ()


# ---- keyring ---------------------------------------------------------------------------------


def test_keyring_round_trip_names_the_backend(
    profile: Path, secret_keyring: keyring.backend.KeyringBackend
) -> None:
    source = KeyringSource(secret_keyring)
    make_store(profile, source)
    store = Store.open(profile, source)
    info = store.key_storage()
    assert settings_repo.get(store.db, "marker") == "kept"
    store.close()
    assert info.kind == "keyring"
    assert info.backend == "Secret Service (gnome-keyring)"
    header = keysource.read_header(profile / HEADER_NAME)
    stored = secret_keyring.get_password(keysource.SERVICE, header.keyring_user)
    assert stored is not None and len(bytes.fromhex(stored)) == 32
    assert stored not in (profile / HEADER_NAME).read_text()


def test_missing_keyring_entry_is_reported_and_nothing_written(
    profile: Path, secret_keyring: keyring.backend.KeyringBackend
) -> None:
    source = KeyringSource(secret_keyring)
    make_store(profile, source)
    header = keysource.read_header(profile / HEADER_NAME)
    secret_keyring.delete_password(keysource.SERVICE, header.keyring_user)
    before = snapshot(profile)
    with pytest.raises(KeyUnavailable, match="no key for this profile"):
        Store.open(profile, source)
    assert snapshot(profile) == before


def test_keyring_entry_of_another_key_is_refused(
    profile: Path, secret_keyring: keyring.backend.KeyringBackend
) -> None:
    source = KeyringSource(secret_keyring)
    make_store(profile, source)
    header = keysource.read_header(profile / HEADER_NAME)
    secret_keyring.set_password(keysource.SERVICE, header.keyring_user, "ab" * 32)
    before = snapshot(profile)
    with pytest.raises(KeyUnavailable, match="key check"):
        Store.open(profile, source)
    assert snapshot(profile) == before


@pytest.mark.parametrize(
    "backend",
    [
        keyring.backends.fail.Keyring(),  # type: ignore[no-untyped-call]
        keyring.backends.null.Keyring(),  # type: ignore[no-untyped-call]
        OnlyInsecureChainer(),  # type: ignore[no-untyped-call]
    ],
    ids=["fail", "null", "chainer-of-insecure"],
)
def test_insecure_keyrings_are_refused(
    profile: Path, backend: keyring.backend.KeyringBackend
) -> None:
    with pytest.raises(NoSecureKeyring, match="No secure keyring"):
        Store.create(profile, KeyringSource(backend))
    assert not profile.exists() or not any(profile.iterdir())


def test_plaintext_keyring_class_is_refused() -> None:
    # keyrings.alt is not a dependency; a class with its module/name stands in for it, since the
    # refusal is by identity of the backend class.
    plaintext = type(
        "PlaintextKeyring",
        (keyring.backend.KeyringBackend,),
        {
            "__module__": "keyrings.alt.file",
            "priority": 0.5,
            "get_password": lambda self, s, u: None,
            "set_password": lambda self, s, u, p: None,
            "delete_password": lambda self, s, u: None,
        },
    )()
    with pytest.raises(NoSecureKeyring):
        keysource.require_secure(plaintext)


def test_chainer_with_a_real_backend_uses_it(
    secret_keyring: keyring.backend.KeyringBackend,
) -> None:
    FailThenRealChainer.backends = (keyring.backends.fail.Keyring(), secret_keyring)  # type: ignore[no-untyped-call]
    chainer = FailThenRealChainer()  # type: ignore[no-untyped-call]
    assert keysource.require_secure(chainer) is secret_keyring


# ---- passphrase ------------------------------------------------------------------------------


def test_passphrase_round_trip_with_default_cost(profile: Path) -> None:
    source = PassphraseSource("a long passphrase")  # MODERATE: the shipped default, once
    make_store(profile, source)
    header = keysource.read_header(profile / HEADER_NAME)
    assert (header.opslimit, header.memlimit) == (
        keysource.OPSLIMIT_DEFAULT,
        keysource.MEMLIMIT_DEFAULT,
    )
    store = Store.open(profile, source)
    assert store.key_storage().kind == "passphrase"
    assert "256 MiB" in store.key_storage().description
    store.close()


def test_wrong_passphrase_is_reported_and_nothing_written(profile: Path) -> None:
    make_store(profile, fast_passphrase("right"))
    before = snapshot(profile)
    with pytest.raises(WrongPassphrase, match="Wrong passphrase"):
        Store.open(profile, fast_passphrase("wrong"))
    with pytest.raises(WrongPassphrase):
        Store.open(profile, fast_passphrase(""))
    assert snapshot(profile) == before


def test_keyring_source_on_a_passphrase_profile_is_refused(
    profile: Path, secret_keyring: keyring.backend.KeyringBackend
) -> None:
    make_store(profile, fast_passphrase())
    before = snapshot(profile)
    with pytest.raises(WrongPassphrase, match="passphrase"):
        Store.open(profile, KeyringSource(secret_keyring))
    assert snapshot(profile) == before


def test_create_refuses_an_existing_profile(profile: Path) -> None:
    make_store(profile, fast_passphrase())
    before = snapshot(profile)
    with pytest.raises(ProfileError, match="already holds"):
        Store.create(profile, fast_passphrase("other"))
    assert snapshot(profile) == before


def test_failed_create_leaves_no_half_made_profile(
    profile: Path, secret_keyring: keyring.backend.KeyringBackend
) -> None:
    # A directory where the header's temporary file goes makes the very last step fail.
    profile.mkdir()
    blocker = profile / (HEADER_NAME + ".tmp")
    blocker.mkdir()
    with pytest.raises(IsADirectoryError):
        Store.create(profile, KeyringSource(secret_keyring))
    blocker.rmdir()
    assert list(profile.iterdir()) == []
    Store.create(profile, KeyringSource(secret_keyring)).close()


def test_open_of_an_empty_folder_is_refused(profile: Path) -> None:
    profile.mkdir()
    with pytest.raises(ProfileError, match="No Parley profile"):
        Store.open(profile, fast_passphrase())
    assert list(profile.iterdir()) == []


# ---- changing the key source -----------------------------------------------------------------


def test_change_passphrase_rewraps_without_reencrypting(profile: Path) -> None:
    make_store(profile, fast_passphrase("old"))
    db_before = (profile / "store.db").read_bytes()
    store = Store.open(profile, fast_passphrase("old"))
    store.change_key_source(fast_passphrase("new"))
    store.close()
    assert (profile / "store.db").read_bytes() == db_before
    with pytest.raises(WrongPassphrase):
        Store.open(profile, fast_passphrase("old"))
    store = Store.open(profile, fast_passphrase("new"))
    assert settings_repo.get(store.db, "marker") == "kept"
    store.close()


def test_move_between_keyring_and_passphrase(
    profile: Path, secret_keyring: keyring.backend.KeyringBackend
) -> None:
    ring = KeyringSource(secret_keyring)
    make_store(profile, fast_passphrase())
    store = Store.open(profile, fast_passphrase())
    assert store.change_key_source(ring).kind == "keyring"
    ring_header = keysource.read_header(profile / HEADER_NAME)
    store.close()

    store = Store.open(profile, ring)
    assert store.change_key_source(fast_passphrase("back")).kind == "passphrase"
    store.close()
    # The keyring entry of the abandoned source is removed, not left behind.
    assert secret_keyring.get_password(keysource.SERVICE, ring_header.keyring_user) is None
    store = Store.open(profile, fast_passphrase("back"))
    assert settings_repo.get(store.db, "marker") == "kept"
    store.close()


def test_rekey_replaces_the_database_key(profile: Path) -> None:
    make_store(profile, fast_passphrase())
    old_header = (profile / HEADER_NAME).read_bytes()
    store = Store.open(profile, fast_passphrase())
    store.rekey()
    store.close()
    assert not (profile / PENDING_NAME).exists()
    # The old header (old key) no longer opens the database.
    new_header = (profile / HEADER_NAME).read_bytes()
    (profile / HEADER_NAME).write_bytes(old_header)
    with pytest.raises(CorruptDatabase):
        Store.open(profile, fast_passphrase())
    (profile / HEADER_NAME).write_bytes(new_header)
    store = Store.open(profile, fast_passphrase())
    assert settings_repo.get(store.db, "marker") == "kept"
    store.close()


def test_interrupted_rekey_is_finished_on_open(profile: Path) -> None:
    """A crash after the database took the new key but before the header was replaced."""
    make_store(profile, fast_passphrase())
    old_header = (profile / HEADER_NAME).read_bytes()
    store = Store.open(profile, fast_passphrase())
    store.rekey()
    store.close()
    (profile / PENDING_NAME).write_bytes((profile / HEADER_NAME).read_bytes())
    (profile / HEADER_NAME).write_bytes(old_header)
    store = Store.open(profile, fast_passphrase())
    assert settings_repo.get(store.db, "marker") == "kept"
    store.close()
    assert not (profile / PENDING_NAME).exists()
    assert (profile / HEADER_NAME).read_bytes() != old_header


def test_rekey_that_never_reached_the_database_is_discarded(profile: Path) -> None:
    make_store(profile, fast_passphrase())
    store = Store.open(profile, fast_passphrase())
    stray = keysource.seal(fast_passphrase(), bytes(32), profile_id="0" * 32)
    store.close()
    keysource.write_header(profile / PENDING_NAME, stray)
    Store.open(profile, fast_passphrase()).close()
    assert not (profile / PENDING_NAME).exists()


# ---- the header file -------------------------------------------------------------------------


def _valid_header() -> dict[str, object]:
    header = keysource.seal(fast_passphrase(), bytes(32), profile_id="1" * 32)
    parsed: dict[str, object] = json.loads(keysource.encode_header(header))
    return parsed


def test_header_round_trip() -> None:
    header = keysource.seal(fast_passphrase(), bytes(32), profile_id="1" * 32)
    assert keysource.parse_header(keysource.encode_header(header)) == header


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": 2}, "version"),
        ({"version": True}, "version"),
        ({"kind": "plaintext"}, "kind"),
        ({"extra": 1}, "fields"),
        ({"salt": "00"}, "salt"),
        ({"salt": "ZZ" * 16}, "hex"),
        ({"opslimit": 10**9}, "opslimit"),
        ({"memlimit": 1 << 40}, "memlimit"),
        ({"opslimit": 3.0}, "opslimit"),
        ({"profile_id": "x"}, "profile_id"),
        ({"wrapped_key": ""}, "wrapped_key"),
    ],
)
def test_header_is_parsed_strictly(change: dict[str, object], message: str) -> None:
    data = _valid_header() | change
    with pytest.raises(CorruptDatabase, match=message):
        keysource.parse_header(json.dumps(data).encode())


def test_header_with_duplicate_fields_is_refused() -> None:
    text = json.dumps(_valid_header())
    with pytest.raises(CorruptDatabase, match="repeats"):
        keysource.parse_header(text.replace("{", '{"kind": "keyring", ', 1).encode())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_header_parser_rejects_garbage_cleanly(data: bytes) -> None:
    with contextlib.suppress(CorruptDatabase):
        keysource.parse_header(data)


def test_corrupt_header_leaves_files_alone(profile: Path) -> None:
    make_store(profile, fast_passphrase())
    (profile / HEADER_NAME).write_bytes(b'{"version": 1, "kind": "pass')
    before = snapshot(profile)
    with pytest.raises(CorruptDatabase, match="not valid JSON"):
        Store.open(profile, fast_passphrase())
    assert snapshot(profile) == before
