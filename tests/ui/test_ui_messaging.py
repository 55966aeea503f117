"""Two demo windows talking through a real relay: text, ticks, pictures, paging, search."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from parley.app.events import MessageView
from parley.ui.main_window import MainWindow
from parley.ui.message_model import PAGE
from parley.ui.picture_preview import PicturePreview
from parley.ui.picture_viewer import PictureViewer
from parley.ui.relay_record_dialog import RelayRecordDialog
from parley.ui.search_dialog import SearchDialog
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from tests.ui.ui_driver import (
    click,
    close_window,
    open_chat,
    open_from_menu,
    paste_file,
    press,
    send,
    wait_for_window,
)

pytest_plugins = ["ui_fixtures"]  # the fixtures: real core, real relay (see ui_fixtures.py)

WAIT_MS = 30_000  # generous: first X3DH and SQLCipher key derivation on a busy 2-core box


def open_first(window: MainWindow) -> None:
    open_chat(window, 0)


def last_message(window: MainWindow) -> MessageView | None:
    model = window.pane.model
    return model.message_at(model.rowCount() - 1)


def test_text_typed_in_one_window_arrives_in_the_other(qtbot: QtBot, pair: tuple[Any, Any]) -> None:
    alice, bob = pair
    open_first(alice)
    open_first(bob)
    QTest.keyClicks(alice.pane.composer.edit, "first line")
    QTest.keyClick(alice.pane.composer.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    QTest.keyClicks(alice.pane.composer.edit, "second line")
    assert alice.pane.composer.edit.toPlainText() == "first line\nsecond line"  # not sent yet
    QTest.keyClick(alice.pane.composer.edit, Qt.Key.Key_Return)
    assert alice.pane.composer.edit.toPlainText() == ""

    def arrived() -> bool:
        message = last_message(bob)
        return message is not None and message.body == "first line\nsecond line"

    qtbot.waitUntil(arrived, timeout=WAIT_MS)
    received = last_message(bob)
    assert received is not None and received.direction == "in"
    # Bob has the conversation open: the read receipt turns Alice's ticks to "read".
    qtbot.waitUntil(
        lambda: (m := last_message(alice)) is not None and m.status in ("delivered", "read"),
        timeout=WAIT_MS,
    )


def test_unread_count_and_preview_in_the_list(qtbot: QtBot, pair: tuple[Any, Any]) -> None:
    alice, bob = pair
    open_first(alice)
    send(alice, "are you there?")
    qtbot.waitUntil(
        lambda: (
            (c := bob.conversations.conversation_at(0)) is not None
            and c.last_message_preview.startswith("are you there")
            and c.unread >= 1
        ),
        timeout=WAIT_MS,
    )
    listed = bob.conversations.conversation_at(0)
    assert listed is not None
    assert bob.windowTitle().startswith(f"({listed.unread}) ")  # the greeting is unread too


def test_picture_arrives_as_thumbnail_and_opens_in_viewer(
    qtbot: QtBot, pair: tuple[Any, Any], tmp_path: Path
) -> None:
    alice, bob = pair
    picture = QImage(120, 80, QImage.Format.Format_RGB32)
    picture.fill(QColor("#ff8800"))
    path = tmp_path / "orange.png"
    assert picture.save(str(path))
    open_first(alice)
    open_first(bob)
    paste_file(alice, path)  # as copied in a file manager
    preview = wait_for_window(qtbot, PicturePreview, alice)  # seen before it is sent
    qtbot.waitUntil(preview.send.isEnabled, timeout=WAIT_MS)
    click(preview.send)

    def arrived() -> bool:
        message = last_message(bob)
        return message is not None and message.attachment is not None

    qtbot.waitUntil(arrived, timeout=WAIT_MS)
    message = last_message(bob)
    assert message is not None and message.attachment is not None
    assert (message.attachment.width, message.attachment.height) == (120, 80)
    bob.pane.view.viewport().repaint()  # painting asks the cache for the thumbnail
    qtbot.waitUntil(
        lambda: bob.pane.thumbnails.get(message.attachment) is not None, timeout=WAIT_MS
    )
    view = bob.pane.view
    row = bob.pane.model.row_of_message(message.id)
    assert row is not None
    view.scrollTo(bob.pane.model.index(row))
    rect = view.visualRect(bob.pane.model.index(row))
    click(view.viewport(), rect.center())
    press(view, Qt.Key.Key_Return)  # Enter on a picture opens it
    viewer = wait_for_window(qtbot, PictureViewer, bob)
    qtbot.waitUntil(lambda: viewer.image.pixmap().width() == 120, timeout=WAIT_MS)
    assert viewer.image.pixmap().toImage().pixelColor(10, 10) == QColor("#ff8800")
    viewer.close()


def test_history_loads_newest_page_first_and_older_on_scroll(
    qtbot: QtBot, pair: tuple[Any, Any]
) -> None:
    alice, bob = pair
    total = PAGE + 15
    open_first(alice)
    for number in range(total):
        send(alice, f"numbered {number}")
    qtbot.waitUntil(
        lambda: (
            (c := bob.conversations.conversation_at(0)) is not None
            and c.last_message_preview == f"numbered {total - 1}"
        ),
        timeout=WAIT_MS * 2,
    )
    open_first(bob)
    qtbot.waitUntil(lambda: bob.pane.model.rowCount() == PAGE, timeout=WAIT_MS)
    newest = bob.pane.model.message_at(PAGE - 1)
    assert newest is not None and newest.body == f"numbered {total - 1}"
    assert not bob.pane.model.exhausted
    bob.pane.view.verticalScrollBar().setValue(0)
    # Alice's greeting from the fixture comes first, then the numbered ones.
    qtbot.waitUntil(lambda: bob.pane.model.rowCount() == total + 1, timeout=WAIT_MS)
    oldest = bob.pane.model.message_at(1)
    assert oldest is not None and oldest.body == "numbered 0"
    assert bob.pane.model.exhausted


def test_search_finds_and_jumps_to_the_message(qtbot: QtBot, pair: tuple[Any, Any]) -> None:
    """Bob has not opened the conversation, and the hit is older than its newest page.

    The jump must survive the list selecting the conversation (which opens it again) and the
    page loads it waits for: the main window once cancelled it whenever the first page arrived
    after the selection, as it usually does.
    """
    alice, bob = pair
    open_first(alice)
    send(alice, "the quokka lives on Rottnest")
    for number in range(PAGE):
        send(alice, f"something else {number}")
    qtbot.waitUntil(
        lambda: (
            (c := bob.conversations.conversation_at(0)) is not None
            and c.last_message_preview == f"something else {PAGE - 1}"
        ),
        timeout=WAIT_MS * 2,
    )
    assert bob.pane.conversation is None
    dialog = open_from_menu(qtbot, bob, "Parley", "Search", SearchDialog)
    QTest.keyClicks(dialog.query, "quokka")
    qtbot.waitUntil(lambda: dialog.results.count() == 1, timeout=WAIT_MS)
    QTest.keyClick(dialog.query, Qt.Key.Key_Return)
    assert not dialog.isVisible()  # closed at once (and deleted later): the window shows the hit
    qtbot.waitUntil(
        lambda: (m := bob.pane.current_message()) is not None and "quokka" in m.body,
        timeout=WAIT_MS,
    )


def test_what_the_relay_saw(qtbot: QtBot, pair: tuple[Any, Any]) -> None:
    alice, _bob = pair
    open_first(alice)
    send(alice, "what does the relay keep?")
    qtbot.waitUntil(
        lambda: (m := last_message(alice)) is not None and m.status != "sending",
        timeout=WAIT_MS,
    )
    message = last_message(alice)
    assert message is not None
    row = alice.pane.model.row_of_message(message.id)
    assert row is not None
    click(
        alice.pane.view.viewport(), alice.pane.view.visualRect(alice.pane.model.index(row)).center()
    )
    dialog = open_from_menu(qtbot, alice, "Message", "What the relay saw", RelayRecordDialog)
    qtbot.waitUntil(lambda: dialog.record is not None, timeout=WAIT_MS)
    assert dialog.record is not None and dialog.record.frame_hex
    assert dialog.frame.toPlainText().startswith("00000000  ")
    assert "what does the relay keep" not in dialog.frame.toPlainText()  # ciphertext only
    assert dialog.metadata.rowCount() == len(dialog.record.metadata)
    assert "bytes" in dialog.retention.text()
    dialog.close()


def test_search_results_say_who_wrote_them_and_highlight_the_match(
    qtbot: QtBot, pair: tuple[Any, Any]
) -> None:
    alice, _bob = pair
    open_first(alice)
    send(alice, "a wombat [not a match] here")
    qtbot.waitUntil(lambda: (m := last_message(alice)) is not None and "wombat" in m.body,
                    timeout=WAIT_MS)  # fmt: skip
    dialog = open_from_menu(qtbot, alice, "Parley", "Search", SearchDialog)
    QTest.keyClicks(dialog.query, "wombat")
    qtbot.waitUntil(lambda: dialog.results.count() == 1, timeout=WAIT_MS)
    assert dialog.summary.text() == "1 message, newest first."
    item = dialog.results.item(0)
    label = dialog.results.itemWidget(item)
    assert isinstance(label, QLabel)
    shown = label.text()
    assert "You to Bob" in shown  # my own message, not labelled with Bob's name
    assert "background" in shown and ">wombat</span>" in shown  # highlighted, not bracketed
    assert "[not a match]" in shown  # the message's own brackets stay as typed
    spoken = item.data(Qt.ItemDataRole.AccessibleTextRole)
    assert spoken.startswith("You to Bob") and "\x02" not in spoken
    close_window(qtbot, dialog)


def test_what_the_relay_saw_after_delivery_says_it_is_deleted_in_local_time(
    qtbot: QtBot, pair: tuple[Any, Any]
) -> None:
    alice, _bob = pair
    open_first(alice)
    send(alice, "is it gone from the relay?")
    qtbot.waitUntil(
        lambda: (m := last_message(alice)) is not None and m.status in ("delivered", "read"),
        timeout=WAIT_MS,
    )  # Bob's device has it: it acknowledged it to the relay, which deleted it
    message = last_message(alice)
    assert message is not None
    row = alice.pane.model.row_of_message(message.id)
    assert row is not None
    view = alice.pane.view
    click(view.viewport(), view.visualRect(alice.pane.model.index(row)).center())
    dialog = open_from_menu(qtbot, alice, "Message", "What the relay saw", RelayRecordDialog)
    qtbot.waitUntil(lambda: dialog.record is not None, timeout=WAIT_MS)
    assert "no longer has this frame" in dialog.retention.text()
    cells = [
        (dialog.metadata.item(r, 0), dialog.metadata.item(r, 1))
        for r in range(dialog.metadata.rowCount())
    ]
    stamps = [v.text() for k, v in cells if k and v and k.text() == "relay stored at"]
    assert stamps and stamps[0].startswith("today at "), stamps
    close_window(qtbot, dialog)
