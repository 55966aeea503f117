"""Small helpers every window uses: accessible names, QR codes, error labels."""

from __future__ import annotations

import io
from typing import TypeVar

import segno
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel, QWidget

W = TypeVar("W", bound=QWidget)


def named(widget: W, name: str, description: str = "") -> W:
    """Give ``widget`` the name a screen reader says (and a tooltip with the description).

    Every interactive control goes through this; tests/ui/test_accessibility.py walks the windows
    and fails on one that did not.
    """
    widget.setAccessibleName(name)
    if description:
        widget.setAccessibleDescription(description)
        widget.setToolTip(description)
    return widget


def qr_pixmap(payload: bytes | str, *, scale: int = 5) -> QPixmap:
    """A QR code as a pixmap (segno renders PNG bytes; Qt decodes them)."""
    buffer = io.BytesIO()
    segno.make(payload, error="m").save(buffer, kind="png", scale=scale, border=2)
    pixmap = QPixmap()
    pixmap.loadFromData(buffer.getvalue(), "PNG")
    return pixmap


class ErrorLabel(QLabel):
    """A red, word-wrapped label for a message to a person; hidden while empty."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorLabel")
        self.setWordWrap(True)
        self.setStyleSheet("color: #b3261e;")
        named(self, "Error message")
        self.hide()

    def show_message(self, text: str) -> None:
        self.setText(text)
        self.setAccessibleDescription(text)
        self.setVisible(bool(text))
