"""What `parley demo` builds: two demo profiles that open without typing and already talk."""

from __future__ import annotations

from typing import Any

from parley.ui.demo import DemoWorld
from parley.ui.main_window import MainWindow
from pytestqt.qtbot import QtBot

pytest_plugins = ["ui_fixtures"]  # the fixtures: real core, real relay (see ui_fixtures.py)

WAIT_MS = 30_000


def test_demo_windows_open_and_talk(qtbot: QtBot, runtime: Any, world: DemoWorld) -> None:
    from parley.ui.session import AccountSession

    assert world.relay_url.startswith("ws://127.0.0.1:")
    sessions = [AccountSession(runtime, profile) for profile in world.profiles]
    for session in sessions:
        session.start()  # a demo profile needs no passphrase: straight to the window
    qtbot.waitUntil(lambda: all(s.window is not None for s in sessions), timeout=WAIT_MS)
    left, right = (s.window for s in sessions)
    assert isinstance(left, MainWindow) and isinstance(right, MainWindow)
    qtbot.waitUntil(
        lambda: left.conversations.rowCount() == 1 and right.conversations.rowCount() == 1,
        timeout=WAIT_MS,
    )
    for window in (left, right):
        window.list.setCurrentIndex(window.conversations.index(0))
    left.pane.send_text("typed on the left")

    def arrived() -> bool:
        model = right.pane.model
        newest = model.message_at(model.rowCount() - 1)
        return newest is not None and newest.body == "typed on the left"

    qtbot.waitUntil(arrived, timeout=WAIT_MS)
    for session in sessions:
        if session.window is not None:
            session.window.closed.disconnect()
            session.window.close()
        session.close()
