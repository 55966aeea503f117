"""What `parley demo` builds: two demo profiles that open without typing and already talk."""

from __future__ import annotations

from typing import Any

from parley.ui.demo import DemoWorld, open_sessions
from parley.ui.main_window import MainWindow
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

pytest_plugins = ["ui_fixtures"]  # the fixtures: real core, real relay (see ui_fixtures.py)

WAIT_MS = 30_000


def test_demo_windows_open_on_the_conversation_and_talk(
    qtbot: QtBot, runtime: Any, world: DemoWorld
) -> None:
    assert world.relay_url.startswith("ws://127.0.0.1:")
    sessions = open_sessions(runtime, world)  # a demo profile needs no passphrase
    try:
        qtbot.waitUntil(lambda: all(s.window is not None for s in sessions), timeout=WAIT_MS)
        left, right = (s.window for s in sessions)
        assert isinstance(left, MainWindow) and isinstance(right, MainWindow)
        # Nobody clicks anything: each window shows the conversation with the other, and the
        # keyboard is in its composer.
        qtbot.waitUntil(
            lambda: left.pane.conversation is not None and right.pane.conversation is not None,
            timeout=WAIT_MS,
        )
        for window, other in ((left, "Bob"), (right, "Alice")):
            assert window.pane.conversation is not None
            assert window.pane.conversation.title == other
            assert window.stack.currentWidget() is window.pane
            assert window.list.currentIndex().row() == 0
            assert window.focusWidget() is window.pane.composer.edit
        QTest.keyClicks(left.pane.composer.edit, "typed on the left")
        QTest.keyClick(left.pane.composer.edit, Qt.Key.Key_Return)

        def arrived() -> bool:
            model = right.pane.model
            newest = model.message_at(model.rowCount() - 1)
            return newest is not None and newest.body == "typed on the left"

        qtbot.waitUntil(arrived, timeout=WAIT_MS)
    finally:
        for session in sessions:
            if session.window is not None:
                session.window.closed.disconnect()
                session.window.close()
            session.close()
