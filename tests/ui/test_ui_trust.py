"""Invites, adding a contact, the safety number, and the key-change banner."""

from __future__ import annotations

from dataclasses import replace

import nacl.pwhash
from parley.app.events import ConversationChanged
from parley.ui.main_window import MainWindow
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from tests.ui.ui_driver import open_chat

pytest_plugins = ["ui_fixtures"]  # the fixtures: real core, real relay (see ui_fixtures.py)

WAIT_MS = 30_000
PASSPHRASE = "carol's test passphrase"
FAST_ARGON2 = (nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN)


def test_key_change_banner_blocks_sending_to_a_verified_contact(
    qtbot: QtBot, pair: tuple[MainWindow, MainWindow]
) -> None:
    alice, _bob = pair
    open_chat(alice)
    conversation = alice.pane.conversation
    assert conversation is not None
    assert not alice.pane.banner.isVisible()
    # The event the core emits when a verified contact's identity key changes, through the bridge.
    changed = replace(conversation, verified=True, key_changed=True)
    alice.bridge.dispatch([ConversationChanged(changed)])
    assert alice.pane.banner.isVisible()
    assert "paused" in alice.pane.banner.text.text()
    assert not alice.pane.composer.isEnabled()
    unverified = replace(conversation, verified=False, key_changed=True)
    alice.bridge.dispatch([ConversationChanged(unverified)])
    assert alice.pane.banner.isVisible() and alice.pane.composer.isEnabled()  # advisory only
    # Accepting asks the real core; the banner goes away.
    QTest.mouseClick(alice.pane.banner.accept_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not alice.pane.banner.isVisible(), timeout=WAIT_MS)
