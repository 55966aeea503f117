"""Lines Parley writes into a conversation look like Parley's, not like the contact's words:
centred, small, muted, with no bubble, in the light and the dark theme.

The line is made the real way: Alice's (hostile) client sends a "picture" that is not one,
through the real relay; Bob's app refuses it and says so in the conversation.
"""

from __future__ import annotations

from typing import Any

from parley.app.attachments import CheckedPicture
from parley.app.events import MessageView
from parley.ui.main_window import MainWindow
from parley.ui.relay_record_dialog import RelayRecordDialog
from parley.ui.theme import IN_BUBBLE_DARK, IN_BUBBLE_LIGHT, apply_theme, is_dark
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.ui.ui_driver import WAIT_MS, click, open_chat, send, shortcut

pytest_plugins = ["ui_fixtures"]  # the fixtures: real core, real relay (see ui_fixtures.py)


def _rows(window: MainWindow) -> list[MessageView]:
    model = window.pane.model
    return [m for r in range(model.rowCount()) if (m := model.message_at(r)) is not None]


def _pixels(image: QImage, rect: QRect) -> list[QColor]:
    return [
        image.pixelColor(x, y)
        for y in range(max(0, rect.top()), min(image.height(), rect.bottom() + 1))
        for x in range(max(0, rect.left()), min(image.width(), rect.right() + 1))
    ]


def _drawn_columns(image: QImage, rect: QRect, background: QColor) -> list[int]:
    """The x of every column in ``rect`` where something differs from the background."""
    columns = []
    for x in range(rect.left(), rect.right() + 1):
        for y in range(rect.top(), rect.bottom() + 1):
            colour = image.pixelColor(x, y)
            if abs(colour.lightness() - background.lightness()) > 40:
                columns.append(x)
                break
    return columns


def _check_line(window: MainWindow, row: int, bubble: QColor) -> tuple[list[QColor], QColor]:
    """The line's row as drawn: no bubble colour anywhere, its text centred in the row."""
    view = window.pane.view
    index = window.pane.model.index(row)
    view.scrollTo(index)
    view.viewport().repaint()
    rect = view.visualRect(index)
    image = view.viewport().grab().toImage()
    background = view.palette().color(view.viewport().backgroundRole())
    pixels = _pixels(image, rect)
    assert bubble not in pixels, "the system line is drawn in a bubble"
    columns = _drawn_columns(image, rect, background)
    assert columns, "nothing is drawn"
    left_gap = min(columns) - rect.left()
    right_gap = rect.right() - max(columns)
    assert abs(left_gap - right_gap) <= 4, (left_gap, right_gap)  # centred
    assert left_gap > rect.width() // 12  # short of both edges: not a sender's side
    return pixels, background


def test_a_system_line_is_centred_small_and_muted_without_a_bubble(
    qtbot: QtBot, pair: tuple[MainWindow, MainWindow], runtime: Any
) -> None:
    alice, bob = pair
    open_chat(alice)
    open_chat(bob)
    conversation = alice.pane.conversation
    assert conversation is not None
    bogus = CheckedPicture(b"\x89PNG\r\n\x1a\n" + b"not a picture" * 8, "image/png", 8, 8, "x.png")
    runtime.submit(alice.bridge.messenger.send_picture(conversation.id, bogus)).result(30)
    send(alice, "and a word after it")
    qtbot.waitUntil(
        lambda: [m.kind for m in _rows(bob)][-2:] == ["system", "message"], timeout=WAIT_MS
    )
    rows = _rows(bob)
    line = len(rows) - 2
    assert "could not be shown" in rows[line].body
    accessible = bob.pane.model.index(line).data(Qt.ItemDataRole.AccessibleTextRole)
    assert accessible.startswith("Notice from Parley, ")

    # Light: no grey bubble, and the darkest ink is mid-grey, not the near-black of messages.
    pixels, background = _check_line(bob, line, IN_BUBBLE_LIGHT)
    assert min(p.lightness() for p in pixels) >= 85
    incoming = bob.pane.view.visualRect(bob.pane.model.index(line + 1))
    assert bob.pane.view.visualRect(bob.pane.model.index(line)).height() < 3 * incoming.height()

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    style = app.style().name()
    try:
        apply_theme(app, Qt.ColorScheme.Dark)
        qtbot.wait(50)
        assert is_dark(bob.palette())
        pixels, background = _check_line(bob, line, IN_BUBBLE_DARK)
        # Muted on dark: lighter than the window, never the bright white of message text.
        assert max(p.lightness() for p in pixels) <= 200
        assert max(p.lightness() for p in pixels) > background.lightness() + 60
    finally:
        app.setStyle(style)
        apply_theme(app, Qt.ColorScheme.Light)
        qtbot.wait(50)

    # The app's own line never went through the relay: Ctrl+I says so instead of a record.
    view = bob.pane.view
    click(view.viewport(), view.visualRect(bob.pane.model.index(line)).center())
    assert bob.pane.current_message() == rows[line]
    shortcut(qtbot, bob, "Ctrl+I")
    bar = bob.statusBar()
    qtbot.waitUntil(lambda: "never went through" in bar.currentMessage(), timeout=WAIT_MS)
    assert not any(
        isinstance(w, RelayRecordDialog) and w.isVisible() for w in QApplication.topLevelWidgets()
    )
