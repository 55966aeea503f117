"""Message requests in the desktop app, driven by clicks on the real buttons: a stranger's first
message waits under "Message requests"; Accept makes a contact (and only then does the delivery
receipt go back), Block drops what the stranger sends afterwards, Delete forgets it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from parley.app.account import create_account
from parley.ui.blocked_view import BlockedDialog
from parley.ui.bridge import Submitter
from parley.ui.embedded_relay import EmbeddedRelay
from parley.ui.main_window import MainWindow
from parley.ui.requests_view import RequestsDialog
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from tests.ui.ui_driver import focus_window
from tests.ui.ui_fixtures import FAST_ARGON2, PASSPHRASE, WAIT_MS

pytest_plugins = ["ui_fixtures"]


@pytest.fixture
def strangers(
    qtbot: QtBot, runtime: Submitter, relay: EmbeddedRelay, tmp_path: Path
) -> Iterator[tuple[MainWindow, MainWindow]]:
    """Alice has added Bob's invite; Bob has never heard of Alice. Both windows open."""
    from parley.ui.session import AccountSession

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
        await made[0].add_contact((await made[1].my_invite()).code)
        return made[0], made[1]

    sessions = []
    for messenger in runtime.submit(introduce()).result(WAIT_MS / 1000):
        session = AccountSession(runtime, tmp_path / messenger.display_name.lower())
        session.adopt(messenger, online=True)
        sessions.append(session)
    alice, bob = (s.window for s in sessions)
    assert alice is not None and bob is not None
    qtbot.waitUntil(lambda: alice.connection.text() == "Online", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: bob.connection.text() == "Online", timeout=WAIT_MS)
    yield alice, bob
    for session in sessions:
        if session.window is not None:
            session.window.closed.disconnect()
            session.window.close()
        session.close()


def say(qtbot: QtBot, window: MainWindow, text: str) -> None:
    qtbot.waitUntil(lambda: window.conversations.rowCount() == 1, timeout=WAIT_MS)
    window.list.setCurrentIndex(window.conversations.index(0))
    QTest.keyClicks(window.pane.composer.edit, text)
    QTest.keyClick(window.pane.composer.edit, Qt.Key.Key_Return)


def open_requests(qtbot: QtBot, window: MainWindow, count: int) -> RequestsDialog:
    button = window.requests_button
    qtbot.waitUntil(lambda: button.text() == f"Message requests ({count})", timeout=WAIT_MS)
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = button.dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    return dialog


def status_of_first(window: MainWindow) -> str:
    message = window.pane.model.message_at(0)
    return "" if message is None else message.status


def test_accept_makes_a_contact_and_only_then_sends_the_receipt(
    qtbot: QtBot, strangers: tuple[MainWindow, MainWindow]
) -> None:
    alice, bob = strangers
    say(qtbot, alice, "hello, we met at the conference")
    dialog = open_requests(qtbot, bob, 1)
    entry = dialog.list.item(0).text()
    assert entry.startswith("\u201cAlice\u201d (unverified name) \u00b7 ")
    assert "1 message: hello, we met at the conference" in entry
    assert bob.conversations.rowCount() == 0
    qtbot.waitUntil(lambda: status_of_first(alice) == "sent", timeout=WAIT_MS)
    QTest.qWait(500)
    assert status_of_first(alice) == "sent"  # no delivery receipt to a request

    QTest.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bob.conversations.rowCount() == 1, timeout=WAIT_MS)
    assert bob.conversations.conversation_at(0).title == "Alice"  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: dialog.list.count() == 0, timeout=WAIT_MS)
    assert bob.requests_button.text() == "Message requests (0)"
    qtbot.waitUntil(lambda: status_of_first(alice) == "delivered", timeout=WAIT_MS)


