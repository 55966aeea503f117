"""Pictures as people send and look at them: the preview with caption and Cancel, refused files
explained in the preview, the caption under the picture, the viewer's zoom and Save…

Two real windows, a real relay, the real file dialogs (Qt's own, offscreen), real keys and clicks.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import pytest
from parley.app.events import MessageView
from parley.ui import conversation_pane
from parley.ui.composer import write_private_png
from parley.ui.main_window import MainWindow
from parley.ui.picture_preview import PicturePreview
from parley.ui.picture_viewer import PictureViewer
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QPainter,
    QWheelEvent,
)
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from tests.ui.ui_driver import (
    WAIT_MS,
    choose_file,
    choose_in_menu,
    click,
    message_menu,
    open_chat,
    paste_file,
    press,
    send,
    shortcut,
    type_into,
    type_text,
    wait_for_window,
)

pytest_plugins = ["ui_fixtures"]  # the fixtures: real core, real relay (see ui_fixtures.py)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The person's home folder, where the file dialogs start."""
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def last_message(window: MainWindow) -> MessageView | None:
    model = window.pane.model
    return model.message_at(model.rowCount() - 1)


def pictures(window: MainWindow) -> list[MessageView]:
    model = window.pane.model
    rows = (model.message_at(row) for row in range(model.rowCount()))
    return [m for m in rows if m is not None and m.attachment is not None]


