"""First run with a passphrase, then lock and unlock (a wrong passphrase first)."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest
from parley.ui.embedded_relay import EmbeddedRelay
from parley.ui.main_window import MainWindow
from parley.ui.onboarding import OnboardingDialog, UnlockDialog
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from parley import BUILD_VARIANT
from tests.ui.ui_driver import click, replace_text, set_checked, shortcut
from tests.ui.ui_layout import problems

pytest_plugins = ["ui_fixtures"]  # the fixtures: real core, real relay (see ui_fixtures.py)

WAIT_MS = 30_000
PASSPHRASE = "violet tractor ocean 42"


def test_create_account_lock_and_unlock(
    qtbot: QtBot, runtime: object, relay: EmbeddedRelay, tmp_path: Path
) -> None:
    session_module = pytest.importorskip("parley.ui.session", reason="the core has not landed")
    session = session_module.AccountSession(runtime, tmp_path / "profile")
    session.start()
    qtbot.waitUntil(lambda: isinstance(session.dialog, OnboardingDialog), timeout=WAIT_MS)
    dialog = session.dialog
    assert isinstance(dialog, OnboardingDialog)
    assert not dialog.create_button.isEnabled()  # no name yet
    QTest.keyClicks(dialog.display_name, "Ada")
    set_checked(dialog.embedded, False)
    replace_text(dialog.relay_url, relay.url or "")
    set_checked(dialog.passphrase_choice, True)
    QTest.keyClicks(dialog.fields.first, PASSPHRASE)
    QTest.keyClicks(dialog.fields.second, PASSPHRASE[:-1] + "3")
    assert not dialog.create_button.isEnabled()
    assert "differ" in dialog.fields.hint.text()
    replace_text(dialog.fields.second, PASSPHRASE)
    assert dialog.create_button.isEnabled()
    QTest.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.window is not None, timeout=WAIT_MS)
    window = session.window
    assert window is not None
    assert BUILD_VARIANT in window.windowTitle() and "Ada" in window.windowTitle()
    qtbot.waitUntil(lambda: window.connection.text() == "Online", timeout=WAIT_MS)

    shortcut(qtbot, window, "Ctrl+L")
    qtbot.waitUntil(lambda: isinstance(session.dialog, UnlockDialog), timeout=WAIT_MS)
    unlock = session.dialog
    assert isinstance(unlock, UnlockDialog)
    assert session.window is None
    QTest.keyClicks(unlock.passphrase, "not my passphrase")
    QTest.mouseClick(unlock.unlock, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: unlock.error.isVisible() and unlock.error.text() != "Unlocking…",
        timeout=WAIT_MS,
    )
    assert session.window is None and unlock.isVisible()  # a wrong passphrase: retry in place
    replace_text(unlock.passphrase, PASSPHRASE)
    QTest.mouseClick(unlock.unlock, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.window is not None, timeout=WAIT_MS)
    reopened = cast("MainWindow | None", session.window)  # mypy narrowed it to None above
    assert reopened is not None and "Ada" in reopened.windowTitle()
    reopened.closed.disconnect()
    reopened.close()
    session.close()


def test_onboarding_refuses_incomplete_answers(qtbot: QtBot) -> None:
    dialog = OnboardingDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.problem() == "Choose a display name."
    replace_text(dialog.display_name, "Ada")
    set_checked(dialog.embedded, False)
    replace_text(dialog.relay_url, "http://relay.example")
    assert dialog.problem() is not None and "wss://" in dialog.problem()  # type: ignore[operator]
    replace_text(dialog.relay_url, "wss://relay.example")
    assert dialog.problem() is None
    set_checked(dialog.passphrase_choice, True)
    assert dialog.problem() is not None
    replace_text(dialog.fields.first, "short")
    replace_text(dialog.fields.second, "short")
    assert dialog.problem() is not None
    assert dialog.fields.hint.text().startswith("Too short")
    set_checked(dialog.embedded, True)
    assert dialog.relay_url.text().startswith("ws://127.0.0.1:")
    assert dialog.relay_url.isReadOnly()
    assert not dialog.create_button.isEnabled()


def test_no_secure_keychain_is_said_up_front_and_the_passphrase_preselected(
    qtbot: QtBot, runtime: object, tmp_path: Path
) -> None:
    import keyring
    import keyring.backends.fail
    from parley.ui.session import AccountSession

    before = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())  # type: ignore[no-untyped-call]
    try:
        session = AccountSession(runtime, tmp_path / "profile")  # type: ignore[arg-type]
        session.start()
        qtbot.waitUntil(lambda: isinstance(session.dialog, OnboardingDialog), timeout=WAIT_MS)
    finally:
        keyring.set_keyring(before)
    dialog = session.dialog
    assert isinstance(dialog, OnboardingDialog)
    assert not dialog.keyring.isEnabled() and dialog.passphrase_choice.isChecked()
    assert dialog.fields.isVisible()
    texts = " ".join(label.text() for label in dialog.findChildren(QLabel) if label.isVisible())
    assert "No system keychain was found" in texts and "keyring.backends" not in texts
    dialog.close()


def test_a_refused_keychain_then_a_passphrase_clears_the_error(qtbot: QtBot) -> None:
    dialog = OnboardingDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.embedded_note.isVisible()  # the local relay says nobody else can reach you
    assert "Nobody else can reach you" in dialog.embedded_note.text()
    # What the core answers when the keychain refuses the key (shown by ui/session.py).
    dialog.show_error("No secure keyring is available on this computer: choose a passphrase.")
    click(dialog.passphrase_choice)
    assert not dialog.error.isVisible()
    assert problems(dialog) == []  # the fields appear whole, the help text uncut
    replace_text(dialog.fields.first, PASSPHRASE)
    replace_text(dialog.fields.second, PASSPHRASE)
    assert dialog.fields.hint.isVisible() and dialog.fields.hint.text()


def test_unlocking_is_progress_not_an_error(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = UnlockDialog(tmp_path / "parley")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    texts = " ".join(label.text() for label in dialog.findChildren(QLabel))
    assert "passphrase of parley" not in texts and "Type your passphrase" in texts
    dialog.show_progress("Unlocking…")
    assert dialog.progress.isVisible() and not dialog.error.isVisible()
    dialog.show_error("That passphrase does not open this profile.")
    assert dialog.error.isVisible() and not dialog.progress.isVisible()
