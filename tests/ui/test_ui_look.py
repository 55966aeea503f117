"""The conversation list: avatars from the identity key, a focus ring for the keyboard."""

from __future__ import annotations

from parley.ui.conversation_delegate import ConversationDelegate
from parley.ui.main_window import MainWindow
from parley.ui.widgets import avatar_colour, initials
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QStyleOptionViewItem
from pytestqt.qtbot import QtBot

from tests.ui.ui_driver import focus_window, open_chat

pytest_plugins = ["ui_fixtures"]  # the fixtures: real core, real relay (see ui_fixtures.py)


def test_initials_and_colours() -> None:
    assert initials("Alice Smith") == "AS" and initials("bob") == "B" and initials("  ") == "?"
    assert avatar_colour("aa" * 32, "Bob") == avatar_colour("aa" * 32, "Robert")  # by key
    assert avatar_colour("aa" * 32, "Bob") != avatar_colour("bb" * 32, "Bob")


def test_the_list_shows_an_avatar_in_the_contacts_colour_and_a_focus_ring(
    qtbot: QtBot, pair: tuple[MainWindow, MainWindow]
) -> None:
    alice, _bob = pair
    conversation = alice.conversations.conversation_at(0)
    assert conversation is not None and len(conversation.identity_key_hex) == 64
    list_view = alice.list
    open_chat(alice)
    option = QStyleOptionViewItem()
    option.rect = list_view.visualRect(alice.conversations.index(0))
    avatar = ConversationDelegate.avatar_rect(option)
    edge = avatar.center()
    edge.setY(avatar.top() + 3)  # on the circle, above the initials
    before = list_view.viewport().grab().toImage()
    expected = avatar_colour(conversation.identity_key_hex, conversation.title)
    seen = QColor(before.pixel(edge))
    assert abs(seen.hue() - expected.hue()) <= 6, (seen.name(), expected.name())

    # Focus on the composer (after the click), then Shift+Tab back to the list: a ring appears.
    without_focus = list_view.viewport().grab().toImage()
    focus_window(qtbot, alice)
    for _ in range(8):
        if alice.focusWidget() is list_view:
            break
        focus = alice.focusWidget()
        assert focus is not None
        QTest.keyClick(focus, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert alice.focusWidget() is list_view
    with_focus = list_view.viewport().grab().toImage()
    row = option.rect
    changed = sum(
        1
        for x in range(row.left(), row.right())
        if with_focus.pixel(x, row.top() + 1) != without_focus.pixel(x, row.top() + 1)
    )
    assert changed > row.width() // 3, changed


def test_a_dark_system_scheme_gives_a_dark_window_and_dark_incoming_bubbles(
    qtbot: QtBot, pair: tuple[MainWindow, MainWindow]
) -> None:
    from parley.ui.theme import apply_theme, is_dark
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    _alice, bob = pair
    open_chat(bob)  # the fixture's greeting is incoming for Bob
    style = app.style().name()
    try:
        apply_theme(app, Qt.ColorScheme.Dark)  # what follow_system_theme does when it turns dark
        qtbot.wait(50)
        assert is_dark(bob.palette())
        view = bob.pane.view
        model = bob.pane.model
        qtbot.waitUntil(lambda: model.rowCount() >= 1, timeout=30_000)
        incoming = next(
            r for r in range(model.rowCount()) if (m := model.message_at(r)) and m.direction == "in"
        )
        rect = view.visualRect(model.index(incoming))
        image = view.viewport().grab().toImage()
        inside = QColor(image.pixel(rect.left() + 14, rect.bottom() - 10))
        assert inside.lightness() < 100, inside.name()  # no light-grey bubble on a dark window
    finally:
        app.setStyle(style)
        apply_theme(app, Qt.ColorScheme.Light)
        qtbot.wait(50)
    assert not is_dark(bob.palette())


def test_the_blocked_people_dialog_in_both_themes(
    qtbot: QtBot, pair: tuple[MainWindow, MainWindow]
) -> None:
    """Opened by clicks (Message requests, then Blocked…), with one entry: the window, the list
    and its text follow the theme (no light box on a dark window, no grey-on-grey text)."""
    from parley.app.events import BlockedView
    from parley.ui.blocked_view import BlockedDialog
    from parley.ui.requests_view import RequestsDialog
    from parley.ui.theme import apply_theme
    from PySide6.QtWidgets import QApplication

    from tests.ui.ui_driver import click, close_window, wait_for_window

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    alice, _bob = pair
    style = app.style().name()
    entry = BlockedView("a" * 32, "Bob \u00b7 9a8b 7c6d 5e4f 3a2b", "", "", "accepted", 3)
    try:
        for scheme, dark in ((Qt.ColorScheme.Dark, True), (Qt.ColorScheme.Light, False)):
            apply_theme(app, scheme)
            qtbot.wait(50)
            click(alice.requests_button)
            requests = wait_for_window(qtbot, RequestsDialog, alice)
            click(requests.blocked_button)
            dialog = wait_for_window(qtbot, BlockedDialog, alice)
            qtbot.waitUntil(dialog.empty.isVisible, timeout=30_000)
            dialog.show_blocked([entry])
            qtbot.wait(50)
            image = dialog.grab().toImage()
            window = QColor(image.pixel(3, 3))
            listed = dialog.list.viewport().grab().toImage()
            rect = dialog.list.visualItemRect(dialog.list.item(0))
            background = QColor(listed.pixel(rect.right() - 3, rect.bottom() - 2))
            text = [
                QColor(listed.pixel(x, y))
                for x in range(rect.left(), rect.left() + 80)
                for y in range(rect.top(), rect.top() + 16)
            ]
            inked = max(abs(c.lightness() - background.lightness()) for c in text)
            assert (window.lightness() < 100) == dark, (scheme, window.name())
            empty = QColor(listed.pixel(5, listed.height() - 5))  # the list under its rows
            assert (empty.lightness() < 100) == dark, (scheme, empty.name())
            assert inked > 100, (scheme, inked)  # the label stands out from its background
            close_window(qtbot, dialog)
            close_window(qtbot, requests)
    finally:
        app.setStyle(style)
        apply_theme(app, Qt.ColorScheme.Light)
        qtbot.wait(50)
