"""Settings are read from and written to the real core; key storage is described honestly."""

from __future__ import annotations

from parley.ui.main_window import MainWindow
from parley.ui.settings_dialog import KeyStorageDialog
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

pytest_plugins = ["ui_fixtures"]  # the fixtures: real core, real relay (see ui_fixtures.py)

WAIT_MS = 30_000


def test_settings_round_trip_through_the_core(
    qtbot: QtBot, pair: tuple[MainWindow, MainWindow]
) -> None:
    alice, _bob = pair
    dialog = alice.show_settings()
    qtbot.waitUntil(
        lambda: dialog.save.isEnabled() and dialog.key_info is not None, timeout=WAIT_MS
    )
    assert dialog.relay_url.text().startswith("ws://127.0.0.1:")
    assert dialog.key_info is not None
    assert dialog.storage.text().startswith("Database key:")
    dialog.auto_lock.setValue(17)
    dialog.notifications.setChecked(False)
    dialog.proxy_url.setText("socks5://127.0.0.1:9050")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS):
        QTest.mouseClick(dialog.save, Qt.MouseButton.LeftButton)
    assert not alice.notifier.enabled

    again = alice.show_settings()
    qtbot.waitUntil(again.save.isEnabled, timeout=WAIT_MS)
    assert again.auto_lock.value() == 17
    assert not again.notifications.isChecked()
    assert again.proxy_url.text() == "socks5://127.0.0.1:9050"
    again.close()


def test_key_storage_dialog_requires_matching_passphrases(
    qtbot: QtBot, pair: tuple[MainWindow, MainWindow]
) -> None:
    alice, _bob = pair
    dialog = KeyStorageDialog(alice.bridge, None, alice)
    qtbot.addWidget(dialog)
    dialog.passphrase_choice.setChecked(True)
    assert not dialog.apply.isEnabled()
    dialog.fields.first.setText("a much longer passphrase")
    dialog.fields.second.setText("a much longer passphrasf")
    assert not dialog.apply.isEnabled()
    dialog.fields.second.setText("a much longer passphrase")
    assert dialog.apply.isEnabled()
    changed: list[object] = []
    dialog.changed.connect(changed.append)
    QTest.mouseClick(dialog.apply, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(changed) or dialog.error.isVisible(), timeout=WAIT_MS)
    assert changed, dialog.error.text()
    assert getattr(changed[0], "kind", None) == "passphrase"