def test_a_request_pops_no_notification_its_name_being_only_a_claim(
    qtbot: QtBot, strangers: tuple[MainWindow, MainWindow]
) -> None:
    """A stranger's first message never notifies: a notification would show the name it
    claims (anyone can call themselves "Your bank") as if it were a contact's. Once accepted,
    the contact's messages notify as usual."""
    alice, bob = strangers
    say(qtbot, alice, "this is your bank: confirm your details")
    dialog = open_requests(qtbot, bob, 1)
    assert bob.notifier.enabled and bob.notifier.shown == []
    QTest.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bob.conversations.rowCount() == 1, timeout=WAIT_MS)
    focus_window(qtbot, alice)  # Bob's window is in the background
    say(qtbot, alice, "sorry, just Alice from the conference")
    qtbot.waitUntil(lambda: bob.notifier.shown != [], timeout=WAIT_MS)
    assert bob.notifier.shown == [("Alice", "sorry, just Alice from the conference")]


def test_block_drops_what_the_stranger_sends_next(
    qtbot: QtBot, strangers: tuple[MainWindow, MainWindow]
) -> None:
    alice, bob = strangers
    say(qtbot, alice, "buy cheap watches")
    dialog = open_requests(qtbot, bob, 1)
    QTest.mouseClick(dialog.block_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bob.requests_button.text() == "Message requests (0)", timeout=WAIT_MS)
    say(qtbot, alice, "really cheap")
    db = bob.bridge.messenger.store.db  # type: ignore[attr-defined]
    qtbot.waitUntil(
        lambda: db.one("SELECT dropped FROM contacts WHERE state = 'blocked'") == (1,),
        timeout=WAIT_MS,
    )
    assert bob.conversations.rowCount() == 0
    assert db.one("SELECT count(*) FROM messages WHERE body = 'really cheap'") == (0,)
    assert not dialog.accept_button.isEnabled()  # nothing left to act on


def open_blocked(qtbot: QtBot, dialog: RequestsDialog, count: int) -> BlockedDialog:
    QTest.mouseClick(dialog.blocked_button, Qt.MouseButton.LeftButton)
    blocked = dialog.blocked_dialog
    assert blocked is not None
    qtbot.waitUntil(lambda: blocked.isVisible() and blocked.list.count() == count, timeout=WAIT_MS)
    return blocked


def click_in_box(qtbot: QtBot, blocked: BlockedDialog, button: QMessageBox.StandardButton) -> str:
    """Click Unblock, then ``button`` in the question it asks; the question's text."""
    QTest.mouseClick(blocked.unblock_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: blocked.confirm is not None and blocked.confirm.isVisible(), timeout=WAIT_MS
    )
    box = blocked.confirm
    assert box is not None
    text = box.text()
    QTest.mouseClick(box.button(button), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=WAIT_MS)
    return text


def test_unblock_asks_then_makes_it_a_request_again_that_hears_the_next_message(
    qtbot: QtBot, strangers: tuple[MainWindow, MainWindow]
) -> None:
    alice, bob = strangers
    say(qtbot, alice, "hello?")
    dialog = open_requests(qtbot, bob, 1)
    label = dialog.current().label  # type: ignore[union-attr]
    QTest.mouseClick(dialog.block_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bob.requests_button.text() == "Message requests (0)", timeout=WAIT_MS)
    say(qtbot, alice, "dropped, this one")
    db = bob.bridge.messenger.store.db  # type: ignore[attr-defined]
    qtbot.waitUntil(
        lambda: db.one("SELECT dropped FROM contacts WHERE state = 'blocked'") == (1,),
        timeout=WAIT_MS,
    )
    blocked = open_blocked(qtbot, dialog, 1)
    assert blocked.list.item(0).text() == (
        f"{label}\nUnblocking makes it a message request again, for you to accept or not.\n"
        "1 message dropped unread while blocked."
    )
    assert not blocked.empty.isVisible()
    # Cancel changes nothing.
    question = click_in_box(qtbot, blocked, QMessageBox.StandardButton.Cancel)
    assert question == (
        f"Unblock {label}? It becomes a message request again, for you to accept or not; "
        "what it sent while blocked stays dropped."
    )
    QTest.qWait(300)
    assert blocked.list.count() == 1 and bob.requests_button.text() == "Message requests (0)"
    # Unblock: back among the requests (not a contact), the list of blocked people empty.
    click_in_box(qtbot, blocked, QMessageBox.StandardButton.Yes)
    qtbot.waitUntil(lambda: blocked.list.count() == 0, timeout=WAIT_MS)
    assert blocked.empty.isVisible()
    qtbot.waitUntil(lambda: bob.requests_button.text() == "Message requests (1)", timeout=WAIT_MS)
    assert bob.conversations.rowCount() == 0
    QTest.mouseClick(blocked.close_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not blocked.isVisible(), timeout=WAIT_MS)
    # Alice's next message reaches Bob's request again; the dropped one never does.
    say(qtbot, alice, "you're back")
    qtbot.waitUntil(
        lambda: (
            dialog.list.count() == 1 and "2 messages: you're back" in dialog.list.item(0).text()
        ),
        timeout=WAIT_MS,
    )
    assert db.one("SELECT count(*) FROM messages WHERE body = 'dropped, this one'") == (0,)


