"""The message composer: Enter sends, Shift+Enter breaks the line, pictures by dialog/drop/paste."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from parley.app.attachments import MAX_INPUT_BYTES
from parley.ui.errors import NotAnImage
from parley.ui.widgets import named
from PySide6.QtCore import QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QImage, QImageReader, QKeyEvent, QResizeEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

IMAGE_FILTER = "Pictures (*.png *.jpg *.jpeg *.gif *.webp)"


def image_paths(mime: QMimeData) -> list[Path]:
    """Local files in ``mime`` whose format Qt recognises as a picture."""
    paths = []
    for url in mime.urls():
        if url.isLocalFile():
            path = Path(url.toLocalFile())
            if path.is_file() and QImageReader.imageFormat(str(path)).data():
                paths.append(path)
    return paths


def write_private_png(image: QImage) -> Path:
    """Save a pasted picture to a file only this user can read, for ``send_picture``.

    The core's API takes a path; the caller deletes the file as soon as the core has read it.
    """
    if image.isNull():
        raise NotAnImage("The clipboard holds no picture that can be sent.")
    handle, name = tempfile.mkstemp(prefix="parley-paste-", suffix=".png")
    os.close(handle)
    os.chmod(name, 0o600)
    if not image.save(name):
        Path(name).unlink(missing_ok=True)
        raise NotAnImage("The pasted picture could not be prepared for sending.")
    return Path(name)


#: The composer grows with its text up to this many lines, then scrolls.
MAX_LINES = 8


class ComposerEdit(QPlainTextEdit):
    """A plain-text editor that sends on Enter and takes pictures from drops and pastes.

    It starts one line high and grows with what is typed (up to ``MAX_LINES``), as in Signal.
    """

    submitted = Signal()
    escaped = Signal()  # Escape: stop replying
    picture_offered = Signal(object)  # Path
    picture_pasted = Signal(object)  # QImage

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self._fit()

    def _height_for(self, lines: int) -> int:
        margins = self.contentsMargins()
        frame = margins.top() + margins.bottom() + int(self.document().documentMargin() * 2)
        return self.fontMetrics().lineSpacing() * lines + frame + 2

    def _fit(self) -> None:
        lines = max(1, min(MAX_LINES, int(self.document().size().height())))
        height = self._height_for(lines)
        if height != self.height() or self.minimumHeight() != height:
            self.setFixedHeight(height)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        """One line of text: a scroll area's generic 70x70 is not this field's real minimum."""
        return QSize(self.fontMetrics().averageCharWidth() * 8, self._height_for(1))

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(super().sizeHint().width(), self.height())

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Escape:
            self.escaped.emit()
            return
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.submitted.emit()
            return
        super().keyPressEvent(event)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:  # noqa: N802
        return (
            source.hasImage() or bool(image_paths(source)) or super().canInsertFromMimeData(source)
        )

    def insertFromMimeData(self, source: QMimeData) -> None:  # noqa: N802
        paths = image_paths(source)
        if paths:
            for path in paths:
                self.picture_offered.emit(path)
            return
        if source.hasImage():
            image = source.imageData()
            if isinstance(image, QImage):
                self.picture_pasted.emit(image)
                return
        super().insertFromMimeData(source)


#: How much of the quoted message the reply bar shows (the bubble shows its own excerpt).
REPLY_PREVIEW_CHARS = 80


class ElidedLabel(QLabel):
    """One line that ends in "…" when the room is short (its whole text stays its accessible
    description): the reply bar must not push the window wider, nor wrap into height that a
    top-level window's minimum size does not give it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self._full = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 8)

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setAccessibleDescription(text)
        self._elide()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        room = self.contentsRect().width()
        self.setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, room))


class ReplyBar(QFrame):
    """ "Replying to NAME: TEXT" above the composer, with a button to stop replying."""

    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("replyBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = named(ElidedLabel(self), "Replying to")
        self.cancel = named(QToolButton(self), "Cancel reply", "Stop replying (Escape)")
        self.cancel.setText("\u2715")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.cancel)
        self.cancel.clicked.connect(lambda _checked=False: self.cancelled.emit())
        self.hide()

    def show_for(self, author: str, text: str) -> None:
        if len(text) > REPLY_PREVIEW_CHARS:
            text = text[: REPLY_PREVIEW_CHARS - 1].rstrip() + "\u2026"
        self.label.set_full_text(f"Replying to {author}: {' '.join(text.split())}")
        self.show()


class Composer(QWidget):
    """The row under the conversation: attach, text, send; above it, what a reply quotes."""

    send_text = Signal(str)
    send_picture = Signal(object)  # Path: a chosen or dropped file, for the preview
    send_pasted = Signal(object)  # QImage: a pasted picture, for the preview

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        limit_mib = MAX_INPUT_BYTES // (1024 * 1024)
        self.attach = named(
            QToolButton(self),
            "Attach picture",
            f"Send a PNG, JPEG, GIF or WebP picture up to {limit_mib} MiB (Ctrl+U); "
            "you see it, with a caption, before it is sent.",
        )
        self.attach.setText("+")
        self.edit = named(
            ComposerEdit(self),
            "Message",
            "Type a message. Enter sends, Shift+Enter starts a new line. Paste or drop pictures.",
        )
        self.edit.setPlaceholderText("Message")
        self.edit.setTabChangesFocus(True)
        self.send = named(QPushButton("Send", self), "Send message", "Send (Enter)")
        self.reply_bar = ReplyBar(self)
        self.reply_to: str | None = None  # the id of the message the next text quotes
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 6, 8, 8)
        outer.setSpacing(4)
        outer.addWidget(self.reply_bar)
        layout = QHBoxLayout()
        outer.addLayout(layout)
        layout.addWidget(self.attach)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.send)
        self.reply_bar.cancelled.connect(self.cancel_reply)
        self.edit.escaped.connect(self.cancel_reply)
        self.edit.submitted.connect(self._submit)
        self.send.clicked.connect(self._submit)
        self.attach.clicked.connect(lambda _checked=False: self.choose_picture())
        self.edit.picture_offered.connect(self.send_picture)
        self.edit.picture_pasted.connect(self.send_pasted)
        self.setTabOrder(self.attach, self.edit)
        self.setTabOrder(self.edit, self.send)

    def start_reply(self, message_id: str, author: str, text: str) -> None:
        """Quote this message in the next text; the cursor goes to the composer."""
        self.reply_to = message_id
        self.reply_bar.show_for(author, text)
        self.edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def cancel_reply(self) -> None:
        self.reply_to = None
        self.reply_bar.hide()

    def take_reply(self) -> str | None:
        """The message the text being sent quotes (the bar goes: one reply per quote)."""
        reply, self.reply_to = self.reply_to, None
        self.reply_bar.hide()
        return reply

    def _submit(self) -> None:
        text = self.edit.toPlainText().strip()
        if text and self.isEnabled():
            self.send_text.emit(text)
            self.edit.clear()

    def choose_picture(self) -> QFileDialog:
        """The file chooser, window-modal and not blocking (``open``, not ``exec``): the
        chosen file goes to the preview (ui/picture_preview.py), never straight out."""
        dialog = QFileDialog(self, "Send a picture", str(Path.home()), IMAGE_FILTER)
        named(dialog, "Choose a picture")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda name: self.send_picture.emit(Path(name)))
        dialog.open()
        return dialog
