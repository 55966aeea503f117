"""Typing indicators between two real app sessions on a real relay, driven by key presses into
the real composer and a click in Settings: off by default (nothing reaches the relay), on after
the click (the peer shows "Alice is typing…", gone once the message arrives)."""

from __future__ import annotations

import re
import time
import urllib.request
from typing import Any

from parley.app.typing_indicators import IDLE_S, REFRESH_S
from parley.ui.embedded_relay import EmbeddedRelay
from parley.ui.settings_dialog import TYPING_TEXT, SettingsDialog
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from tests.ui.ui_driver import click, open_chat, open_from_menu, set_checked, type_into, type_text

pytest_plugins = ["ui_fixtures"]  # the fixtures: real core, real relay (see ui_fixtures.py)

WAIT_MS = 30_000


def stored_at_relay(relay: EmbeddedRelay) -> int:
    """What the relay's operator sees: GET /metrics on the relay's own port (loopback)."""
    url = (relay.url or "").replace("ws://", "http://").rstrip("/") + "/metrics"
    with urllib.request.urlopen(url, timeout=10) as answer:
        text = answer.read().decode()
    found = re.search(r"^parley_relay_stored_total (\d+)$", text, re.MULTILINE)
    assert found, text
    return int(found.group(1))


def quiet(qtbot: QtBot, relay: EmbeddedRelay) -> int:
    """Wait until nothing more reaches the relay (receipts of the fixture's greeting)."""
    last = stored_at_relay(relay)
    for _ in range(20):
        qtbot.wait(600)
        now = stored_at_relay(relay)
        if now == last:
            return now
        last = now
    raise AssertionError("the relay never went quiet")


def test_typing_indicators_are_off_until_turned_on_in_settings(
    qtbot: QtBot, pair: tuple[Any, Any], relay: EmbeddedRelay
) -> None:
    alice, bob = pair
    open_chat(alice)
    open_chat(bob)
    indicator = bob.pane.typing.label
    before = quiet(qtbot, relay)

    # Off (the default): typing sends nothing at all, not even padded ciphertext.
    type_into(alice.pane.composer.edit, "Are you")
    qtbot.wait(2000)
    assert stored_at_relay(relay) == before
    assert not indicator.isVisible()

    dialog = open_from_menu(qtbot, alice, "Parley", "Settings", SettingsDialog)
    qtbot.waitUntil(dialog.save.isEnabled, timeout=WAIT_MS)
    assert not dialog.typing.isChecked()
    explained = [w.text() for w in dialog.findChildren(QLabel) if w.isVisible()]
    assert TYPING_TEXT in explained  # the reason is on screen, next to the box
    set_checked(dialog.typing, True)
    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS):
        click(dialog.save)

    # On: the next keys tell Bob, whose window shows it above his composer, although Bob's own
    # sending is still off (seeing Alice's tells Alice nothing about Bob).
    first_key = time.monotonic()
    type_into(alice.pane.composer.edit, " there?")
    qtbot.waitUntil(indicator.isVisible, timeout=WAIT_MS)
    assert not bob.pane.typing.sending
    assert indicator.text() == "Alice is typing\u2026"
    type_text(alice.pane.composer.edit, " Lunch?")
    qtbot.wait(500)
    if time.monotonic() - first_key < min(REFRESH_S, IDLE_S):
        # One "started" for all those keys (rate-limited), and no idle "stopped" yet. (On a
        # machine so loaded that this took longer, a refresh or "stopped" is due by design:
        # tests/app/test_typing_indicators.py pins the timing.)
        assert stored_at_relay(relay) == before + 1
    assert stored_at_relay(relay) > before

    # Sending ends it: the message arrives and the indicator goes.
    QTest.keyClick(alice.pane.composer.edit, Qt.Key.Key_Return)
    model = bob.pane.model

    def bodies() -> list[str]:
        return [m.body for row in range(model.rowCount()) if (m := model.message_at(row))]

    # Alice's client says "stopped" just before the message, so the indicator may go a moment
    # before the message is in Bob's list: wait for both.
    qtbot.waitUntil(lambda: not indicator.isVisible() and len(bodies()) == 2, timeout=WAIT_MS)
    # Bob's history holds the two messages and nothing about typing.
    assert bodies() == ["Hello Bob, this is Alice.", "Are you there? Lunch?"]
