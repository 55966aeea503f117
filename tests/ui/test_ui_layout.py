"""Every window and dialog, at its default and at its minimum size, shows everything whole.

Checked in both onboarding choices and with and without an error on show (tests/ui/ui_layout.py
says what counts as a problem). The dialogs are opened the way a person opens them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from parley.ui.main_window import MainWindow
from parley.ui.onboarding import OnboardingDialog, UnlockDialog
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QImage, QPixmap
from PySide6.QtWidgets import QApplication, QDialog, QLabel, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from tests.ui.ui_driver import (
    WAIT_MS,
    choose_in_menu,
    click,
    close_window,
    menu_item,
    message_menu,
    paste_file,
    right_click,
    type_into,
    wait_for_window,
)
from tests.ui.ui_layout import problems

pytest_plugins = ["ui_fixtures"]  # the fixtures: real core, real relay (see ui_fixtures.py)

LONG_ERROR = (
    "The system keychain refused to store the key: no secure keychain is running for this "
    "login session. Choose a passphrase instead, or start your desktop's keychain and retry."
)


def _at_both_sizes(qtbot: QtBot, window: QWidget, what: str) -> list[str]:
    """Problems at the size the window opens with, then shrunk as far as it lets itself go."""
    window.show()
    qtbot.waitExposed(window)
    found = [f"{what} (default size): {p}" for p in problems(window)]
    default = window.size()
    window.resize(QSize(1, 1))
    QApplication.processEvents()
    found += [
        f"{what} (minimum size {window.width()}x{window.height()}): {p}" for p in problems(window)
    ]
    window.resize(default)
    return found


def test_the_check_sees_a_clipped_label_and_a_qr_without_quiet_zone(qtbot: QtBot) -> None:
    """The checker itself can fail: a squeezed label and a border-less code are reported."""
    import io

    import segno

    widget = QWidget()
    qtbot.addWidget(widget)
    label = QLabel("a sentence much longer than the room it is given here", widget)
    label.setGeometry(0, 0, 40, 10)
    buffer = io.BytesIO()
    segno.make("parley", error="m").save(buffer, kind="png", scale=4, border=0)
    pixmap = QPixmap()
    pixmap.loadFromData(buffer.getvalue(), "PNG")
    qr = QLabel(widget)
    qr.setAccessibleName("Test QR code")
    qr.setPixmap(pixmap)
    qr.setGeometry(0, 20, pixmap.width(), pixmap.height())
    widget.resize(300, 300)
    widget.show()
    qtbot.waitExposed(widget)
    found = problems(widget)
    assert any("text needs" in p for p in found), found
    assert any("QR" in p for p in found), found


@pytest.mark.parametrize("keyring_available", [True, False])
def test_onboarding_in_both_choices_with_and_without_an_error(
    qtbot: QtBot, keyring_available: bool
) -> None:
    dialog = OnboardingDialog(keyring_available=keyring_available)
    qtbot.addWidget(dialog)
    found = _at_both_sizes(qtbot, dialog, "onboarding")
    for choice in (dialog.passphrase_choice, dialog.keyring):
        if not choice.isEnabled():
            continue
        click(choice)
        found += _at_both_sizes(qtbot, dialog, f"onboarding, {choice.text()}")
        dialog.show_error(LONG_ERROR)
        found += _at_both_sizes(qtbot, dialog, f"onboarding, {choice.text()}, error shown")
        dialog.error.show_message("")
    assert not found, "\n".join(found)


def test_unlock_with_and_without_an_error(qtbot: QtBot) -> None:
    dialog = UnlockDialog("Ada")
    qtbot.addWidget(dialog)
    found = _at_both_sizes(qtbot, dialog, "unlock")
    dialog.show_error("That passphrase does not open this profile. Check Caps Lock and try again.")
    found += _at_both_sizes(qtbot, dialog, "unlock, error shown")
    assert not found, "\n".join(found)


def _open(qtbot: QtBot, window: MainWindow, menu: str, item: str, kind: type[Any]) -> Any:
    menu_item(qtbot, window, menu, item)
    return wait_for_window(qtbot, kind, window)


def _pictures(qtbot: QtBot, alice: MainWindow, folder: Path) -> list[str]:
    """The picture preview (ready, and refusing a file) and the picture viewer."""
    from parley.ui.picture_preview import PicturePreview
    from parley.ui.picture_viewer import PictureViewer

    picture = QImage(900, 640, QImage.Format.Format_RGB32)
    picture.fill(QColor("#3388cc"))
    path = folder / "a picture with a rather long file name, as cameras and people make them.png"
    assert picture.save(str(path))
    huge = folder / "huge.png"
    huge.write_bytes(path.read_bytes() + bytes(11 * 1024 * 1024))

    paste_file(alice, huge)
    preview = wait_for_window(qtbot, PicturePreview, alice)
    qtbot.waitUntil(preview.error.isVisible, timeout=WAIT_MS)
    found = _at_both_sizes(qtbot, preview, "Picture preview, error shown")
    close_window(qtbot, preview)

    paste_file(alice, path)
    preview = wait_for_window(qtbot, PicturePreview, alice)
    qtbot.waitUntil(preview.send.isEnabled, timeout=WAIT_MS)
    found += _at_both_sizes(qtbot, preview, "Picture preview")
    click(preview.send)
    model = alice.pane.model
    qtbot.waitUntil(
        lambda: (
            (m := model.message_at(model.rowCount() - 1)) is not None
            and m.attachment is not None
            and m.status != "sending"
        ),
        timeout=WAIT_MS,
    )
    index = model.index(model.rowCount() - 1)
    alice.pane.view.scrollTo(index)
    click(alice.pane.view.viewport(), alice.pane.view.visualRect(index).center())
    viewer = _open(qtbot, alice, "Message", "Open picture", PictureViewer)
    qtbot.waitUntil(lambda: viewer.source is not None, timeout=WAIT_MS)
    found += _at_both_sizes(qtbot, viewer, "Picture viewer")
    viewer.error.show_message(LONG_ERROR)
    found += _at_both_sizes(qtbot, viewer, "Picture viewer, error shown")
    close_window(qtbot, viewer)
    return found


def _requests(qtbot: QtBot, alice: MainWindow) -> list[str]:
    """The message requests dialog, opened with its button."""
    from parley.ui.blocked_view import BlockedDialog
    from parley.ui.requests_view import RequestsDialog

    click(alice.requests_button)
    dialog = wait_for_window(qtbot, RequestsDialog, alice)
    found = _at_both_sizes(qtbot, dialog, "Message requests")
    dialog.error.show_message(LONG_ERROR)
    found += _at_both_sizes(qtbot, dialog, "Message requests, error shown")
    click(dialog.blocked_button)
    found += _blocked(qtbot, wait_for_window(qtbot, BlockedDialog, dialog))
    close_window(qtbot, dialog)
    return found


def _blocked(qtbot: QtBot, dialog: Any) -> list[str]:
    """The blocked people (opened from the requests dialog or the main window's menu); empty,
    then with two entries (one with a long claimed name) and an error."""
    from parley.app.events import BlockedView

    qtbot.waitUntil(dialog.empty.isVisible, timeout=WAIT_MS)
    found = _at_both_sizes(qtbot, dialog, "Blocked, nobody")
    claim = (
        "\u201cThe Very Official Support Team of Your Bank, Customer Care\u201d (unverified name)"
    )
    dialog.show_blocked(
        [
            BlockedView("a" * 32, f"{claim} \u00b7 1a2b 3c4d 5e6f 7a8b", "", "", "request", 12),
            BlockedView("b" * 32, "Bob \u00b7 9a8b 7c6d 5e4f 3a2b", "", "", "accepted", 0),
        ]
    )
    found += _at_both_sizes(qtbot, dialog, "Blocked, two people")
    dialog.error.show_message(LONG_ERROR)
    found += _at_both_sizes(qtbot, dialog, "Blocked, error shown")
    close_window(qtbot, dialog)
    return found


def _blocking(qtbot: QtBot, alice: MainWindow) -> list[str]:
    """The question Block contact… asks (left with Escape: nobody is blocked), the list's own
    menu, and the blocked people opened from the main window's menu."""
    from parley.ui.blocked_view import BlockedDialog

    menu_item(qtbot, alice, "Message", "Block contact")
    question = wait_for_window(qtbot, QMessageBox, alice)
    found = _at_both_sizes(qtbot, question, "Block contact")
    close_window(qtbot, question)
    rect = alice.list.visualRect(alice.conversations.index(0))
    right_click(alice.list.viewport(), rect.center())
    qtbot.waitUntil(
        lambda: alice.list_menu is not None and alice.list_menu.isVisible(), timeout=WAIT_MS
    )
    assert alice.list_menu is not None
    found += [f"conversation menu: {p}" for p in problems(alice.list_menu)]
    close_window(qtbot, alice.list_menu)
    found += _blocked(qtbot, _open(qtbot, alice, "Parley", "Blocked people", BlockedDialog))
    return found


def test_main_window_and_every_dialog(
    qtbot: QtBot, pair: tuple[MainWindow, MainWindow], tmp_path: Path
) -> None:
    from parley.ui.invite_dialogs import AddContactDialog, InviteDialog
    from parley.ui.relay_record_dialog import RelayRecordDialog
    from parley.ui.safety_dialog import SafetyNumberDialog
    from parley.ui.search_dialog import SearchDialog
    from parley.ui.settings_dialog import SettingsDialog

    alice, _bob = pair
    found = _at_both_sizes(qtbot, alice, "main window, nothing open")
    click(alice.list.viewport(), alice.list.visualRect(alice.conversations.index(0)).center())
    qtbot.waitUntil(lambda: alice.pane.model.rowCount() >= 1, timeout=WAIT_MS)
    found += _at_both_sizes(qtbot, alice, "main window, conversation open")

    loaded: dict[type[Any], Callable[[Any], bool]] = {
        InviteDialog: lambda d: d.invite is not None,
        SafetyNumberDialog: lambda d: d.view is not None,
        SettingsDialog: lambda d: d.save.isEnabled() and d.key_info is not None,
    }
    openers: list[tuple[str, str, type[QDialog]]] = [
        ("Parley", "My invite", InviteDialog),
        ("Parley", "Add contact", AddContactDialog),
        ("Parley", "Search", SearchDialog),
        ("Parley", "Settings", SettingsDialog),
        ("Message", "Safety number", SafetyNumberDialog),
    ]
    for menu, item, kind in openers:
        dialog = _open(qtbot, alice, menu, item, kind)
        ready = loaded.get(kind)
        if ready is not None:
            qtbot.waitUntil(functools.partial(ready, dialog), timeout=WAIT_MS)
        found += _at_both_sizes(qtbot, dialog, item)
        if kind is AddContactDialog:
            type_into(dialog.invite, "not an invite")
            click(dialog.add)
            qtbot.waitUntil(dialog.error.isVisible, timeout=WAIT_MS)
            found += _at_both_sizes(qtbot, dialog, f"{item}, error shown")
        close_window(qtbot, dialog)

    # What the relay saw: for the newest message, chosen in the list.
    view = alice.pane.view
    click(view.viewport(), view.visualRect(alice.pane.model.index(0)).center())
    record = _open(qtbot, alice, "Message", "What the relay saw", RelayRecordDialog)
    qtbot.wait(200)
    found += _at_both_sizes(qtbot, record, "What the relay saw")
    close_window(qtbot, record)

    # The message menu (quick reactions, Reply...) over the newest bubble, and a reply begun.
    newest = alice.pane.model.message_at(alice.pane.model.rowCount() - 1)
    assert newest is not None
    bubble_menu = message_menu(qtbot, alice, newest.id)
    found += [f"message menu: {p}" for p in problems(bubble_menu)]
    choose_in_menu(qtbot, bubble_menu, "Reply")
    qtbot.waitUntil(alice.pane.composer.reply_bar.isVisible, timeout=WAIT_MS)
    found += _at_both_sizes(qtbot, alice, "main window, replying")
    click(alice.pane.composer.reply_bar.cancel)
    found += _pictures(qtbot, alice, tmp_path)
    found += _requests(qtbot, alice)
    found += _blocking(qtbot, alice)

    menu_item(qtbot, alice, "Help", "About Parley")
    about = wait_for_window(qtbot, QMessageBox, alice)
    found += _at_both_sizes(qtbot, about, "About")
    close_window(qtbot, about)
    assert not found, "\n".join(found)