def test_delete_forgets_the_request(qtbot: QtBot, strangers: tuple[MainWindow, MainWindow]) -> None:
    alice, bob = strangers
    say(qtbot, alice, "wrong number?")
    dialog = open_requests(qtbot, bob, 1)
    QTest.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bob.requests_button.text() == "Message requests (0)", timeout=WAIT_MS)
    db = bob.bridge.messenger.store.db  # type: ignore[attr-defined]
    assert db.one("SELECT count(*) FROM messages") == (0,)
    assert db.one("SELECT count(*) FROM contacts") == (0,)
    assert dialog.empty.isVisible()


def test_merge_asks_to_compare_safety_numbers_first(
    qtbot: QtBot, runtime: Submitter, relay: EmbeddedRelay, strangers: tuple[MainWindow, MainWindow]
) -> None:
    alice, bob = strangers
    say(qtbot, alice, "hello")
    QTest.mouseClick(open_requests(qtbot, bob, 1).accept_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bob.conversations.rowCount() == 1, timeout=WAIT_MS)
    bob.requests_button.dialog.close()  # type: ignore[union-attr]
    old_key = alice.bridge.messenger.identity.public.to_bytes()  # type: ignore[attr-defined]
    folder = Path(alice.bridge.messenger.store.folder).parent / "alice-new"  # type: ignore[attr-defined]

    async def lost_phone() -> bytes:
        """Alice on a new device without her old one: only an unproven claim."""
        again = await create_account(
            folder, "Alice", relay.url or "", key_storage="passphrase", passphrase=PASSPHRASE,
            argon2_limits=FAST_ARGON2, replaces=old_key,
        )  # fmt: skip
        try:
            await again.add_contact((await bob.bridge.messenger.my_invite()).code)
            await again.send_text((await again.conversations())[0].id, "new phone, it's me")
            await again.flush(WAIT_MS / 1000)
            return again.identity.public.to_bytes()
        finally:
            await again.close()

    new_key = runtime.submit(lost_phone()).result(WAIT_MS / 1000)
    dialog = open_requests(qtbot, bob, 1)
    # The button may still count the request accepted above until the core's list comes back.
    qtbot.waitUntil(
        lambda: (
            dialog.list.count() == 1
            and "Says it is Alice's new identity (not proven)." in dialog.list.item(0).text()
        ),
        timeout=WAIT_MS,
    )
    qtbot.waitUntil(dialog.merge_button.isEnabled, timeout=WAIT_MS)
    QTest.mouseClick(dialog.merge_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: dialog.merge_box is not None and dialog.merge_box.isVisible(), timeout=WAIT_MS
    )
    box = dialog.merge_box
    assert box is not None and "Compare these numbers" in box.text()
    QTest.mouseClick(box.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.list.count() == 0, timeout=WAIT_MS)
    contacts = runtime.submit(bob.bridge.messenger.contacts()).result(WAIT_MS / 1000)
    assert [(c.display_name, c.identity_key_hex, c.verified) for c in contacts] == [
        ("Alice", new_key.hex(), True)
    ]
