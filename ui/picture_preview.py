"""The preview before a picture is sent: what will be sent, its caption, Send or Cancel.

The core prepares the picture first (app/attachments.py: decoded, stripped of metadata, shrunk
to fit one message), so the preview shows exactly the picture that will be sent, and a file that
cannot be sent is refused here, in one sentence, before anything leaves. Nothing is sent until
Send; Cancel (or Escape) sends nothing and leaves the composer as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import shiboken6
from parley.app.attachments import CheckedPicture
from parley.app.content import MAX_BODY_CHARS
from parley.ui.bridge import CoreBridge
from parley.ui.text import file_size
from parley.ui.thumbnails import image_from_bytes
from parley.ui.widgets import ErrorLabel, keep_whole, named
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QPixmap, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

#: The preview's picture fits in this box (a phone-sized look at it, not the full viewer).
PREVIEW_MAX = QSize(420, 320)


class PicturePreview(QDialog):
    """Shows a picture the user chose (file, drop or paste) before it is sent."""

    #: (the prepared picture, the caption): the user pressed Send.
    send_requested = Signal(object, str)

    def __init__(
        self,
        bridge: CoreBridge,
        path: Path,
        *,
        shown_name: str | None = None,
        caption: str = "",
        parent: QWidget | None = None,
        after_prepared: Callable[[], None] | None = None,
        send_as: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Send a picture")
        named(self, "Send a picture")
        keep_whole(self, min_width=320)
        self.prepared: CheckedPicture | None = None
        self._name = shown_name or path.name
        self._send_as = send_as
        self.image = named(QLabel("Preparing the picture…", self), f"Picture {self._name}")
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.details = named(QLabel(self._name, self), "Picture details")
        self.details.setWordWrap(True)
        self.caption = named(
            QLineEdit(self), "Caption", "Shown under the picture. Enter sends, Escape cancels."
        )
        self.caption.setPlaceholderText("Add a caption")
        self.caption.setMaxLength(MAX_BODY_CHARS)
        self.caption.setText(caption)
        self.error = ErrorLabel(self)
        buttons = QDialogButtonBox(self)
        self.send = named(QPushButton("Send", self), "Send picture", "Send (Enter)")
        self.cancel = named(QPushButton("Cancel", self), "Cancel", "Send nothing (Escape)")
        buttons.addButton(self.send, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel, QDialogButtonBox.ButtonRole.RejectRole)
        self.send.setDefault(True)
        self.send.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.image, 1)
        layout.addWidget(self.details)
        layout.addWidget(self.caption)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.send.clicked.connect(self._send)
        self.cancel.clicked.connect(self.reject)
        # Enter in the caption sends (the default button); Ctrl+Enter too, as in the composer.
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, self._send)
        self.caption.setFocus()

        # Plain closures, not bound methods: ``after_prepared`` (deleting a pasted picture's
        # private copy) must run even when the preview was cancelled and deleted meanwhile.
        def prepared(picture: CheckedPicture) -> None:
            if after_prepared is not None:
                after_prepared()
            if shiboken6.isValid(self):
                self._prepared(picture)

        def refused(message: str) -> None:
            if after_prepared is not None:
                after_prepared()
            if shiboken6.isValid(self):
                self._refused(message)

        bridge.call(bridge.messenger.prepare_picture(path), prepared, refused)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        # The composer's text carried over is continued, not replaced: no selection, the cursor
        # at its end (Qt selects a line edit's text when its window gains the focus).
        QTimer.singleShot(0, self._cursor_to_end)

    def _cursor_to_end(self) -> None:
        self.caption.deselect()
        self.caption.end(False)

    def _prepared(self, picture: CheckedPicture) -> None:
        if self._send_as is not None:
            suffix = Path(picture.file_name).suffix
            picture = replace(picture, file_name=self._send_as + suffix)
        image = image_from_bytes(picture.data)
        if image is None:  # the core's decoder took it, Qt's does not: say so, send nothing
            self._refused("This picture could not be shown, so Parley will not send it.")
            return
        self.prepared = picture
        if image.width() > PREVIEW_MAX.width() or image.height() > PREVIEW_MAX.height():
            image = image.scaled(
                PREVIEW_MAX,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        self.image.setPixmap(QPixmap.fromImage(image))
        self.image.setMinimumSize(image.size())  # the whole preview, never cropped
        self.image.setText("")
        details = f"{self._name} · {file_size(picture.source_size)}"
        sent = f"{picture.width} \u00d7 {picture.height}, {file_size(len(picture.data))}"
        self.details.setText(f"{details}\nSent as {sent}, without location or camera data.")
        self.details.setAccessibleDescription(self.details.text())
        self.send.setEnabled(True)

    def _refused(self, message: str) -> None:
        self.prepared = None
        self.image.clear()
        self.image.setMinimumSize(0, 0)
        self.image.setText("No picture to send.")
        self.error.show_message(message)
        self.send.setEnabled(False)
        # Nothing can be sent: Enter now dismisses, as Cancel does.
        self.send.setDefault(False)
        self.cancel.setDefault(True)
        self.cancel.setFocus()

    def _send(self) -> None:
        if self.prepared is None or not self.send.isEnabled():
            return
        self.send_requested.emit(self.prepared, self.caption.text().strip())
        self.accept()
