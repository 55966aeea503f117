"""Blocking an accepted contact from the main window, and unblocking them, as a person does it:
the Message menu, its shortcut and the conversation list's own menu ask once; Cancel blocks
nobody; Block takes the contact out of the list (closing their conversation), drops what they
send, and Parley > Blocked people… brings them back with their key, verification and history."""

from __future__ import annotations

from typing import Any

from parley.app.events import (
    ContactUnblocked,
    ConversationChanged,
    ConversationView,
    RequestRemoved,
)
from parley.ui.block_contact import question
from parley.ui.blocked_view import BlockedDialog
from parley.ui.main_window import MainWindow
from parley.ui.safety_dialog import SafetyNumberDialog
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMenu, QMessageBox
from pytestqt.qtbot import QtBot

from tests.ui.ui_driver import (
    WAIT_MS,
    choose_in_menu,
    click,
    close_window,
    menu_item,
    open_chat,
    open_from_menu,
    right_click,
    send,
    set_checked,
    shortcut,
    wait_for_last,
    wait_for_window,
)

pytest_plugins = ["ui_fixtures"]  # the fixtures: real core, real relay (see ui_fixtures.py)


def core(window: MainWindow, work: Any) -> Any:
    """What the core says now (for checking, never for acting)."""
    return window.bridge.runtime.submit(work).result(WAIT_MS / 1000)


def list_menu(qtbot: QtBot, window: MainWindow, row: int = 0) -> QMenu:
    """Right-click a conversation in the list; the menu that opened."""
    before = window.list_menu
    rect = window.list.visualRect(window.conversations.index(row))
    right_click(window.list.viewport(), rect.center())
    qtbot.waitUntil(
        lambda: (
            window.list_menu is not None
            and window.list_menu is not before
            and window.list_menu.isVisible()
        ),
        timeout=WAIT_MS,
    )
    assert window.list_menu is not None
    return window.list_menu


def answer(qtbot: QtBot, window: MainWindow, button: QMessageBox.StandardButton) -> str:
    """Click ``button`` in the question the last input opened; the question's text."""
    box = wait_for_window(qtbot, QMessageBox, window)
    text = box.text()
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    assert box.textFormat() == Qt.TextFormat.PlainText  # a name like "<b>Eve</b>" stays text
    click(box.button(button))
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=WAIT_MS)
    return text


def open_conversation(window: MainWindow) -> ConversationView | None:
    """The conversation the window shows now."""
    return window.pane.conversation


def blocked_state(window: MainWindow) -> list[tuple[str, str]]:
    return [(b.contact_id, b.was) for b in core(window, window.bridge.messenger.blocked())]


