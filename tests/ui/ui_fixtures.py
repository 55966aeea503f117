"""Fixtures for the desktop tests: the real core on its own thread and a real relay on 127.0.0.1.

Test modules load them with ``pytest_plugins = ["ui_fixtures"]``: tests/ui has no conftest.py
and no __init__.py, so that mypy sees neither two modules named conftest nor two named ui (beside
bench/ui.py).

Nothing is faked: the relay is net/relay/ listening on a free loopback port inside the core's
runtime (ui/embedded_relay.py), profiles are real SQLCipher files under tmp_path, and the windows
are real widgets on Qt's offscreen platform.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from parley.ui.app_setup import make_application
from parley.ui.bridge import Submitter
from parley.ui.demo import DemoWorld, create_world
from parley.ui.embedded_relay import EmbeddedRelay
from parley.ui.main_window import MainWindow
from pytestqt.qtbot import QtBot

if TYPE_CHECKING:
    from parley.ui.session import AccountSession

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


@pytest.fixture
def pair(qtbot: QtBot, runtime: Submitter, world: DemoWorld) -> Iterator[tuple[Any, Any]]:
    """The two demo windows, each with its conversation with the other already listed."""
    sessions = [open_session(qtbot, runtime, profile) for profile in world.profiles]
    windows = [s.window for s in sessions if s.window is not None]
    for window in windows:
        qtbot.waitUntil(ready(window), timeout=WAIT_MS)
    yield windows[0], windows[1]
    for session in sessions:
        if session.window is not None:
            session.window.closed.disconnect()
            session.window.close()
        session.close()
