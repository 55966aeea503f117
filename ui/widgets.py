"""Small helpers every window uses: accessible names, QR codes, error labels."""

from __future__ import annotations

import hashlib
import io
from typing import TypeVar

import segno
from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPixmap
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


def initials(name: str) -> str:
    """Up to two letters for an avatar: "Alice Smith" -> "AS", "bob" -> "B"."""
    words = [w for w in name.split() if w[:1].isalnum()]
    return "".join(w[0] for w in words[:2]).upper() or "?"


def avatar_colour(identity_key_hex: str, name: str) -> QColor:
    """A steady, readable colour for a contact, derived from their identity key."""
    seed = hashlib.sha256((identity_key_hex or name).encode()).digest()
    return QColor.fromHsl(int.from_bytes(seed[:2], "big") % 360, 150, 95)


def paint_avatar(painter: QPainter, rect: QRect, name: str, identity_key_hex: str) -> None:
    """Initials on a circle of the contact's colour (white text: contrast on every hue)."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(avatar_colour(identity_key_hex, name))
    painter.drawEllipse(rect)
    font = QFont(painter.font())
    font.setBold(True)
    font.setPixelSize(max(8, int(rect.height() * 0.4)))
    painter.setFont(font)
    painter.setPen(QColor("#ffffff"))
    painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), initials(name))
    painter.restore()


#: The light margin a QR code needs around it to be found by a scanner (ISO/IEC 18004: 4 modules).
QR_QUIET_MODULES = 4


def qr_pixmap(payload: bytes | str, *, scale: int = 5) -> QPixmap:
    """A QR code as a pixmap (segno renders PNG bytes; Qt decodes them).

    The quiet zone is drawn into the picture itself, white, so that it survives a dark theme.
    """
    buffer = io.BytesIO()
    segno.make(payload, error="m").save(
        buffer, kind="png", scale=scale, border=QR_QUIET_MODULES, light="white"
    )
    pixmap = QPixmap()
    pixmap.loadFromData(buffer.getvalue(), "PNG")
    return pixmap


class QrLabel(QLabel):
    """A QR code that is never clipped: the label's minimum size is the whole code."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__("Loading…", parent)
        named(self, name)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)

    def show_code(self, payload: bytes | str, *, scale: int) -> None:
        pixmap = qr_pixmap(payload, scale=scale)
        self.setPixmap(pixmap)
        self.setMinimumSize(pixmap.deviceIndependentSize().toSize())


class _KeepWhole(QObject):
    """Grows a window to the height its content needs at its current width.

    Qt gives a top-level window the minimum height of its layout, which ignores that wrapped text
    needs more lines as the window narrows, and a window does not grow when a hidden part (an
    error, the passphrase fields) appears. Both clip text and crush fields; this filter fixes the
    window's minimum height to ``heightForWidth`` whenever its layout or width changes.
    """

    def __init__(self, window: QWidget, min_width: int) -> None:
        super().__init__(window)
        self.window = window
        self.min_width = min_width

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        kind = event.type()
        if watched is not self.window:
            # A part's layout changed (text arrived, a row appeared): the window's layout caches
            # its height-for-width, so make it ask its parts again.
            if kind == QEvent.Type.LayoutRequest and (layout := self.window.layout()) is not None:
                layout.invalidate()
            return False
        if kind == QEvent.Type.Show:
            for part in self.window.findChildren(QWidget):
                if part.layout() is not None and not part.isWindow():
                    part.installEventFilter(self)
        if kind in (QEvent.Type.LayoutRequest, QEvent.Type.Resize, QEvent.Type.Show):
            fit_height(self.window, self.min_width)
        return False


def fit_height(window: QWidget, min_width: int = 0) -> None:
    layout = window.layout()
    if layout is None:
        return
    layout.activate()
    least = max(min_width, layout.totalMinimumSize().width())
    if window.minimumWidth() != least:
        window.setMinimumWidth(least)
    width = window.width()
    if layout.hasHeightForWidth():
        needed = layout.totalHeightForWidth(width)
    else:
        needed = layout.totalMinimumSize().height()
    if window.minimumHeight() != needed:
        window.setMinimumHeight(needed)
    if window.height() < needed:
        window.resize(width, needed)


def keep_whole(window: W, *, min_width: int = 0) -> W:
    """Install the height fix on ``window`` (a dialog) and give it a readable minimum width."""
    keeper = _KeepWhole(window, min_width)
    window.installEventFilter(keeper)
    return window


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