def test_block_asks_once_then_unblock_brings_the_contact_back_with_history(
    qtbot: QtBot, pair: tuple[MainWindow, MainWindow]
) -> None:
    alice, bob = pair
    assert not bob.block_action.isEnabled()  # no conversation open: nobody to block
    open_chat(bob)
    wait_for_last(qtbot, bob, "Hello Bob, this is Alice.")
    # Bob compared safety numbers with Alice once (through the list's own menu).
    choose_in_menu(qtbot, list_menu(qtbot, bob), "Safety number")
    safety = wait_for_window(qtbot, SafetyNumberDialog, bob)
    qtbot.waitUntil(safety.verified.isEnabled, timeout=WAIT_MS)
    set_checked(safety.verified, True)
    qtbot.waitUntil(lambda: bob.pane.conversation.verified, timeout=WAIT_MS)  # type: ignore[union-attr]
    close_window(qtbot, safety)
    (before,) = core(bob, bob.bridge.messenger.contacts())
    assert before.verified

    # Cancel (the default) blocks nobody.
    menu_item(qtbot, bob, "Message", "Block contact")
    assert answer(qtbot, bob, QMessageBox.StandardButton.Cancel) == question("Alice")
    assert "not told" in question("Alice") and "unblock them later" in question("Alice")
    QTest.qWait(300)
    assert blocked_state(bob) == []
    assert bob.conversations.rowCount() == 1 and open_conversation(bob) is not None

    # The shortcut, then Block: the contact leaves the list and the conversation closes.
    shortcut(qtbot, bob, "Ctrl+Shift+B")
    answer(qtbot, bob, QMessageBox.StandardButton.Yes)
    qtbot.waitUntil(lambda: bob.conversations.rowCount() == 0, timeout=WAIT_MS)
    assert open_conversation(bob) is None and bob.pane.model.rowCount() == 0
    assert bob.stack.currentWidget() is bob.placeholder
    assert "Alice is blocked" in bob.statusBar().currentMessage()
    assert not bob.block_action.isEnabled()
    assert blocked_state(bob) == [(before.id, "accepted")]

    # What Alice sends now is dropped unread (she is not told: her message is sent as usual).
    open_chat(alice)
    send(alice, "are you there?")
    db = bob.bridge.messenger.store.db  # type: ignore[attr-defined]
    qtbot.waitUntil(
        lambda: db.one("SELECT dropped FROM contacts WHERE id = ?", (before.id,)) == (1,),
        timeout=WAIT_MS,
    )
    assert bob.conversations.rowCount() == 0

    # Parley > Blocked people… lists her; Unblock asks, then she is Bob's contact again.
    blocked = open_from_menu(qtbot, bob, "Parley", "Blocked people", BlockedDialog)
    qtbot.waitUntil(lambda: blocked.list.count() == 1, timeout=WAIT_MS)
    assert blocked.list.item(0).text().startswith("Alice \u00b7 ")
    assert "Unblocking makes it your contact again, as before." in blocked.list.item(0).text()
    click(blocked.unblock_button)
    qtbot.waitUntil(
        lambda: blocked.confirm is not None and blocked.confirm.isVisible(), timeout=WAIT_MS
    )
    assert blocked.confirm is not None
    assert blocked.confirm.textFormat() == Qt.TextFormat.PlainText
    click(blocked.confirm.button(QMessageBox.StandardButton.Yes))
    qtbot.waitUntil(lambda: blocked.list.count() == 0, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: bob.conversations.rowCount() == 1, timeout=WAIT_MS)
    click(blocked.close_button)
    qtbot.waitUntil(lambda: not blocked.isVisible(), timeout=WAIT_MS)
    (after,) = core(bob, bob.bridge.messenger.contacts())
    assert (after.id, after.identity_key_hex, after.verified) == (
        before.id,
        before.identity_key_hex,
        True,
    )
    open_chat(bob)
    qtbot.waitUntil(lambda: bob.pane.model.rowCount() >= 2, timeout=WAIT_MS)
    model = bob.pane.model
    bodies = [m.body for r in range(model.rowCount()) if (m := model.message_at(r)) is not None]
    assert bodies[0] == "Hello Bob, this is Alice."
    assert "are you there?" not in bodies
    assert bodies[-1].startswith("You unblocked this identity. 1 message it sent")
    # The sessions stayed in step: her next message reaches him.
    send(alice, "back again")
    wait_for_last(qtbot, bob, "back again")


def test_the_conversation_list_menu_blocks_the_contact_under_the_pointer(
    qtbot: QtBot, pair: tuple[MainWindow, MainWindow]
) -> None:
    _alice, bob = pair
    # Escape in the question blocks nobody either.
    choose_in_menu(qtbot, list_menu(qtbot, bob), "Block")
    box = wait_for_window(qtbot, QMessageBox, bob)
    assert box.text() == question("Alice")
    close_window(qtbot, box)
    QTest.qWait(300)
    assert blocked_state(bob) == [] and bob.conversations.rowCount() == 1

    choose_in_menu(qtbot, list_menu(qtbot, bob), "Block")
    answer(qtbot, bob, QMessageBox.StandardButton.Yes)
    qtbot.waitUntil(lambda: bob.conversations.rowCount() == 0, timeout=WAIT_MS)
    assert bob.pane.conversation is None
    assert [was for _id, was in blocked_state(bob)] == ["accepted"]
    # Nothing is left to open a menu on: a right click on the empty list opens none.
    before = bob.list_menu
    right_click(bob.list.viewport(), QPoint(10, 10))
    QTest.qWait(200)
    assert bob.list_menu is before


def test_a_block_undone_in_the_same_batch_of_events_keeps_the_contact_listed(
    qtbot: QtBot, pair: tuple[MainWindow, MainWindow]
) -> None:
    """The core's events reach the window in batches: a block followed by its unblock (events
    the core emits, replayed through the bridge) must leave the contact in the list."""
    alice, _bob = pair
    conversation = alice.conversations.conversation_at(0)
    assert conversation is not None
    contact_id = conversation.contact_id
    alice.bridge.dispatch(
        [
            RequestRemoved(contact_id, "blocked"),
            ContactUnblocked(contact_id, "accepted"),
            ConversationChanged(conversation),
        ]
    )
    assert alice.conversations.rowCount() == 1
    alice.bridge.dispatch([RequestRemoved(contact_id, "blocked")])
    assert alice.conversations.rowCount() == 0