def two_colour_png(path: Path, width: int, height: int) -> Path:
    """Orange on the left, blue on the right: small as a PNG, easy to recognise in a grab."""
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("#ff8800"))
    painter = QPainter(image)
    painter.fillRect(width // 2, 0, width - width // 2, height, QColor("#0044ff"))
    painter.end()
    assert image.save(str(path))
    return path


def gone(window: QWidget) -> bool:
    return not window.isVisible()


def ready_preview(qtbot: QtBot, window: MainWindow) -> PicturePreview:
    preview = wait_for_window(qtbot, PicturePreview, window)
    qtbot.waitUntil(lambda: preview.send.isEnabled() or preview.error.isVisible(), timeout=WAIT_MS)
    return preview


def test_attach_previews_with_a_caption_and_sends_on_enter(
    qtbot: QtBot, pair: tuple[Any, Any], tmp_path: Path
) -> None:
    alice, bob = pair
    path = two_colour_png(tmp_path / "sunset.png", 120, 80)
    open_chat(alice)
    open_chat(bob)
    type_into(alice.pane.composer.edit, "look at this")
    click(alice.pane.composer.attach)
    choose_file(qtbot, alice, path)
    preview = ready_preview(qtbot, alice)
    assert preview.send.isEnabled(), preview.error.text()
    assert "sunset.png" in preview.details.text()
    assert "Sent as 120 \u00d7 80" in preview.details.text()
    assert preview.image.pixmap().toImage().pixelColor(5, 5) == QColor("#ff8800")
    # What was typed becomes the caption; the person adds to it and presses Enter.
    assert preview.caption.text() == "look at this"
    assert QApplication.focusWidget() is preview.caption
    type_text(preview.caption, ", a sunset")
    press(preview.caption, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not preview.isVisible(), timeout=WAIT_MS)

    def arrived() -> bool:
        message = last_message(bob)
        return message is not None and message.attachment is not None

    qtbot.waitUntil(arrived, timeout=WAIT_MS)
    message = last_message(bob)
    assert message is not None and message.body == "look at this, a sunset"
    assert alice.pane.composer.edit.toPlainText() == ""  # it went out as the caption

    # Bob's bubble draws the caption under the picture: dark text below the orange pixels.
    view = bob.pane.view
    index = bob.pane.model.index(bob.pane.model.rowCount() - 1)
    view.scrollTo(index)
    view.viewport().repaint()
    qtbot.waitUntil(
        lambda: bob.pane.thumbnails.get(message.attachment) is not None, timeout=WAIT_MS
    )
    view.viewport().repaint()
    grab = view.viewport().grab(view.visualRect(index)).toImage()
    orange = [
        (x, y)
        for y in range(grab.height())
        for x in range(grab.width())
        if grab.pixelColor(x, y) == QColor("#ff8800")
    ]
    assert orange, "the picture is not drawn"
    left = min(x for x, _ in orange)
    right = max(x for x, _ in orange)
    bottom = max(y for _, y in orange)
    text = [
        (x, y)
        for y in range(bottom + 1, grab.height())
        for x in range(left, right + 1)
        if grab.pixelColor(x, y).lightness() < 110
    ]
    assert text, "no caption is drawn under the picture"


def test_cancel_sends_nothing_and_keeps_the_draft(
    qtbot: QtBot, pair: tuple[Any, Any], tmp_path: Path
) -> None:
    alice, bob = pair
    path = two_colour_png(tmp_path / "private.png", 60, 40)
    open_chat(alice)
    open_chat(bob)
    type_into(alice.pane.composer.edit, "draft")
    shortcut(qtbot, alice, "Ctrl+U")  # Message > Attach picture…
    choose_file(qtbot, alice, path)
    preview = ready_preview(qtbot, alice)
    assert preview.send.isEnabled()
    press(preview.caption, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not preview.isVisible(), timeout=WAIT_MS)
    assert alice.pane.composer.edit.toPlainText() == "draft"
    # Then a second picture, cancelled with the button.
    paste_file(alice, path)
    preview = ready_preview(qtbot, alice)
    click(preview.cancel)
    qtbot.waitUntil(lambda: not preview.isVisible(), timeout=WAIT_MS)
    # A text sent afterwards arrives alone: nothing went out before it.
    edit = alice.pane.composer.edit
    click(edit)
    type_text(edit, " kept")
    press(edit, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: (m := last_message(bob)) is not None and m.body == "draft kept", timeout=WAIT_MS
    )
    assert pictures(bob) == [] and pictures(alice) == []


def test_files_that_cannot_be_sent_are_refused_in_the_preview(
    qtbot: QtBot, pair: tuple[Any, Any], tmp_path: Path
) -> None:
    alice, bob = pair
    fake = tmp_path / "notes.png"
    fake.write_text("these are notes, not a picture\n")
    huge = two_colour_png(tmp_path / "huge.png", 40, 40)
    with huge.open("ab") as out:
        out.truncate(11 * 1024 * 1024)  # a real PNG followed by 11 MiB of zeros
    pipe = tmp_path / "pipe.png"
    os.mkfifo(pipe)  # reading it would wait forever for a writer
    open_chat(alice)
    refusals = {
        fake: "This file is not a picture Parley can show.",
        huge: "huge.png is 11.0 MiB; pictures are at most 10 MiB.",
        pipe: "pipe.png is not a regular file; pictures are files.",
    }
    for path, sentence in refusals.items():
        click(alice.pane.composer.attach)
        choose_file(qtbot, alice, path)
        preview = ready_preview(qtbot, alice)
        assert preview.error.isVisible()
        assert preview.error.text() == sentence
        assert not preview.send.isEnabled()
        assert preview.cancel.isDefault() and QApplication.focusWidget() is preview.cancel
        if path is fake:
            click(preview.cancel)
        else:
            press(preview.cancel, Qt.Key.Key_Return)  # Enter now dismisses: nothing to send
        qtbot.waitUntil(functools.partial(gone, preview), timeout=WAIT_MS)
    assert pictures(alice) == []
    assert alice.isVisible() and bob.isVisible()


def test_pasted_picture_is_previewed_and_its_private_copy_removed(
    qtbot: QtBot, pair: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = pair
    written: list[Path] = []

    def recording(image: QImage) -> Path:
        path = write_private_png(image)
        written.append(path)
        return path

    monkeypatch.setattr(conversation_pane, "write_private_png", recording)
    open_chat(alice)
    open_chat(bob)
    image = QImage(40, 30, QImage.Format.Format_RGB32)
    image.fill(QColor("#00aa55"))
    mime = QMimeData()
    mime.setImageData(image)
    QGuiApplication.clipboard().setMimeData(mime)
    click(alice.pane.composer.edit)
    press(alice.pane.composer.edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    QGuiApplication.clipboard().clear()
    preview = ready_preview(qtbot, alice)
    assert len(written) == 1
    qtbot.waitUntil(lambda: not written[0].exists(), timeout=WAIT_MS)  # read, then deleted
    assert preview.details.text().startswith("Pasted picture")
    click(preview.send)
    qtbot.waitUntil(lambda: bool(pictures(bob)), timeout=WAIT_MS)
    attachment = pictures(bob)[0].attachment
    assert attachment is not None and attachment.file_name == "pasted picture.png"


def test_viewer_zooms_by_buttons_keys_and_wheel_and_saves_the_exact_bytes(
    qtbot: QtBot, pair: tuple[Any, Any], runtime: Any, tmp_path: Path
) -> None:
    alice, bob = pair
    path = two_colour_png(tmp_path / "wide.png", 1600, 1000)
    open_chat(alice)
    open_chat(bob)
    paste_file(alice, path)
    click(ready_preview(qtbot, alice).send)
    qtbot.waitUntil(lambda: bool(pictures(bob)), timeout=WAIT_MS)
    message = pictures(bob)[0]
    view = bob.pane.view
    row = bob.pane.model.row_of_message(message.id)
    assert row is not None
    view.scrollTo(bob.pane.model.index(row))
    click(view.viewport(), view.visualRect(bob.pane.model.index(row)).center())
    press(view, Qt.Key.Key_Return)
    viewer = wait_for_window(qtbot, PictureViewer, bob)
    qtbot.waitUntil(lambda: viewer.source is not None, timeout=WAIT_MS)
    qtbot.waitExposed(viewer)

    def shown_width() -> int:
        return viewer.image.pixmap().width()

    fit = viewer.zoom
    assert fit < 1.0 and shown_width() == round(1600 * fit)  # opens fitted to the window
    click(viewer.actual)
    assert viewer.zoom == 1.0 and shown_width() == 1600
    click(viewer.zoom_in)
    assert shown_width() == round(1600 * 1.25)
    click(viewer.zoom_out)
    click(viewer.zoom_out)
    assert shown_width() == round(1600 / 1.25)
    click(viewer.fit)
    assert shown_width() == round(1600 * fit)
    shortcut(qtbot, viewer, "Ctrl+1")
    assert shown_width() == 1600
    shortcut(qtbot, viewer, "Ctrl+=")
    assert shown_width() == round(1600 * 1.25)
    shortcut(qtbot, viewer, "Ctrl+-")
    assert shown_width() == 1600
    shortcut(qtbot, viewer, "Ctrl+0")
    assert shown_width() == round(1600 * fit)

    def wheel(modifiers: Qt.KeyboardModifier) -> None:
        target = viewer.area.viewport()
        centre = QPointF(target.rect().center())
        event = QWheelEvent(
            centre, QPointF(target.mapToGlobal(centre.toPoint())), QPoint(0, 0),
            QPoint(0, 120), Qt.MouseButton.NoButton, modifiers,
            Qt.ScrollPhase.NoScrollPhase, False,
        )  # fmt: skip
        QApplication.sendEvent(target, event)

    wheel(Qt.KeyboardModifier.NoModifier)  # the wheel alone scrolls, never zooms
    assert shown_width() == round(1600 * fit)
    wheel(Qt.KeyboardModifier.ControlModifier)
    assert shown_width() == round(1600 * fit * 1.25)

    # Save…: Qt's file dialog, the name typed into it; the file holds exactly the picture sent.
    target = tmp_path / "Pictures" / "kept.png"  # the dialog starts in ~/Pictures when there is one
    target.parent.mkdir()
    click(viewer.save)
    choose_file(qtbot, viewer, target)
    qtbot.waitUntil(viewer.saved.isVisible, timeout=WAIT_MS)
    assert viewer.saved.text() == f"Saved to {target}."
    sent = pictures(alice)[0].attachment
    assert sent is not None and message.attachment is not None
    original = runtime.submit(alice.bridge.messenger.load_attachment(sent.id)).result(30)
    received = runtime.submit(bob.bridge.messenger.load_attachment(message.attachment.id))
    assert target.read_bytes() == original == received.result(30)
    assert sorted(p.name for p in target.parent.iterdir()) == ["kept.png"]  # no stray copy
    QTest.keyClick(viewer, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not viewer.isVisible(), timeout=WAIT_MS)

    # The same from the message's menu, without opening the viewer.
    again = target.parent / "again.png"
    choose_in_menu(qtbot, message_menu(qtbot, bob, message.id), "Save picture…")
    choose_file(qtbot, bob, again)
    bar = bob.statusBar()
    qtbot.waitUntil(lambda: bar.currentMessage() == f"Saved to {again}.", timeout=WAIT_MS)
    assert again.read_bytes() == original


def test_dropped_pictures_are_previewed_one_after_another(
    qtbot: QtBot, pair: tuple[Any, Any], tmp_path: Path
) -> None:
    alice, bob = pair
    first = two_colour_png(tmp_path / "first.png", 50, 40)
    second = two_colour_png(tmp_path / "second.png", 30, 60)
    open_chat(alice)
    open_chat(bob)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(first)), QUrl.fromLocalFile(str(second))])
    # The events the platform delivers when files are dragged over the conversation and dropped.
    target = alice.pane.view.viewport()
    where = target.rect().center()
    actions = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(
        where, actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(where), actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(target, drop)
    preview = ready_preview(qtbot, alice)
    assert preview.details.text().startswith("first.png")
    click(preview.send)
    qtbot.waitUntil(functools.partial(gone, preview), timeout=WAIT_MS)
    later = ready_preview(qtbot, alice)
    assert later is not preview and later.details.text().startswith("second.png")
    click(later.cancel)
    qtbot.waitUntil(functools.partial(gone, later), timeout=WAIT_MS)
    send(alice, "that was all")
    qtbot.waitUntil(
        lambda: (m := last_message(bob)) is not None and m.body == "that was all", timeout=WAIT_MS
    )
    names = [m.attachment.file_name for m in pictures(bob) if m.attachment is not None]
    assert names == ["first.png"]
