"""A picture at full size, decrypted by the core and shown from memory only."""

from __future__ import annotations

from parley.app.events import AttachmentView
from parley.ui.bridge import CoreBridge
from parley.ui.thumbnails import image_from_bytes
from parley.ui.widgets import ErrorLabel, keep_whole, named
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import QDialog, QLabel, QScrollArea, QVBoxLayout, QWidget


class PictureViewer(QDialog):
    """Scrollable full-size view of an attachment; Escape closes it."""

    def __init__(
        self, bridge: CoreBridge, attachment: AttachmentView, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(attachment.file_name or "Picture")
        named(self, f"Picture {attachment.file_name}")
        keep_whole(self)
        self.resize(min(1000, attachment.width + 40), min(760, attachment.height + 60))
        self.image = named(QLabel("Loading…", self), f"Picture {attachment.file_name}")
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        scroll = named(QScrollArea(self), "Picture")
        scroll.setWidget(self.image)
        scroll.setWidgetResizable(True)
        self.error = ErrorLabel(self)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.error)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Close), self, self.reject)
        bridge.call(bridge.messenger.load_attachment(attachment.id), self._show, self._fail)

    def _show(self, data: bytes) -> None:
        image = image_from_bytes(data)
        if image is None:
            self._fail("This picture could not be shown: it is not in a format Parley can read.")
            return
        self.image.setPixmap(QPixmap.fromImage(image))
        self.image.setText("")

    def _fail(self, message: str) -> None:
        self.image.setText("")
        self.error.show_message(message)
