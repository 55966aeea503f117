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
from pytestqt.qtbot import QtBot

from parley import BUILD_VARIANT
from tests.ui.ui_driver import replace_text, set_checked, shortcut

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
