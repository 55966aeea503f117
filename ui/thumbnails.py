"""Decrypted pictures for the bubbles, fetched from the core once and kept scaled in memory.

The core keeps attachments encrypted in the store; the bytes come back through the bridge (never
read on the GUI thread from disk) and only a thumbnail-sized QPixmap stays in memory here.
"""

from __future__ import annotations

from parley.app.events import AttachmentView
from parley.ui.bridge import CoreBridge
from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap

THUMBNAIL_MAX = QSize(260, 260)


def thumbnail_size(attachment: AttachmentView, maximum: QSize = THUMBNAIL_MAX) -> QSize:
    """The on-screen size of a picture, from the dimensions the sender declared."""
    width = max(1, attachment.width)
    height = max(1, attachment.height)
    size = QSize(width, height)
    if width > maximum.width() or height > maximum.height():
        size = size.scaled(maximum, Qt.AspectRatioMode.KeepAspectRatio)
    return QSize(max(32, size.width()), max(32, size.height()))


def image_from_bytes(data: bytes) -> QImage | None:
    """A QImage, or None when the bytes are not a picture Qt can read."""
    image = QImage()
    return image if image.loadFromData(data) and not image.isNull() else None


class ThumbnailCache(QObject):
    """Attachment id -> scaled QPixmap; ``ready`` fires when one finished loading."""

    ready = Signal(str)

    def __init__(self, bridge: CoreBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._pixmaps: dict[str, QPixmap] = {}
        self._pending: set[str] = set()
        self._failed: set[str] = set()

    def get(self, attachment: AttachmentView) -> QPixmap | None:
        """The thumbnail if loaded; otherwise start loading it and return None."""
        pixmap = self._pixmaps.get(attachment.id)
        if pixmap is not None:
            return pixmap
        if attachment.id not in self._pending and attachment.id not in self._failed:
            self._pending.add(attachment.id)
            self._bridge.call(
                self._bridge.messenger.load_attachment(attachment.id),
                lambda data: self._loaded(attachment, data),
                lambda _message: self._give_up(attachment.id),
            )
        return None

    def failed(self, attachment_id: str) -> bool:
        return attachment_id in self._failed

    def _loaded(self, attachment: AttachmentView, data: bytes) -> None:
        self._pending.discard(attachment.id)
        image = image_from_bytes(data)
        if image is None:
            self._give_up(attachment.id)
            return
        size = thumbnail_size(attachment)
        scaled = image.scaled(
            size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        self._pixmaps[attachment.id] = QPixmap.fromImage(scaled)
        self.ready.emit(attachment.id)

    def _give_up(self, attachment_id: str) -> None:
        self._pending.discard(attachment_id)
        self._failed.add(attachment_id)
        self.ready.emit(attachment_id)
