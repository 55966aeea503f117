"""Offline is said where it is seen: a banner with the reason in words and the next retry."""

from __future__ import annotations

import re

from parley.ui.embedded_relay import EmbeddedRelay
from parley.ui.main_window import MainWindow
from pytestqt.qtbot import QtBot

from tests.ui.ui_layout import problems

pytest_plugins = ["ui_fixtures"]  # the fixtures: real core, real relay (see ui_fixtures.py)

WAIT_MS = 60_000


def test_losing_the_relay_shows_a_banner_with_reason_and_retry(
    qtbot: QtBot, pair: tuple[MainWindow, MainWindow], relay: EmbeddedRelay
) -> None:
    alice, _bob = pair
    assert not alice.offline_banner.isVisible()
    relay.stop()  # the relay goes away under a running window
    qtbot.waitUntil(alice.offline_banner.isVisible, timeout=WAIT_MS)
    text = alice.offline_banner.text.text()
    assert text.startswith("Offline: Parley cannot reach your relay")
    assert re.search(r"Trying again (in \d+ s|now)", text), text
    assert "('127.0.0.1'" not in text  # no Python tuples: words
    assert problems(alice) == []  # the banner fits the window
