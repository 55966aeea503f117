"""Accounts: create, open, wrong passphrase, keyring-backed, unreachable relay; the runtime."""

from __future__ import annotations

import asyncio
import hashlib
import stat
from pathlib import Path

import keyring.backends.SecretService
import pytest
from parley.app.account import create_account, open_account, profile_state
from parley.app.errors import (
    AccountLocked,
    AppError,
    NetworkError,
    ProfileExists,
    ProfileMissing,
    StorageError,
)
from parley.app.profile import default_profile_dir
from parley.app.runtime import CoreRuntime
from parley.app.store import prekeys
from parley.net.relay.server import RelayServer

from .test_core_fixtures import FAST, PASSPHRASE, WAIT_S, make_person, relay_fixture  # noqa: F401


def snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


async def test_create_publishes_prekeys_then_a_wrong_passphrase_changes_nothing(
    tmp_path: Path, relay: RelayServer
) -> None:
    assert profile_state(tmp_path / "alice") == "missing"
    alice = await make_person(tmp_path, "alice", relay.url)
    db = alice.messenger.store.db
    assert prekeys.count_one_time(db) == 100 and not prekeys.unpublished_one_time(db)
    assert (await alice.messenger.key_storage()).kind == "passphrase"
    await alice.messenger.close()
    assert profile_state(alice.profile) == "passphrase"
    assert stat.S_IMODE(alice.profile.stat().st_mode) == 0o700
    before = snapshot(alice.profile)
    with pytest.raises(AccountLocked, match="Wrong passphrase"):
        await open_account(alice.profile, passphrase="not the passphrase")
    with pytest.raises(AccountLocked, match="passphrase"):
        await open_account(alice.profile)
    assert snapshot(alice.profile) == before
    again = await open_account(alice.profile, passphrase=PASSPHRASE)
    assert again.display_name == "alice"
    await again.close()
    with pytest.raises(ProfileExists):
        await create_account(
            alice.profile, "x", relay.url, key_storage="passphrase", passphrase=PASSPHRASE
        )
    with pytest.raises(ProfileMissing):
        await open_account(tmp_path / "nobody")


async def test_an_unreachable_relay_leaves_no_half_made_account(tmp_path: Path) -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()  # nothing listens on this port now
    with pytest.raises(NetworkError, match="Cannot publish"):
        await create_account(
            tmp_path / "carol",
            "carol",
            f"ws://127.0.0.1:{port}",
            key_storage="passphrase",
            passphrase=PASSPHRASE,
            argon2_limits=FAST,
            publish_timeout=0.5,
        )
    assert profile_state(tmp_path / "carol") == "missing"
    assert not (tmp_path / "carol").exists()


@pytest.mark.parametrize(
    ("name", "relay_url", "passphrase"),
    [
        ("", "ws://127.0.0.1:1", PASSPHRASE),
        ("x", "http://relay", PASSPHRASE),
        ("x", "ws://a", "short"),
    ],
)
async def test_bad_account_details_are_refused_before_anything_is_written(
    tmp_path: Path, name: str, relay_url: str, passphrase: str
) -> None:
    with pytest.raises(AppError):
        await create_account(
            tmp_path / "p", name, relay_url, key_storage="passphrase", passphrase=passphrase
        )
    assert not (tmp_path / "p").exists()


async def test_a_keyring_backed_account_opens_without_a_passphrase(
    tmp_path: Path, relay: RelayServer, secret_keyring: keyring.backends.SecretService.Keyring
) -> None:
    messenger = await create_account(
        tmp_path / "dora",
        "dora",
        relay.url,
        key_storage="keyring",
        keyring_backend=secret_keyring,
    )
    info = await messenger.key_storage()
    assert info.kind == "keyring" and "Secret Service" in info.backend
    await messenger.close()
    assert profile_state(tmp_path / "dora") == "keyring"
    again = await open_account(tmp_path / "dora", keyring_backend=secret_keyring)
    assert again.display_name == "dora"
    await again.close()


def test_default_profile_dirs_follow_each_platform(tmp_path: Path) -> None:
    home = tmp_path
    assert default_profile_dir(platform="linux", env={}, home=home) == home / ".local/share/parley"
    xdg = {"XDG_DATA_HOME": "/data"}
    assert default_profile_dir(platform="linux", env=xdg, home=home) == Path("/data/parley")
    relative = {"XDG_DATA_HOME": "rel"}  # the spec says to ignore a relative path
    assert default_profile_dir(platform="linux", env=relative, home=home).parent.name == "share"
    appdata = {"APPDATA": "C:/Users/a/AppData/Roaming"}
    assert default_profile_dir(platform="win32", env=appdata, home=home).name == "Parley"
    mac = default_profile_dir(platform="darwin", env={}, home=home)
    assert mac == home / "Library/Application Support/Parley"


def test_the_runtime_runs_coroutines_on_its_thread_and_surfaces_errors() -> None:
    runtime = CoreRuntime()
    runtime.start()
    try:

        async def where() -> str:
            import threading

            return threading.current_thread().name

        async def fail() -> None:
            raise AppError("boom for a person")

        assert runtime.call(where(), timeout=WAIT_S) == "parley-core"
        future = runtime.submit(fail())
        with pytest.raises(AppError, match="boom"):
            future.result(WAIT_S)
        with pytest.raises(TimeoutError):
            runtime.call(asyncio.sleep(30), timeout=0.05)
    finally:
        runtime.stop()
    assert not runtime.running
    with pytest.raises(AppError, match="not running"):
        runtime.submit(asyncio.sleep(0))


async def test_the_demo_pair_opens_without_typing_and_knows_each_other(
    tmp_path: Path, relay: RelayServer
) -> None:
    from parley.app.demo import create_demo_pair

    first, second = await create_demo_pair(tmp_path / "demo", relay.url)
    names = []
    for profile in (first, second):
        assert profile_state(profile) == "demo"
        assert "DEMO" in (profile / "DEMO-PASSPHRASE.txt").read_text(encoding="utf-8")
        messenger = await open_account(profile)
        names.append([c.display_name for c in await messenger.contacts()])
        assert (await messenger.key_storage()).kind == "passphrase"
        await messenger.close()
    assert names == [["Bob"], ["Alice"]]


async def test_a_corrupted_database_is_reported_and_left_as_it_was(
    tmp_path: Path, relay: RelayServer
) -> None:
    alice = await make_person(tmp_path, "alice", relay.url)
    await alice.messenger.close()
    database = alice.profile / "store.db"
    damaged = bytearray(database.read_bytes())
    damaged[100:4000] = bytes(3900)  # the first page, where the schema lives
    database.write_bytes(bytes(damaged))
    before = snapshot(alice.profile)
    with pytest.raises(StorageError, match="damaged"):
        await open_account(alice.profile, passphrase=PASSPHRASE)
    assert snapshot(alice.profile) == before
