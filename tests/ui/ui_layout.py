"""What a person would see wrong in a window: clipped controls, cut text, unscannable QR codes.

``problems(window)`` lists, in words, every visible widget smaller than its minimumSizeHint, every
label whose text does not fit, everything that lies outside its window, and every QR code without
its full quiet zone (4 modules) or that zbar cannot decode from a grab of the widget.
"""

from __future__ import annotations

import io

from PIL import Image
from PySide6.QtCore import QBuffer, QIODevice, QPoint, QRect
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QApplication,
    QHeaderView,
    QLabel,
    QMenuBar,
    QScrollBar,
    QStatusBar,
    QToolButton,
    QWidget,
)

QUIET_MODULES = 4
#: Qt-named parts that still carry the app's words: a message box's text and its details.
QT_TEXT = frozenset({"qt_msgbox_label", "qt_msgbox_informativelabel"})


def _name(widget: QWidget) -> str:
    text = getattr(widget, "text", lambda: "")()
    text = text if isinstance(text, str) else ""
    label = widget.accessibleName() or widget.objectName() or text[:40]
    return f"{type(widget).__name__} {label!r}"


def _scrolled(widget: QWidget, root: QWidget) -> bool:
    """Inside a scroll area's viewport: allowed to extend past what is shown."""
    parent = widget.parentWidget()
    while parent is not None and parent is not root:
        if isinstance(parent, QAbstractScrollArea):
            return True
        parent = parent.parentWidget()
    return False


def _qt_internal(widget: QWidget) -> bool:
    """Parts Qt manages itself: scroll bars, the menu bar's overflow button, status-bar grips."""
    parent = widget.parentWidget()
    return (
        isinstance(widget, QScrollBar | QHeaderView)
        or (isinstance(widget, QToolButton) and isinstance(parent, QMenuBar))
        or (widget.objectName().startswith("qt_") and widget.objectName() not in QT_TEXT)
    )


def _label_problem(label: QLabel) -> str | None:
    if label.pixmap() is not None and not label.pixmap().isNull():
        size = label.pixmap().deviceIndependentSize().toSize()
        room = label.contentsRect()
        if size.width() > room.width() or size.height() > room.height():
            return (
                f"{_name(label)} shows a {size.width()}x{size.height()} picture in "
                f"{room.width()}x{room.height()}"
            )
        return None
    if not label.text():
        return None
    room = label.contentsRect()
    if label.wordWrap():
        needed = label.heightForWidth(label.width())
        if needed > label.height():
            return f"{_name(label)} needs {needed} px height, has {label.height()}"
        return None
    hint = label.sizeHint()
    if hint.width() > room.width() + label.margin() * 2 + 2 or hint.height() > label.height():
        return (
            f"{_name(label)} text needs {hint.width()}x{hint.height()}, "
            f"has {label.width()}x{label.height()}"
        )
    return None


def problems(root: QWidget) -> list[str]:
    """Everything wrong with what ``root`` shows now (call after it is shown and laid out)."""
    for _ in range(3):  # a layout request may post another (a part's, then its window's)
        QApplication.processEvents()
    found: list[str] = []
    window = root.rect()
    for widget in root.findChildren(QWidget):
        if not widget.isVisibleTo(root) or widget.isWindow() or _qt_internal(widget):
            continue
        if isinstance(widget.parentWidget(), QStatusBar) and isinstance(widget, QLabel):
            continue  # the status bar elides its own messages
        hint = widget.minimumSizeHint()
        if isinstance(widget, QLabel):
            issue = _label_problem(widget)
            if issue:
                found.append(issue)
        elif hint.isValid() and (widget.width() < hint.width() or widget.height() < hint.height()):
            found.append(
                f"{_name(widget)} is {widget.width()}x{widget.height()}, smaller than its "
                f"minimum {hint.width()}x{hint.height()}"
            )
        if not _scrolled(widget, root):
            place = QRect(widget.mapTo(root, QPoint(0, 0)), widget.size())
            if not window.contains(place):
                found.append(
                    f"{_name(widget)} at {place.getRect()} lies outside {window.getRect()}"
                )
        if isinstance(widget, QLabel) and "qr" in widget.accessibleName().lower():
            found.extend(qr_problems(widget))
    return found


def grab_image(widget: QWidget) -> Image.Image:
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    widget.grab().save(buffer, "PNG")
    return Image.open(io.BytesIO(buffer.data().data())).convert("L")


def qr_problems(label: QLabel) -> list[str]:
    """A QR code must decode from what is drawn, with 4 light modules all around it."""
    from pyzbar import pyzbar

    image = grab_image(label)
    name = _name(label)
    if not pyzbar.decode(image):
        return [f"{name}: zbar cannot decode the QR code from a grab of the widget"]
    width, height = image.size
    levels = list(image.tobytes())

    def is_dark(x: int, y: int) -> bool:
        return int(levels[y * width + x]) < 128

    dark = [(x, y) for y in range(height) for x in range(width) if is_dark(x, y)]
    left = min(x for x, _ in dark)
    top = min(y for _, y in dark)
    right = max(x for x, _ in dark)
    bottom = max(y for _, y in dark)
    run = 0
    while left + run <= right and is_dark(left + run, top):
        run += 1
    module = max(1, round(run / 7))  # the finder pattern's top edge is 7 modules wide
    quiet = QUIET_MODULES * module
    if left < quiet or top < quiet or width - 1 - right < quiet or height - 1 - bottom < quiet:
        return [f"{name}: the code has less than {QUIET_MODULES} modules of light margin in view"]
    pixmap = label.pixmap()
    drawn = pixmap.toImage()
    pw, ph = drawn.width(), drawn.height()
    # The quiet zone is part of the picture itself, so that it stays light on a dark theme.
    margin = 0
    while margin < pw // 2 and all(
        drawn.pixelColor(margin, y).lightness() > 200 for y in range(ph)
    ):
        margin += 1
    if margin < quiet:
        return [f"{name}: the picture carries {margin} px of quiet zone, needs {quiet}"]
    return []
