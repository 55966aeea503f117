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
