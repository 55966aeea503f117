"""Every interactive control of the main window and of every dialog has an accessible name."""

from __future__ import annotations

from parley.ui.invite_dialogs import AddContactDialog, InviteDialog
from parley.ui.main_window import MainWindow
from parley.ui.onboarding import OnboardingDialog, UnlockDialog
from parley.ui.relay_record_dialog import RelayRecordDialog
from parley.ui.safety_dialog import SafetyNumberDialog
from parley.ui.search_dialog import SearchDialog
from parley.ui.settings_dialog import SettingsDialog
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractScrollArea,
    QAbstractSlider,
    QAbstractSpinBox,
    QHeaderView,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from tests.ui.ui_driver import click, close_window, open_chat, open_from_menu, send

pytest_plugins = ["ui_fixtures"]  # the fixtures: real core, real relay (see ui_fixtures.py)

WAIT_MS = 30_000
INTERACTIVE = (QAbstractButton, QLineEdit, QPlainTextEdit, QTextEdit, QAbstractItemView,
               QAbstractSpinBox)  # fmt: skip


def _inside_composite(widget: QWidget) -> bool:
    """Parts Qt builds inside a named composite (a spin box's editor, a clear button)."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractSpinBox | QLineEdit | QHeaderView):
            return True
        if isinstance(parent, QAbstractScrollArea) and widget in parent.findChildren(
            QAbstractSlider
        ):
            return True
        parent = parent.parentWidget()
    return False


def unnamed(root: QWidget) -> list[str]:
    missing = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not isinstance(widget, INTERACTIVE) or isinstance(widget, QHeaderView):
            continue
        if not _inside_composite(widget) and not widget.accessibleName().strip():
            label = getattr(widget, "text", lambda: "")()
            missing.append(f"{type(widget).__name__} {widget.objectName()!r} {label!r}")
    return missing


def test_the_walker_catches_a_nameless_control(qtbot: QtBot) -> None:
    dialog = UnlockDialog("profile")
    qtbot.addWidget(dialog)
    assert unnamed(dialog) == []
    dialog.passphrase.setAccessibleName("")
    assert len(unnamed(dialog)) == 1


def test_first_run_dialogs_are_named(qtbot: QtBot) -> None:
    for dialog in (OnboardingDialog(), UnlockDialog("profile")):
        qtbot.addWidget(dialog)
        assert unnamed(dialog) == [], type(dialog).__name__


def test_main_window_and_every_dialog_are_named(
    qtbot: QtBot, pair: tuple[MainWindow, MainWindow]
) -> None:
    alice, _bob = pair
    open_chat(alice)
    send(alice, "name everything")
    qtbot.waitUntil(lambda: alice.pane.model.rowCount() >= 1, timeout=WAIT_MS)
    assert unnamed(alice) == []
    conversation = alice.pane.conversation
    assert conversation is not None
    message = alice.pane.model.message_at(0)
    assert message is not None
    click(
        alice.pane.view.viewport(), alice.pane.view.visualRect(alice.pane.model.index(0)).center()
    )
    for menu, item, kind in [
        ("Parley", "My invite", InviteDialog),
        ("Parley", "Add contact", AddContactDialog),
        ("Parley", "Search", SearchDialog),
        ("Parley", "Settings", SettingsDialog),
        ("Message", "Safety number", SafetyNumberDialog),
        ("Message", "What the relay saw", RelayRecordDialog),
        ("Help", "About Parley", QMessageBox),
    ]:
        dialog: QWidget = open_from_menu(qtbot, alice, menu, item, kind)
        assert dialog.accessibleName(), item
        assert unnamed(dialog) == [], item
        close_window(qtbot, dialog)
    # Message requests, and the blocked people behind its "Blocked…" button.
    from parley.ui.blocked_view import BlockedDialog
    from parley.ui.requests_view import RequestsDialog

    from tests.ui.ui_driver import wait_for_window

    click(alice.requests_button)
    requests = wait_for_window(qtbot, RequestsDialog, alice)
    click(requests.blocked_button)
    blocked = wait_for_window(qtbot, BlockedDialog, alice)
    for dialog in (requests, blocked):
        assert dialog.accessibleName() and unnamed(dialog) == [], dialog.windowTitle()
    close_window(qtbot, blocked)
    close_window(qtbot, requests)


def test_keyboard_shortcuts_exist(pair: tuple[MainWindow, MainWindow]) -> None:
    alice, _bob = pair
    shortcuts = {a.shortcut().toString() for a in alice.actions()}
    assert {"Ctrl+F", "Ctrl+N", "Ctrl+L", "Ctrl+I"} <= shortcuts
