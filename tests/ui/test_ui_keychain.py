"""First run choosing the OS keychain, against the real Secret Service; a restart then asks nothing.

The keyring is gnome-keyring on a private D-Bus bus (tests/keyring_service.py). The app uses the
platform's default keyring, as it would for a person; the test makes the private Secret Service
that default with keyring's own ``set_keyring``, the same choice a keyringrc.cfg makes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import keyring.backends.SecretService
import pytest
from parley.app.account import profile_state
from parley.app.events import KeyStorageInfo
from parley.ui.embedded_relay import EmbeddedRelay
from parley.ui.main_window import MainWindow
from parley.ui.onboarding import OnboardingDialog, UnlockDialog
from parley.ui.session import AccountSession
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.ui.ui_driver import click, replace_text, set_checked

pytest_plugins = ["ui_fixtures"]  # the fixtures: real core, real relay (see ui_fixtures.py)

WAIT_MS = 30_000


@pytest.fixture
def default_keyring(
    secret_keyring: keyring.backends.SecretService.Keyring,
) -> Iterator[keyring.backend.KeyringBackend]:
    """The private Secret Service as the process's default keyring, for this test only."""
    previous = keyring.get_keyring()
    keyring.set_keyring(secret_keyring)
    yield secret_keyring
    keyring.set_keyring(previous)


def close(session: AccountSession) -> None:
    if session.window is not None:
        session.window.closed.disconnect()
        session.window.close()
    session.close()


def test_keychain_onboarding_then_a_restart_opens_without_a_prompt(
    qtbot: QtBot,
    runtime: Any,
    relay: EmbeddedRelay,
    tmp_path: Path,
    default_keyring: keyring.backend.KeyringBackend,
) -> None:
    profile = tmp_path / "profile"
    first = AccountSession(runtime, profile)
    first.start()
    qtbot.waitUntil(lambda: isinstance(first.dialog, OnboardingDialog), timeout=WAIT_MS)
    dialog = first.dialog
    assert isinstance(dialog, OnboardingDialog)
    assert dialog.keyring.isChecked()  # the keychain is offered first
    QTest.keyClicks(dialog.display_name, "Kim")
    set_checked(dialog.embedded, False)
    replace_text(dialog.relay_url, relay.url or "")
    click(dialog.passphrase_choice)
    assert dialog.fields.isVisibleTo(dialog) and not dialog.create_button.isEnabled()
    click(dialog.keyring)  # changed my mind: the keychain after all
    assert not dialog.fields.isVisibleTo(dialog)  # no passphrase to choose
    assert dialog.create_button.isEnabled()
    QTest.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: first.window is not None, timeout=WAIT_MS)
    window = first.window
    assert isinstance(window, MainWindow)
    qtbot.waitUntil(lambda: window.connection.text() == "Online", timeout=WAIT_MS)
    storage: list[KeyStorageInfo] = []
    window.bridge.call(window.bridge.messenger.key_storage(), storage.append)
    qtbot.waitUntil(lambda: bool(storage), timeout=WAIT_MS)
    assert storage[0].kind == "keyring" and "Secret Service" in storage[0].backend
    assert profile_state(profile) == "keyring"
    close(first)

    # A restart: the same profile opens straight to the window, the key fetched from the keyring.
    again = AccountSession(runtime, profile)
    again.start()
    qtbot.waitUntil(lambda: again.window is not None, timeout=WAIT_MS)
    assert again.dialog is None
    assert not any(
        isinstance(w, UnlockDialog) and w.isVisible() for w in QApplication.topLevelWidgets()
    )
    reopened = again.window
    assert reopened is not None and "Kim" in reopened.windowTitle()
    close(again)
