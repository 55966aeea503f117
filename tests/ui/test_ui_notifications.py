"""Desktop notifications for a contact's reaction to one of my messages, through the real core and
a real relay: the contact reacts in their own window (or their core, where a click would take the
focus from the window under test), the reaction crosses the relay, and what the notifier showed
is read from ``Notifier.shown`` (the tray's own popups cannot be read back on offscreen Qt).

The rules are those of message notifications (ui/main_window.py): the Settings box, nothing while
the conversation is open in the focused window. Only a contact's new reaction to a message of mine
notifies: not my own, not a removal, not a reaction to their own message.
"""

from __future__ import annotations

from typing import Any

import shiboken6
from parley.app.events import ReactionView
from parley.ui.bridge import Submitter
from parley.ui.main_window import MainWindow
from parley.ui.settings_dialog import SettingsDialog
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from tests.ui.ui_driver import (
    HEART,
    THUMBS,
    WAIT_MS,
    choose_in_menu,
    click,
    focus_window,
    message_menu,
    open_from_menu,
    reaction_button,
    reactions_of,
    send,
    set_checked,
    talking,
    wait_for_last,
)

pytest_plugins = ["ui_fixtures"]  # the fixtures: real core, real relay (see ui_fixtures.py)

LAUGH = "\U0001f602"


def _react_in_window(qtbot: QtBot, window: MainWindow, message_id: str, emoji: str) -> None:
    """A click on the quick reaction in the bubble's menu, as the tests of reactions do."""
    menu = message_menu(qtbot, window, message_id)
    click(reaction_button(menu, emoji))
    qtbot.waitUntil(lambda: not shiboken6.isValid(menu) or not menu.isVisible(), timeout=WAIT_MS)


def _react_in_core(runtime: Submitter, window: MainWindow, message_id: str, emoji: str) -> None:
    """The contact's reaction sent by their core: a click in their window would take the
    keyboard focus from the window whose notifications are under test."""
    runtime.submit(window.bridge.messenger.react(message_id, emoji)).result(WAIT_MS / 1000)


def _settled(qtbot: QtBot, window: MainWindow, message_id: str, *shown: ReactionView) -> None:
    """Wait until ``window`` shows exactly these reactions under the message. The notifier
    decides in the same turn as the model's update (one batch of the bridge), so nothing can
    still be on its way to it after this."""
    qtbot.waitUntil(lambda: reactions_of(window, message_id) == shown, timeout=WAIT_MS)
    QTest.qWait(50)


def test_a_contacts_reaction_to_my_message_notifies_and_nothing_else_does(
    qtbot: QtBot, pair: tuple[Any, Any]
) -> None:
    alice, bob, question = talking(qtbot, pair)  # Alice asked "lunch at noon?"
    focus_window(qtbot, bob)  # Alice's window is in the background
    before = len(alice.notifier.shown)

    _react_in_window(qtbot, bob, question.id, THUMBS)
    _settled(qtbot, alice, question.id, ReactionView(THUMBS, 1, False))
    assert alice.notifier.shown[before:] == [
        ("Bob", f"Reacted {THUMBS} to \u201clunch at noon?\u201d")
    ]

    # Bob changes his mind: a new emoji is a new reaction, and it notifies too.
    _react_in_window(qtbot, bob, question.id, HEART)
    _settled(qtbot, alice, question.id, ReactionView(HEART, 1, False))
    assert alice.notifier.shown[before + 1 :] == [
        ("Bob", f"Reacted {HEART} to \u201clunch at noon?\u201d")
    ]
    before = len(alice.notifier.shown)

    # Taking it back is not news.
    choose_in_menu(qtbot, message_menu(qtbot, bob, question.id), f"Remove my reaction {HEART}")
    _settled(qtbot, alice, question.id)
    assert alice.notifier.shown[before:] == []

    # Bob reacting to his own message is not a reaction to mine.
    send(bob, "or at one?")
    own = wait_for_last(qtbot, alice, "or at one?")
    before = len(alice.notifier.shown)  # (that message notified Alice: her window is behind)
    _react_in_window(qtbot, bob, own.id, LAUGH)
    _settled(qtbot, alice, own.id, ReactionView(LAUGH, 1, False))
    assert alice.notifier.shown[before:] == []

    # My own reaction, to my message or to Bob's, never notifies me.
    _react_in_window(qtbot, alice, question.id, THUMBS)
    _react_in_window(qtbot, alice, own.id, LAUGH)
    _settled(qtbot, bob, question.id, ReactionView(THUMBS, 1, False))
    _settled(qtbot, bob, own.id, ReactionView(LAUGH, 2, True))
    assert alice.notifier.shown[before:] == []


def test_no_reaction_notification_in_the_focused_conversation_or_when_turned_off(
    qtbot: QtBot, runtime: Submitter, pair: tuple[Any, Any]
) -> None:
    alice, bob, question = talking(qtbot, pair)
    focus_window(qtbot, alice)  # Alice is looking at this very conversation
    before = len(alice.notifier.shown)
    _react_in_core(runtime, bob, question.id, THUMBS)
    _settled(qtbot, alice, question.id, ReactionView(THUMBS, 1, False))
    assert alice.isActiveWindow()
    assert alice.notifier.shown[before:] == []

    # In the background it would notify; with notifications turned off in Settings it does not.
    dialog = open_from_menu(qtbot, alice, "Parley", "Settings", SettingsDialog)
    qtbot.waitUntil(dialog.save.isEnabled, timeout=WAIT_MS)
    set_checked(dialog.notifications, False)
    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS):
        QTest.mouseClick(dialog.save, Qt.MouseButton.LeftButton)
    focus_window(qtbot, bob)
    _react_in_core(runtime, bob, question.id, HEART)
    _settled(qtbot, alice, question.id, ReactionView(HEART, 1, False))
    assert alice.notifier.shown[before:] == []
