"""Invites, adding a contact, the safety number, and the key-change banner."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import nacl.pwhash
import pytest
from parley.app.events import ConversationChanged
from parley.ui.embedded_relay import EmbeddedRelay
from parley.ui.main_window import MainWindow
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

pytest_plugins = ["ui_fixtures"]  # the fixtures: real core, real relay (see ui_fixtures.py)

WAIT_MS = 30_000
PASSPHRASE = "carol's test passphrase"
FAST_ARGON2 = (nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN)


def test_add_contact_from_invite_then_verify_safety_number(
    qtbot: QtBot,
    runtime: Any,
    relay: EmbeddedRelay,
    pair: tuple[MainWindow, MainWindow],
    tmp_path: Path,
) -> None:
    account = pytest.importorskip("parley.app.account")
    from parley.ui.session import AccountSession

    alice, _bob = pair
    # A third person with a fresh account on the same relay shares her invite.
    messenger = runtime.submit(
        account.create_account(
            tmp_path / "carol",
            "Carol",
            relay.url,
            key_storage="passphrase",
            passphrase=PASSPHRASE,
            argon2_limits=FAST_ARGON2,
        )
    ).result(timeout=WAIT_MS / 1000)
    carol_session = AccountSession(runtime, tmp_path / "carol")
    carol_session.adopt(messenger, online=True)
    carol = carol_session.window
    assert isinstance(carol, MainWindow)
    invite_dialog = carol.show_invite()
    qtbot.waitUntil(invite_dialog.copy.isEnabled, timeout=WAIT_MS)
    assert not invite_dialog.qr.pixmap().isNull()
    invite = invite_dialog.code.toPlainText()
    assert invite

    add = alice.show_add_contact()
    QTest.mouseClick(add.add, Qt.MouseButton.LeftButton)
    assert "Paste" in add.error.text()  # empty invite: explained
    add.invite.setPlainText("parley:garbage")
    QTest.mouseClick(add.add, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: add.error.isVisible() and add.add.isEnabled(), timeout=WAIT_MS)
    assert "Traceback" not in add.error.text()
    add.invite.setPlainText(invite)
    QTest.mouseClick(add.add, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: alice.conversations.rowCount() == 2, timeout=WAIT_MS)
    row = next(
        r
        for r in range(2)
        if (c := alice.conversations.conversation_at(r)) is not None and "Carol" in c.title
    )
    alice.list.setCurrentIndex(alice.conversations.index(row))
    conversation = alice.pane.conversation
    assert conversation is not None and not conversation.verified

    safety = alice.show_safety_number(conversation.contact_id, conversation.title)
    qtbot.waitUntil(lambda: safety.view is not None, timeout=WAIT_MS)
    groups = safety.digits.text().split()
    assert len(groups) == 12 and all(len(g) == 5 and g.isdigit() for g in groups)
    assert not safety.qr.pixmap().isNull()
    safety.verified.setChecked(True)
    qtbot.waitUntil(
        lambda: (c := alice.pane.conversation) is not None and c.verified, timeout=WAIT_MS
    )
    assert "verified" in alice.pane.title.text()
    if carol_session.window is not None:
        carol_session.window.closed.disconnect()
        carol_session.window.close()
    carol_session.close()


def test_key_change_banner_blocks_sending_to_a_verified_contact(
    qtbot: QtBot, pair: tuple[MainWindow, MainWindow]
) -> None:
    alice, _bob = pair
    alice.list.setCurrentIndex(alice.conversations.index(0))
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
