"""Settings are read from and written to the real core; key storage is described honestly."""

from __future__ import annotations

from parley.ui.main_window import MainWindow
from parley.ui.settings_dialog import KeyStorageDialog, SettingsDialog
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from tests.ui.ui_driver import (
    click,
    close_window,
    open_from_menu,
    replace_text,
    set_checked,
    wait_for_window,
)

pytest_plugins = ["ui_fixtures"]  # the fixtures: real core, real relay (see ui_fixtures.py)

WAIT_MS = 30_000


def test_settings_round_trip_through_the_core(
    qtbot: QtBot, pair: tuple[MainWindow, MainWindow]
) -> None:
    alice, _bob = pair
    dialog = open_from_menu(qtbot, alice, "Parley", "Settings", SettingsDialog)
    qtbot.waitUntil(
        lambda: dialog.save.isEnabled() and dialog.key_info is not None, timeout=WAIT_MS
    )
    assert dialog.relay_url.text().startswith("ws://127.0.0.1:")
    assert dialog.key_info is not None
    assert dialog.storage.text().startswith("Database key:")
    replace_text(dialog.auto_lock, "17")
    set_checked(dialog.notifications, False)
    replace_text(dialog.proxy_url, "socks5://127.0.0.1:9050")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS):
        QTest.mouseClick(dialog.save, Qt.MouseButton.LeftButton)
    assert not alice.notifier.enabled

    again = open_from_menu(qtbot, alice, "Parley", "Settings", SettingsDialog)
    qtbot.waitUntil(again.save.isEnabled, timeout=WAIT_MS)
    assert again.auto_lock.value() == 17
    assert not again.notifications.isChecked()
    assert again.proxy_url.text() == "socks5://127.0.0.1:9050"
    close_window(qtbot, again)


def test_key_storage_dialog_requires_matching_passphrases(
    qtbot: QtBot, pair: tuple[MainWindow, MainWindow]
) -> None:
    alice, _bob = pair
    settings = open_from_menu(qtbot, alice, "Parley", "Settings", SettingsDialog)
    qtbot.waitUntil(lambda: settings.key_info is not None, timeout=WAIT_MS)
    click(settings.change_storage)
    dialog = wait_for_window(qtbot, KeyStorageDialog, alice)
    set_checked(dialog.passphrase_choice, True)
    assert not dialog.apply.isEnabled()
    replace_text(dialog.fields.first, "a much longer passphrase")
    replace_text(dialog.fields.second, "a much longer passphrasf")
    assert not dialog.apply.isEnabled()
    replace_text(dialog.fields.second, "a much longer passphrase")
    assert dialog.apply.isEnabled()
    changed: list[object] = []
    dialog.changed.connect(changed.append)
    QTest.mouseClick(dialog.apply, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(changed) or dialog.error.isVisible(), timeout=WAIT_MS)
    assert changed, dialog.error.text()
    assert getattr(changed[0], "kind", None) == "passphrase"
