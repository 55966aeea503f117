"""Draws a conversation row: title, last message, time, unread badge, trust marks."""

from __future__ import annotations

import time

from parley.app.events import ConversationView
from parley.ui.conversation_model import CONVERSATION_ROLE
from parley.ui.text import short_time
from parley.ui.widgets import paint_avatar
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

ModelIndex = QModelIndex | QPersistentModelIndex
BADGE = QColor("#2c6bed")
WARNING = QColor("#c4400b")
VERIFIED = QColor("#1a7f37")


def paint_focus_ring(painter: QPainter, option: QStyleOptionViewItem, *, selected: bool) -> None:
    """The keyboard is on this row: a ring, visible on the selection's colour too."""
    role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Highlight
    style = Qt.PenStyle.DotLine if selected else Qt.PenStyle.SolidLine
    painter.setPen(QPen(option.palette.color(role), 2, style))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRect(option.rect.adjusted(1, 1, -2, -2))


def paint_unread_badge(painter: QPainter, unread: int, rect: QRect, metrics: QFontMetrics) -> int:
    """The unread count as a round badge on the second line's right; returns its width."""
    if not unread:
        return 0
    line = metrics.height()
    label = str(unread) if unread < 1000 else "999+"
    badge_w = max(line + 4, metrics.horizontalAdvance(label) + 12)
    badge = QRect(rect.right() - badge_w, rect.top() + line + 4, badge_w, line + 2)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(BADGE)
    painter.drawRoundedRect(badge, badge.height() / 2, badge.height() / 2)
    painter.setPen(QColor("#ffffff"))
    painter.drawText(badge, int(Qt.AlignmentFlag.AlignCenter), label)
    return badge_w


class ConversationDelegate(QStyledItemDelegate):
    """Two lines per row; the unread count as a round badge on the right."""

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:  # noqa: N802
        metrics = QFontMetrics(option.font)
        return QSize(220, metrics.height() * 2 + 18)

    @staticmethod
    def avatar_rect(option: QStyleOptionViewItem) -> QRect:
        side = option.rect.height() - 12
        return QRect(option.rect.left() + 8, option.rect.top() + 6, side, side)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        conversation = index.data(CONVERSATION_ROLE)
        if not isinstance(conversation, ConversationView):
            super().paint(painter, option, index)
            return
        painter.save()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette = option.palette
        if selected:
            painter.fillRect(option.rect, palette.color(QPalette.ColorRole.Highlight))
        text_colour = palette.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        )
        avatar = self.avatar_rect(option)
        paint_avatar(painter, avatar, conversation.title, conversation.identity_key_hex)
        rect = option.rect.adjusted(avatar.right() - option.rect.left() + 10, 6, -10, -6)
        title_font = QFont(option.font)
        title_font.setBold(conversation.unread > 0)
        metrics = QFontMetrics(option.font)
        line = metrics.height()
        stamp = short_time(conversation.last_activity, now=time.time())
        stamp_w = metrics.horizontalAdvance(stamp) + 6
        title = conversation.title
        if conversation.verified:
            title += "  \u2714"
        painter.setFont(title_font)
        painter.setPen(text_colour)
        title_rect = QRect(rect.left(), rect.top(), rect.width() - stamp_w, line)
        painter.drawText(
            title_rect,
            int(Qt.AlignmentFlag.AlignLeft),
            QFontMetrics(title_font).elidedText(
                title, Qt.TextElideMode.ElideRight, title_rect.width()
            ),
        )
        painter.setFont(option.font)
        if conversation.last_activity > 0:
            painter.drawText(
                QRect(rect.right() - stamp_w, rect.top(), stamp_w, line),
                int(Qt.AlignmentFlag.AlignRight),
                stamp,
            )
        badge_w = paint_unread_badge(painter, conversation.unread, rect, metrics)
        preview = conversation.last_message_preview or "No messages yet"
        colour = text_colour
        if conversation.key_changed:
            preview = "\u26a0 Safety number changed"
            colour = text_colour if selected else WARNING
        painter.setPen(colour)
        preview_rect = QRect(rect.left(), rect.top() + line + 5, rect.width() - badge_w - 6, line)
        painter.drawText(
            preview_rect,
            int(Qt.AlignmentFlag.AlignLeft),
            metrics.elidedText(
                preview.replace("\n", " "), Qt.TextElideMode.ElideRight, preview_rect.width()
            ),
        )
        if option.state & QStyle.StateFlag.State_HasFocus:
            # The keyboard is here: a ring, visible on the selection's colour too.
            ring = palette.color(
                QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Highlight
            )
            painter.setPen(
                QPen(ring, 2, Qt.PenStyle.DotLine if selected else Qt.PenStyle.SolidLine)
            )
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(option.rect.adjusted(1, 1, -2, -2))
        painter.restore()
