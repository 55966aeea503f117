"""The build is visible in the desktop app: title, About box, the notice when a contact's messages
show a warrant envelope, the header badge, and the notice before the first message to such a
contact (standard build). Real windows, a real core and relay, QTest clicks and keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from parley.app import build_hooks
from parley.app.account import create_account
from parley.app.warrant.buildconfig import make_config
from parley.ui.bridge import Submitter
from parley.ui.embedded_relay import EmbeddedRelay
from parley.ui.main_window import MainWindow
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from tests.ui.ui_driver import close_window, menu_item, open_chat, wait_for_window
from tests.warrant_build import WarrantBuild

pytest_plugins = ["ui_fixtures"]

WAIT_MS = 30_000
PASSPHRASE = "a passphrase for tests"


def about_text(qtbot: QtBot, window: MainWindow) -> str:
    """Open Help > About Parley from the menu bar with the mouse; return the box's text."""
    menu_item(qtbot, window, "Help", "About Parley")
    box = wait_for_window(qtbot, QMessageBox, window)
    text = box.text()
    close_window(qtbot, box)
    return text


def test_a_warrant_build_names_itself_in_the_title_and_about_box(
    warrant_build: WarrantBuild, qtbot: QtBot, pair: tuple[Any, Any]
) -> None:
    alice, _ = pair
    expected = f"Alice (warrant build, authority {warrant_build.key_id}) — Parley"
    assert alice.windowTitle().endswith(expected)
    text = about_text(qtbot, alice)
    assert f"warrant build, authority {warrant_build.key_id}" in text
    assert "policy: strict" in text and "docs/warrant.md" in text


def test_a_standard_build_says_so_in_its_about_box(qtbot: QtBot, pair: tuple[Any, Any]) -> None:
    alice, _ = pair
    assert alice.windowTitle().endswith("Alice (standard build) — Parley")
    assert "<b>standard build</b>" in about_text(qtbot, alice)


@pytest.fixture
def mixed(
    qtbot: QtBot,
    runtime: Submitter,
    relay: EmbeddedRelay,
    tmp_path: Path,
    warrant_authority: Path,
) -> Iterator[tuple[MainWindow, MainWindow, str]]:
    """Bob runs this (standard) build; Alice's core seals like the warrant build. Alice has
    added Bob; nothing was sent yet."""
    from parley.ui.session import AccountSession

    from tests.ui.ui_fixtures import FAST_ARGON2

    warrant = make_config("warrant", warrant_authority, "strict")

    async def introduce() -> tuple[Any, Any]:
        made = []
        for name in ("Alice", "Bob"):
            made.append(
                await create_account(
                    tmp_path / name.lower(),
                    name,
                    relay.url or "",
                    key_storage="passphrase",
                    passphrase=PASSPHRASE,
                    argon2_limits=FAST_ARGON2,
                )
            )
        alice, bob = made
        alice.pipeline.hooks = build_hooks.provider(warrant)
        await alice.add_contact((await bob.my_invite()).code)
        return alice, bob

    messengers = runtime.submit(introduce()).result(WAIT_MS / 1000)
    sessions = []
    for messenger in messengers:
        session = AccountSession(runtime, tmp_path / messenger.display_name.lower())
        session.adopt(messenger, online=True)
        sessions.append(session)
    alice, bob = (s.window for s in sessions)
    assert alice is not None and bob is not None
    qtbot.waitUntil(lambda: alice.connection.text() == "Online", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: bob.connection.text() == "Online", timeout=WAIT_MS)
    yield alice, bob, warrant.authority_key_id
    for session in sessions:
        if session.window is not None:
            session.window.closed.disconnect()
            session.window.close()
        session.close()


def test_the_standard_build_tells_its_user_at_once_and_before_writing(
    qtbot: QtBot, mixed: tuple[MainWindow, MainWindow, str]
) -> None:
    alice, bob, key_id = mixed
    qtbot.waitUntil(lambda: alice.conversations.rowCount() == 1, timeout=WAIT_MS)
    open_chat(alice)
    QTest.keyClicks(alice.pane.composer.edit, "sealed to the authority")
    QTest.keyClick(alice.pane.composer.edit, Qt.Key.Key_Return)

    # At once: a notice naming the contact and the authority, linked to docs/warrant.md.
    qtbot.waitUntil(
        lambda: bob.build_notice is not None and bob.build_notice.isVisible(), timeout=WAIT_MS
    )
    notice = bob.build_notice
    assert notice is not None
    assert f"Alice uses the warrant build of Parley (authority {key_id})" in notice.text()
    assert "docs/warrant.md" in notice.text()
    QTest.mouseClick(notice.button(QMessageBox.StandardButton.Ok), Qt.MouseButton.LeftButton)

    # Alice is a stranger to Bob: he accepts her message request first.
    button = bob.requests_button
    qtbot.waitUntil(lambda: button.text() == "Message requests (1)", timeout=WAIT_MS)
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)
    assert button.dialog is not None
    QTest.mouseClick(button.dialog.accept_button, Qt.MouseButton.LeftButton)
    button.dialog.close()
    # The conversation header carries a badge; the message itself reads normally.
    qtbot.waitUntil(lambda: bob.conversations.rowCount() == 1, timeout=WAIT_MS)
    open_chat(bob)
    qtbot.waitUntil(bob.pane.badge.isVisible, timeout=WAIT_MS)
    assert bob.pane.badge.text() == f"Warrant build \u00b7 authority {key_id}"
    qtbot.waitUntil(lambda: bob.pane.model.rowCount() == 1, timeout=WAIT_MS)
    got = bob.pane.model.message_at(0)
    assert got is not None and got.body == "sealed to the authority"

    # Before Bob's first message to Alice: the plain paragraph; Cancel sends nothing.
    QTest.keyClicks(bob.pane.composer.edit, "not yet")
    QTest.keyClick(bob.pane.composer.edit, Qt.Key.Key_Return)
    box = bob.pane.notice
    assert box is not None and box.isVisible() and "docs/warrant.md" in box.text()
    QTest.mouseClick(box.button(QMessageBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)
    QTest.qWait(200)
    assert bob.pane.model.rowCount() == 1
    QTest.keyClicks(bob.pane.composer.edit, "understood")
    QTest.keyClick(bob.pane.composer.edit, Qt.Key.Key_Return)
    box = bob.pane.notice
    assert box is not None and box.isVisible()
    QTest.mouseClick(box.button(QMessageBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bob.pane.model.rowCount() == 2, timeout=WAIT_MS)
    # Remembered in the store: the core's view of the conversation says so (asked only once).
    qtbot.waitUntil(
        lambda: bob.pane.conversation is not None and bob.pane.conversation.build_acknowledged,
        timeout=WAIT_MS,
    )
    # Told once: the next message goes without a notice.
    shown = bob.pane.notice
    QTest.keyClicks(bob.pane.composer.edit, "and again")
    QTest.keyClick(bob.pane.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bob.pane.model.rowCount() == 3, timeout=WAIT_MS)
    assert shown is not None and bob.pane.notice is shown and not shown.isVisible()
