"""A new user's first act: add a contact and write to them, through clicks and keys only."""

from __future__ import annotations

import pytest
from parley.ui.invite_dialogs import AddContactDialog, InviteDialog
from parley.ui.main_window import MainWindow
from parley.ui.safety_dialog import SafetyNumberDialog
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from parley import BUILD_VARIANT
from tests.ui.ui_driver import (
    WAIT_MS,
    click,
    close_window,
    menu_item,
    press,
    shortcut,
    type_into,
    wait_for_window,
)

pytest_plugins = ["ui_fixtures"]  # the fixtures: real core, real relay (see ui_fixtures.py)


@pytest.mark.parametrize("way", ["button", "shortcut", "menu"])
def test_add_contact_opens_by_button_shortcut_and_menu(
    qtbot: QtBot, pair: tuple[MainWindow, MainWindow], way: str
) -> None:
    alice, _bob = pair
    if way == "button":
        click(alice.add_button)
    elif way == "shortcut":
        shortcut(qtbot, alice, "Ctrl+N")
    else:
        menu_item(qtbot, alice, "Parley", "Add contact")
    dialog = wait_for_window(qtbot, AddContactDialog, alice, timeout=5000)
    assert dialog.invite.toPlainText() == ""
    assert not dialog.error.isVisible()
    close_window(qtbot, dialog)


def test_the_title_names_person_and_build_once(pair: tuple[MainWindow, MainWindow]) -> None:
    alice, _bob = pair
    title = alice.windowTitle()
    # Qt appends the application's display name ("Parley", ui/app_setup.py) unless the title
    # ends with it: it must appear once.
    assert title.endswith("— Parley") and title.count("Parley") == 1, title
    assert "Alice" in title and f"{BUILD_VARIANT} build" in title


def test_invite_copied_pasted_added_then_first_message_and_verified(
    qtbot: QtBot, pair: tuple[MainWindow, MainWindow], carol: MainWindow
) -> None:
    alice, _bob = pair
    click(carol.invite_button)
    invite = wait_for_window(qtbot, InviteDialog, carol)
    qtbot.waitUntil(invite.copy.isEnabled, timeout=WAIT_MS)
    click(invite.copy)
    assert QGuiApplication.clipboard().text() == invite.code.toPlainText() != ""
    close_window(qtbot, invite)

    shortcut(qtbot, alice, "Ctrl+N")
    add = wait_for_window(qtbot, AddContactDialog, alice)
    click(add.add)
    assert "Paste" in add.error.text()  # nothing pasted yet: said in words
    type_into(add.invite, "parley:garbage")
    click(add.add)
    qtbot.waitUntil(lambda: add.error.isVisible() and add.add.isEnabled(), timeout=WAIT_MS)
    assert "Traceback" not in add.error.text()
    click(add.invite)
    press(add.invite, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    press(add.invite, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(add.preview.isVisible, timeout=WAIT_MS)
    assert "Carol" in add.preview.text()
    click(add.add)

    # The new conversation opens by itself with the keyboard in its composer.
    qtbot.waitUntil(
        lambda: alice.pane.conversation is not None and "Carol" in alice.pane.conversation.title,
        timeout=WAIT_MS,
    )
    qtbot.waitUntil(lambda: alice.focusWidget() is alice.pane.composer.edit, timeout=WAIT_MS)
    typing_target = alice.focusWidget()
    assert typing_target is not None
    QTest.keyClicks(typing_target, "Hello Carol")
    QTest.keyClick(typing_target, Qt.Key.Key_Return)
    # Alice is a stranger to Carol: her first message is a request, accepted with a click.
    qtbot.waitUntil(lambda: carol.requests_button.text() == "Message requests (1)", timeout=WAIT_MS)
    click(carol.requests_button)
    requests = carol.requests_button.dialog
    assert requests is not None
    qtbot.waitUntil(requests.isVisible, timeout=WAIT_MS)
    click(requests.accept_button)
    qtbot.waitUntil(lambda: carol.conversations.rowCount() == 1, timeout=WAIT_MS)
    close_window(qtbot, requests)
    click(carol.list.viewport(), carol.list.visualRect(carol.conversations.index(0)).center())
    qtbot.waitUntil(
        lambda: any(
            (m := carol.pane.model.message_at(r)) is not None and m.body == "Hello Carol"
            for r in range(carol.pane.model.rowCount())
        ),
        timeout=WAIT_MS,
    )
    assert carol.focusWidget() is carol.pane.composer.edit  # a click on a chat: ready to type

    click(alice.pane.safety)
    safety = wait_for_window(qtbot, SafetyNumberDialog, alice)
    qtbot.waitUntil(lambda: safety.view is not None, timeout=WAIT_MS)
    groups = safety.digits.text().split()
    assert len(groups) == 12 and all(len(g) == 5 and g.isdigit() for g in groups)
    click(safety.verified)
    qtbot.waitUntil(
        lambda: (c := alice.pane.conversation) is not None and c.verified, timeout=WAIT_MS
    )
    assert "verified" in alice.pane.title.text()
    close_window(qtbot, safety)


def test_tab_walks_the_window_in_reading_order(
    qtbot: QtBot, pair: tuple[MainWindow, MainWindow]
) -> None:
    alice, _bob = pair
    click(alice.list.viewport(), alice.list.visualRect(alice.conversations.index(0)).center())
    qtbot.waitUntil(lambda: alice.focusWidget() is alice.pane.composer.edit, timeout=WAIT_MS)
    order = []
    for _ in range(9):
        focus = alice.focusWidget()
        assert focus is not None
        order.append(focus.accessibleName())
        QTest.keyClick(focus, Qt.Key.Key_Tab)
    start = order.index("Message")
    walk = order[start:] + order[:start]
    assert walk[:2] == ["Message", "Send message"], order
    assert walk.index("Safety number") < walk.index("Messages") < walk.index("Attach picture")
