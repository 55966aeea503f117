"""Lines the app writes into a conversation (a key change, a merged identity, a message that could
not be shown, session recovery): drawn as a centred, small, muted line of text, with no bubble and
no sender, so that they never pass for something the contact wrote.

They are stored as messages of kind "system" (app/contacts.py ``system_line``); the bubble
delegate hands such rows to these functions.
"""

from __future__ import annotations

from parley.app.events import MessageView
from parley.ui.text import clock_time
from parley.ui.theme import is_dark
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QStyleOptionViewItem

#: At most this share of the view's width, and never more than this many average characters.
MAX_FRACTION = 0.8
MAX_CHARS = 72
#: Room above and below the text, inside the row.
PAD = 6
#: Muted: mid-grey that reads on both themes, and distinct from any bubble's text colour.
MUTED_LIGHT = QColor("#6b6f76")
MUTED_DARK = QColor("#a3a8b0")
FLAGS = int(Qt.AlignmentFlag.AlignHCenter | Qt.TextFlag.TextWordWrap)


def system_font(option: QStyleOptionViewItem) -> QFont:
    font = QFont(option.font)
    font.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
    font.setItalic(True)
    return font


def muted(palette: QPalette) -> QColor:
    return MUTED_DARK if is_dark(palette) else MUTED_LIGHT


def system_text(message: MessageView) -> str:
    """The words drawn: the line and, after it, when it was written."""
    return f"{message.body} \u00b7 {clock_time(message.sent_at)}"


def _text_rect(message: MessageView, option: QStyleOptionViewItem, width: int) -> QRect:
    metrics = QFontMetrics(system_font(option))
    room = max(80, min(int(width * MAX_FRACTION), metrics.averageCharWidth() * MAX_CHARS))
    return metrics.boundingRect(QRect(0, 0, room, 1_000_000), FLAGS, system_text(message))


def system_size(message: MessageView, option: QStyleOptionViewItem, width: int) -> QSize:
    """The height the line needs at this row width (without the space above it)."""
    bounds = _text_rect(message, option, width)
    return QSize(bounds.width(), bounds.height() + 2 * PAD)


def paint_system(
    painter: QPainter, message: MessageView, option: QStyleOptionViewItem, top: int
) -> QRect:
    """Draw the line centred in the row, from ``top``; returns where the text went."""
    row = option.rect
    bounds = _text_rect(message, option, row.width())
    target = QRect(0, top + PAD, bounds.width(), bounds.height())
    target.moveLeft(row.center().x() - bounds.width() // 2)
    painter.save()
    painter.setFont(system_font(option))
    painter.setPen(muted(option.palette))
    painter.drawText(target, FLAGS, system_text(message))
    painter.restore()
    return target
