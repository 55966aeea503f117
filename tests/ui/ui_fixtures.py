"""Fixtures for the desktop tests: the real core on its own thread and a real relay on 127.0.0.1.

Test modules load them with ``pytest_plugins = ["ui_fixtures"]``: tests/ui has no conftest.py
and no __init__.py, so that mypy sees neither two modules named conftest nor two named ui (beside
bench/ui.py).

Nothing is faked: the relay is net/relay/ listening on a free loopback port inside the core's
runtime (ui/embedded_relay.py), profiles are real SQLCipher files under tmp_path, and the windows
are real widgets on Qt's offscreen platform.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nacl.pwhash
import pytest
from parley.ui.app_setup import make_application
from parley.ui.bridge import Submitter
from parley.ui.demo import DemoWorld, create_world
from parley.ui.embedded_relay import EmbeddedRelay
from parley.ui.main_window import MainWindow
from pytestqt.qtbot import QtBot

if TYPE_CHECKING:
    from parley.ui.session import AccountSession

PASSPHRASE = "a passphrase for tests"
#: Argon2id at its minimum: the tests exercise the app, not the key derivation's cost.
FAST_ARGON2 = (nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN)
#: Generous: the first X3DH, prekey uploads and SQLCipher key derivation on a busy 2-core box.
WAIT_MS = 30_000


@pytest.fixture
def runtime() -> Iterator[Any]:
    core_runtime = pytest.importorskip("parley.app.runtime", reason="the core has not landed")
    make_application()
    core = core_runtime.CoreRuntime()
    core.start()
    yield core
    core.stop()


@pytest.fixture
def relay(runtime: Submitter, tmp_path: Path) -> Iterator[EmbeddedRelay]:
    embedded = EmbeddedRelay(runtime, tmp_path / "relay")
    embedded.start_ephemeral()
    yield embedded
    embedded.stop()


@pytest.fixture
def world(runtime: Submitter, tmp_path: Path) -> Iterator[DemoWorld]:
    """What `parley demo` builds: a relay and two profiles that know each other."""
    built = create_world(runtime, tmp_path / "demo")
    yield built
    built.relay.stop()


def open_session(qtbot: QtBot, runtime: Submitter, profile: Path) -> AccountSession:
    """Open a profile that needs no passphrase, and wait for its main window."""
    from parley.ui.session import AccountSession

    session = AccountSession(runtime, profile)
    session.start()
    qtbot.waitUntil(lambda: session.window is not None, timeout=WAIT_MS)
    return session


def ready(window: MainWindow) -> Callable[[], bool]:
    """True once the window lists its conversation and is connected to the relay."""
    return lambda: window.conversations.rowCount() == 1 and window.connection.text() == "Online"


async def _introduce(base: Path, relay_url: str) -> tuple[Any, Any]:
    """Alice and Bob, created by the real core; Alice adds Bob's invite and greets him."""
    from parley.app.account import create_account

    people = []
    for name in ("Alice", "Bob"):
        people.append(
            await create_account(
                base / name.lower(),
                name,
                relay_url,
                key_storage="passphrase",
                passphrase=PASSPHRASE,
                argon2_limits=FAST_ARGON2,
            )
        )
    alice, bob = people
    invite = await bob.my_invite()
    contact = await alice.add_contact(invite.code)
    conversations = await alice.conversations()
    greeting = next(c for c in conversations if c.contact_id == contact.id)
    await alice.send_text(greeting.id, "Hello Bob, this is Alice.")
    for _ in range(int(WAIT_MS / 20)):
        pending = await bob.requests()  # Alice is a stranger to Bob until he accepts her
        if pending:
            await bob.accept_request(pending[0].contact_id)
            break
        await asyncio.sleep(0.02)
    return alice, bob


@pytest.fixture
def pair(
    qtbot: QtBot, runtime: Submitter, relay: EmbeddedRelay, tmp_path: Path
) -> Iterator[tuple[MainWindow, MainWindow]]:
    """Alice's and Bob's windows, each with their conversation with the other listed."""
    from parley.ui.session import AccountSession

    relay_url = relay.url or ""
    messengers = runtime.submit(_introduce(tmp_path / "people", relay_url)).result(WAIT_MS / 1000)
    sessions = []
    for messenger in messengers:
        session = AccountSession(runtime, tmp_path / "people" / messenger.display_name.lower())
        session.adopt(messenger, online=True)
        sessions.append(session)
    windows = [s.window for s in sessions if s.window is not None]
    for window in windows:
        qtbot.waitUntil(ready(window), timeout=WAIT_MS)
    yield windows[0], windows[1]
    for session in sessions:
        if session.window is not None:
            session.window.closed.disconnect()
            session.window.close()
        session.close()


@pytest.fixture
def carol(
    qtbot: QtBot, runtime: Submitter, relay: EmbeddedRelay, tmp_path: Path
) -> Iterator[MainWindow]:
    """A third person, new on the same relay, who knows nobody yet: her window."""
    from parley.app.account import create_account
    from parley.ui.session import AccountSession

    messenger = runtime.submit(
        create_account(
            tmp_path / "carol",
            "Carol",
            relay.url or "",
            key_storage="passphrase",
            passphrase=PASSPHRASE,
            argon2_limits=FAST_ARGON2,
        )
    ).result(timeout=WAIT_MS / 1000)
    session = AccountSession(runtime, tmp_path / "carol")
    session.adopt(messenger, online=True)
    window = session.window
    assert window is not None
    yield window
    if session.window is not None:
        session.window.closed.disconnect()
        session.window.close()
    session.close()
