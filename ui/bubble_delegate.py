"""Draws a message as a bubble: what it quotes, text or picture, the time and the delivery ticks,
and under the bubble its reactions as small chips (emoji and count, outlined when one is mine).

Sizes are computed from the text and the picture's declared dimensions only, so that laying out a
page never waits for a picture to load; computed sizes are cached per message and width.

The cache holds plain integers, least recently used out first beyond ``SIZE_CACHE``: a catch-up
lays out thousands of rows, and Qt value objects (QSize, QRect) kept for each would be objects
every garbage collection has to walk (tuples of ints are not tracked by the collector at all).
"""

from __future__ import annotations

import html
import math
import re
import time
from collections import OrderedDict

from parley.app.events import AttachmentView, MessageView, ReactionView, ReplyView
from parley.ui.message_model import MESSAGE_ROLE
from parley.ui.system_line import paint_system, system_size
from parley.ui.text import STATUS_TICKS, clock_time, day_label, same_day
from parley.ui.theme import IN_TEXT_LIGHT, incoming_colours
from parley.ui.thumbnails import ThumbnailCache, thumbnail_size
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QPointF, QRect, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QPainter,
    QPalette,
    QPen,
    QTextDocument,
    QTextOption,
)
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

MARGIN = 6
PADDING = 9
GAP = 4
MAX_BUBBLE_FRACTION = 0.72
#: A bubble's text is never wider than this many average characters (Signal's measure, about 60
#: to 70): long lines are hard to read when the window is maximised.
MAX_LINE_CHARS = 64
#: Consecutive messages from one side within this many seconds form a group: closer together.
GROUP_SECONDS = 180
GROUPED_GAP = 1
#: Layouts kept (message, status, width): a few screens of rows at a few widths.
SIZE_CACHE = 2000

OUT_BUBBLE = QColor("#2c6bed")
OUT_TEXT = QColor("#ffffff")
IN_TEXT = IN_TEXT_LIGHT  # for measuring only: colour does not change a layout
#: Read ticks sit on a white badge: a different shape and contrast from delivered, not a tint.
READ_BADGE = QColor("#ffffff")
FAILED = QColor("#ffd0d0")
#: Whole words wrap; a word longer than the line (a link, a hash) breaks where it must.
WRAP = int(Qt.TextFlag.TextWordWrap)
WRAP_LONG_WORD = int(Qt.TextFlag.TextWordWrap | Qt.TextFlag.TextWrapAnywhere)


#: Web links in a message: drawn underlined and opened with a click (ui/conversation_pane.py).
#: Trailing punctuation belongs to the sentence, not the link.
LINK = re.compile(r"\bhttps?://[^\s<>\"']*[^\s<>\"'.,;:!?)\]}]", re.IGNORECASE)


def link_html(text: str, colour: QColor) -> str:
    """``text`` as rich text with its links as anchors; everything else escaped, spaces kept."""
    parts: list[str] = []
    last = 0
    for match in LINK.finditer(text):
        parts.append(html.escape(text[last : match.start()]))
        url = html.escape(match.group(0), quote=True)
        parts.append(f'<a href="{url}" style="color:{colour.name()}">{url}</a>')
        last = match.end()
    parts.append(html.escape(text[last:]))
    body = "".join(parts).replace("\n", "<br>")
    return f'<div style="white-space:pre-wrap;color:{colour.name()}">{body}</div>'


def link_document(text: str, font: QFont, colour: QColor, width: int) -> QTextDocument:
    """A laid-out document for a message with links (only those: plain text is cheaper)."""
    document = QTextDocument()
    document.setDocumentMargin(0)
    document.setDefaultFont(font)
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    document.setDefaultTextOption(option)
    document.setHtml(link_html(text, colour))
    document.setTextWidth(width)
    return document


def wrap_flags(metrics: QFontMetrics, text: str, width: int) -> int:
    """Word wrap, unless some word cannot fit on a line at all (then break that word)."""
    if any(metrics.horizontalAdvance(word) > width for word in text.split()):
        return WRAP_LONG_WORD
    return WRAP


#: The quoted block inside a bubble: inner padding and the width of its coloured edge.
QUOTE_PAD = 6
QUOTE_EDGE = 3
#: Reaction chips under a bubble: padding inside a chip, and the space between chips.
CHIP_PAD = 6
CHIP_GAP = 4
NOT_FOUND = " \u00b7 not in your history"


def quote_lines(reply: ReplyView) -> tuple[str, str]:
    """The quoted block's two lines: who, and what (the sender's claim is marked as one)."""
    author = reply.author if reply.found else reply.author + NOT_FOUND
    text = reply.text or ("Picture" if reply.picture else "")
    return author, " ".join(text.split())


def chip_text(reaction: ReactionView) -> str:
    return reaction.emoji if reaction.count == 1 else f"{reaction.emoji} {reaction.count}"


ModelIndex = QModelIndex | QPersistentModelIndex
#: (bubble width, bubble height, text x, text y, text width, text height, quote height,
#: reaction chips' height)
Layout = tuple[int, int, int, int, int, int, int, int]


class BubbleDelegate(QStyledItemDelegate):
    """Paints ``MessageView`` rows of a MessageListModel."""

    def __init__(self, thumbnails: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._thumbnails = thumbnails
        self._sizes: OrderedDict[tuple[str, str, int, int], Layout] = OrderedDict()
        #: (message id, count): "count unread messages" is drawn above that message.
        self.unread_marker: tuple[str, int] = ("", 0)

    @property
    def cached_layouts(self) -> int:
        """How many layouts the cache holds (bounded by ``SIZE_CACHE``)."""
        return len(self._sizes)

    def _fonts(self, option: QStyleOptionViewItem) -> tuple[QFont, QFont]:
        body = QFont(option.font)
        small = QFont(option.font)
        small.setPointSizeF(max(6.0, body.pointSizeF() * 0.8))
        return body, small

    def _layout(self, message: MessageView, option: QStyleOptionViewItem) -> tuple[QSize, QRect]:
        """(bubble size, text rectangle relative to the bubble) for this width."""
        width = option.rect.width() or 600
        # The ticks' width can change the size, and so can reactions; a hash keeps the key to
        # plain values (see the module docstring).
        key = (message.id, message.status, width, hash((message.reply, message.reactions)))
        cached = self._sizes.get(key)
        if cached is None:
            cached = self._measure(message, option, width)
            self._sizes[key] = cached
            if len(self._sizes) > SIZE_CACHE:
                self._sizes.popitem(last=False)
        else:
            self._sizes.move_to_end(key)
        bubble_w, bubble_h, text_x, text_y, text_w, text_h, _quote, _chips = cached
        return QSize(bubble_w, bubble_h), QRect(text_x, text_y, text_w, text_h)

    def _extras(self, message: MessageView, option: QStyleOptionViewItem) -> tuple[int, int]:
        """(quoted block height, reaction chips height) of a laid-out message."""
        self._layout(message, option)
        width = option.rect.width() or 600
        key = (message.id, message.status, width, hash((message.reply, message.reactions)))
        cached = self._sizes[key]
        return cached[6], cached[7]

    def _max_inner(self, option: QStyleOptionViewItem, width: int) -> int:
        """The widest a bubble's content may be at this view width."""
        body_font, _small = self._fonts(option)
        line_cap = QFontMetrics(body_font).averageCharWidth() * MAX_LINE_CHARS
        return max(80, min(int(width * MAX_BUBBLE_FRACTION) - 2 * PADDING, line_cap))

    def _measure(self, message: MessageView, option: QStyleOptionViewItem, width: int) -> Layout:
        """Lay the bubble out for ``width`` from the text and the picture's declared size."""
        body_font, small_font = self._fonts(option)
        max_inner = self._max_inner(option, width)
        inner_w = 0
        inner_h = 0
        quote_h = 0
        if message.reply is not None:
            inner_w, quote_h = self._measure_quote(message.reply, option, max_inner)
            inner_h = quote_h + GAP
        if message.attachment is not None:
            picture = thumbnail_size(message.attachment)
            inner_w = max(inner_w, picture.width())
            inner_h += picture.height() + GAP
        text = (0, 0, 0, 0)
        if message.body and LINK.search(message.body):
            document = link_document(message.body, body_font, IN_TEXT, max_inner)
            text_w = min(max_inner, math.ceil(document.idealWidth()))
            text_h = math.ceil(document.size().height())
            text = (PADDING, PADDING + inner_h, text_w, text_h)
            inner_w = max(inner_w, text_w)
            inner_h += text_h
        elif message.body:
            metrics = QFontMetrics(body_font)
            bounds = metrics.boundingRect(
                QRect(0, 0, max_inner, 1_000_000),
                wrap_flags(metrics, message.body, max_inner),
                message.body,
            )
            text = (PADDING, PADDING + inner_h, bounds.width(), bounds.height())
            inner_w = max(inner_w, bounds.width())
            inner_h += bounds.height()
        footer = QFontMetrics(small_font)
        footer_w = footer.horizontalAdvance(self._footer_text(message)) + 14  # + the read badge
        inner_w = max(inner_w, footer_w)
        inner_h += GAP + footer.height()
        chips_h = QFontMetrics(body_font).height() + CHIP_PAD + GAP if message.reactions else 0
        return (inner_w + 2 * PADDING, inner_h + 2 * PADDING, *text, quote_h, chips_h)

    def _measure_quote(
        self, reply: ReplyView, option: QStyleOptionViewItem, max_inner: int
    ) -> tuple[int, int]:
        """(width, height) of the quoted block: an author line and one line of text."""
        body, small = self._fonts(option)
        author, text = quote_lines(reply)
        bold = QFont(small)
        bold.setBold(True)
        wanted = max(
            QFontMetrics(bold).horizontalAdvance(author),
            QFontMetrics(body).horizontalAdvance(text),
        )
        width = min(max_inner, wanted + QUOTE_EDGE + 2 * QUOTE_PAD)
        height = QFontMetrics(bold).height() + QFontMetrics(body).height() + 2 * QUOTE_PAD
        return width, height

    @staticmethod
    def _footer_text(message: MessageView) -> str:
        text = clock_time(message.sent_at)
        if message.direction == "out":
            text += "  " + STATUS_TICKS[message.status]
        return text

    def _above(
        self, message: MessageView, index: ModelIndex, option: QStyleOptionViewItem
    ) -> tuple[int, str]:
        """Space above the bubble, and the separator's text: a new day, or the unread marker."""
        marker_id, unread = self.unread_marker
        if marker_id and marker_id == message.id:
            _body, small = self._fonts(option)
            words = f"{unread} unread message{'' if unread == 1 else 's'}"
            return QFontMetrics(small).height() + 12 + MARGIN, words
        previous = None
        if index.row() > 0:
            previous = index.model().index(index.row() - 1, 0).data(MESSAGE_ROLE)
        if not isinstance(previous, MessageView) or not same_day(previous.sent_at, message.sent_at):
            _body, small = self._fonts(option)
            label = day_label(message.sent_at, now=time.time())
            return QFontMetrics(small).height() + 12 + MARGIN, label
        close = 0 <= message.sent_at - previous.sent_at < GROUP_SECONDS
        ordinary = message.kind != "system" and previous.kind != "system"
        if previous.direction == message.direction and close and ordinary:
            return GROUPED_GAP, ""
        return MARGIN, ""

    def _paint_day(self, painter: QPainter, option: QStyleOptionViewItem, label: str) -> None:
        """A centred pill with the day, above the first message of that day; the unread marker
        is a pill on a line across the view, in the accent colour."""
        _body, small = self._fonts(option)
        if label.endswith(("unread message", "unread messages")):
            self._paint_unread(painter, option, label, small)
            return
        metrics = QFontMetrics(small)
        width = metrics.horizontalAdvance(label) + 20
        height = metrics.height() + 6
        pill = QRect(0, option.rect.top() + 4, width, height)
        pill.moveLeft(option.rect.center().x() - width // 2)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(option.palette.color(QPalette.ColorRole.AlternateBase))
        painter.drawRoundedRect(pill, height / 2, height / 2)
        painter.setFont(small)
        painter.setPen(option.palette.color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(pill, int(Qt.AlignmentFlag.AlignCenter), label)
        painter.restore()

    @staticmethod
    def _paint_unread(
        painter: QPainter, option: QStyleOptionViewItem, label: str, font: QFont
    ) -> None:
        metrics = QFontMetrics(font)
        height = metrics.height() + 6
        middle = option.rect.top() + 4 + height // 2
        painter.save()
        painter.setPen(QPen(OUT_BUBBLE, 1))
        painter.drawLine(option.rect.left() + MARGIN, middle, option.rect.right() - MARGIN, middle)
        width = metrics.horizontalAdvance(label) + 20
        pill = QRect(option.rect.center().x() - width // 2, option.rect.top() + 4, width, height)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(OUT_BUBBLE)
        painter.drawRoundedRect(pill, height / 2, height / 2)
        painter.setFont(font)
        painter.setPen(OUT_TEXT)
        painter.drawText(pill, int(Qt.AlignmentFlag.AlignCenter), label)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:  # noqa: N802
        message = index.data(MESSAGE_ROLE)
        if not isinstance(message, MessageView):
            return super().sizeHint(option, index)
        above, _label = self._above(message, index, option)
        if message.kind == "system":
            line = system_size(message, option, option.rect.width() or 600)
            return QSize(option.rect.width() or line.width(), line.height() + above)
        bubble, _ = self._layout(message, option)
        _quote, chips = self._extras(message, option)
        height = bubble.height() + above + MARGIN + chips
        return QSize(option.rect.width() or bubble.width(), height)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        message = index.data(MESSAGE_ROLE)
        if not isinstance(message, MessageView):
            super().paint(painter, option, index)
            return
        row = option.rect
        above, day = self._above(message, index, option)
        if day:
            self._paint_day(painter, option, day)
        if message.kind == "system":
            # The app's own words: centred, small, muted, no bubble (ui/system_line.py).
            drawn = paint_system(painter, message, option, row.top() + above)
            if option.state & QStyle.StateFlag.State_HasFocus:
                painter.save()
                painter.setPen(option.palette.color(QPalette.ColorRole.Highlight))
                painter.drawRoundedRect(drawn.adjusted(-6, -3, 6, 3), 6, 6)
                painter.restore()
            return
        size, text_rect = self._layout(message, option)
        outgoing = message.direction == "out"
        left = row.right() - MARGIN - size.width() if outgoing else row.left() + MARGIN
        bubble = QRect(left, row.top() + above, size.width(), size.height())
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        in_bubble, in_text = incoming_colours(option.palette)
        painter.setBrush(OUT_BUBBLE if outgoing else in_bubble)
        painter.drawRoundedRect(bubble, 12, 12)
        if option.state & QStyle.StateFlag.State_HasFocus or (
            option.state & QStyle.StateFlag.State_Selected
        ):
            painter.setPen(option.palette.color(QPalette.ColorRole.Highlight))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(bubble.adjusted(-2, -2, 2, 2), 13, 13)
        foreground = OUT_TEXT if outgoing else in_text
        body_font, small_font = self._fonts(option)
        quote_h, _chips = self._extras(message, option)
        if message.reply is not None:
            self._paint_quote(painter, message.reply, self._quote_rect(message, bubble, option),
                              option, foreground)  # fmt: skip
        if message.attachment is not None:
            shifted = bubble.adjusted(0, quote_h + GAP, 0, 0) if quote_h else bubble
            self._paint_picture(painter, message.attachment, shifted, foreground)
        if message.body and LINK.search(message.body):
            document = link_document(message.body, body_font, foreground, text_rect.width())
            painter.save()
            painter.translate(text_rect.translated(bubble.topLeft()).topLeft())
            document.drawContents(painter)
            painter.restore()
        elif message.body:
            painter.setFont(body_font)
            painter.setPen(foreground)
            painter.drawText(
                text_rect.translated(bubble.topLeft()),
                wrap_flags(QFontMetrics(body_font), message.body, text_rect.width()),
                message.body,
            )
        self._paint_footer(painter, message, bubble, small_font, foreground)
        painter.restore()
        if message.reactions:
            self._paint_chips(painter, message, bubble, option)

    def bubble_rect(
        self, option: QStyleOptionViewItem, index: ModelIndex
    ) -> tuple[MessageView, QRect] | None:
        """The row's message and its bubble in view coordinates (None for other rows)."""
        message = index.data(MESSAGE_ROLE)
        if not isinstance(message, MessageView) or message.kind == "system":
            return None  # a system line has no bubble (ui/system_line.py)
        size, _text = self._layout(message, option)
        row = option.rect
        outgoing = message.direction == "out"
        left = row.right() - MARGIN - size.width() if outgoing else row.left() + MARGIN
        above, _day = self._above(message, index, option)
        return message, QRect(left, row.top() + above, size.width(), size.height())

    def _quote_rect(
        self, message: MessageView, bubble: QRect, option: QStyleOptionViewItem
    ) -> QRect:
        width, height = self._measure_quote_cached(message, option)
        return QRect(bubble.left() + PADDING, bubble.top() + PADDING, width, height)

    def _measure_quote_cached(
        self, message: MessageView, option: QStyleOptionViewItem
    ) -> tuple[int, int]:
        if message.reply is None:
            return 0, 0
        max_inner = self._max_inner(option, option.rect.width() or 600)
        size, _text = self._layout(message, option)
        quote_w, quote_h = self._measure_quote(message.reply, option, max_inner)
        # The block spans the bubble's inner width, so it lines up with the text under it.
        return max(quote_w, size.width() - 2 * PADDING), quote_h

    def quote_at(self, option: QStyleOptionViewItem, index: ModelIndex, point: QPoint) -> str:
        """The id of the quoted message when ``point`` is on a bubble's quoted block, or ""."""
        found = self.bubble_rect(option, index)
        if found is None or found[0].reply is None:
            return ""
        message, bubble = found
        reply = message.reply
        if reply is None or not self._quote_rect(message, bubble, option).contains(point):
            return ""
        return reply.message_id

    def chip_rects(
        self, option: QStyleOptionViewItem, index: ModelIndex
    ) -> list[tuple[ReactionView, QRect]]:
        """Each reaction chip under the row's bubble, in view coordinates."""
        found = self.bubble_rect(option, index)
        if found is None or not found[0].reactions:
            return []
        body, _small = self._fonts(option)
        return self._chip_layout(found[0], found[1], body)

    def _paint_quote(
        self,
        painter: QPainter,
        reply: ReplyView,
        rect: QRect,
        option: QStyleOptionViewItem,
        foreground: QColor,
    ) -> None:
        """A tinted block with an edge in the text colour: the author, then one line of text
        (italic when it is only the sender's claim)."""
        body, small = self._fonts(option)
        bold = QFont(small)
        bold.setBold(True)
        author, text = quote_lines(reply)
        painter.save()
        painter.setPen(Qt.PenStyle.NoPen)
        shade = QColor(foreground)
        shade.setAlpha(40)
        painter.setBrush(shade)
        painter.drawRoundedRect(rect, 6, 6)
        painter.setBrush(foreground)
        painter.drawRect(QRect(rect.left(), rect.top() + 3, QUOTE_EDGE, rect.height() - 6))
        inner = rect.adjusted(QUOTE_EDGE + QUOTE_PAD, QUOTE_PAD, -QUOTE_PAD, -QUOTE_PAD)
        painter.setPen(foreground)
        painter.setFont(bold)
        top = QFontMetrics(bold)
        painter.drawText(
            QRect(inner.left(), inner.top(), inner.width(), top.height()),
            int(Qt.AlignmentFlag.AlignLeft),
            top.elidedText(author, Qt.TextElideMode.ElideRight, inner.width()),
        )
        line = QFont(body)
        line.setItalic(not reply.found)
        metrics = QFontMetrics(line)
        painter.setFont(line)
        painter.drawText(
            QRect(inner.left(), inner.top() + top.height(), inner.width(), metrics.height()),
            int(Qt.AlignmentFlag.AlignLeft),
            metrics.elidedText(text, Qt.TextElideMode.ElideRight, inner.width()),
        )
        painter.restore()

    def _paint_chips(
        self, painter: QPainter, message: MessageView, bubble: QRect, option: QStyleOptionViewItem
    ) -> None:
        """Pills under the bubble, the emoji at the text's size; mine outlined in the accent
        colour, as in Signal."""
        body, _small = self._fonts(option)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setFont(body)
        for reaction, rect in self._chip_layout(message, bubble, body):
            painter.setBrush(option.palette.color(QPalette.ColorRole.AlternateBase))
            pen = QPen(OUT_BUBBLE, 1.5) if reaction.mine else QPen(Qt.PenStyle.NoPen)
            painter.setPen(pen)
            painter.drawRoundedRect(rect, rect.height() / 2, rect.height() / 2)
            painter.setPen(option.palette.color(QPalette.ColorRole.Text))
            painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), chip_text(reaction))
        painter.restore()

    @staticmethod
    def _chip_layout(
        message: MessageView, bubble: QRect, font: QFont
    ) -> list[tuple[ReactionView, QRect]]:
        metrics = QFontMetrics(font)
        height = metrics.height() + CHIP_PAD
        widths = [metrics.horizontalAdvance(chip_text(r)) + 2 * CHIP_PAD for r in message.reactions]
        total = sum(widths) + CHIP_GAP * (len(widths) - 1)
        x = bubble.right() - total if message.direction == "out" else bubble.left()
        rects = []
        for reaction, width in zip(message.reactions, widths, strict=True):
            rects.append((reaction, QRect(x, bubble.bottom() + GAP, width, height)))
            x += width + CHIP_GAP
        return rects

    def link_at(self, option: QStyleOptionViewItem, index: ModelIndex, point: QPoint) -> str:
        """The link under ``point`` (view coordinates) in the row's bubble, or ""."""
        found = self.bubble_rect(option, index)
        if found is None or not LINK.search(found[0].body):
            return ""
        message, bubble = found
        _size, text_rect = self._layout(message, option)
        origin = text_rect.translated(bubble.topLeft()).topLeft()
        body_font, _small = self._fonts(option)
        document = link_document(message.body, body_font, IN_TEXT, text_rect.width())
        return str(document.documentLayout().anchorAt(QPointF(point - origin)))

    def _paint_picture(
        self, painter: QPainter, attachment: AttachmentView, bubble: QRect, foreground: QColor
    ) -> None:
        size = thumbnail_size(attachment)
        target = QRect(bubble.left() + PADDING, bubble.top() + PADDING, size.width(), size.height())
        pixmap = self._thumbnails.get(attachment)
        if pixmap is not None:
            centred = QRect(0, 0, pixmap.width(), pixmap.height())
            centred.moveCenter(target.center())
            painter.drawPixmap(centred, pixmap)
            return
        painter.setPen(foreground)
        painter.setBrush(QColor(0, 0, 0, 30))
        painter.drawRect(target)
        failed = self._thumbnails.failed(attachment.id)
        label = "picture could not be shown" if failed else "loading picture…"
        painter.drawText(target, int(Qt.AlignmentFlag.AlignCenter), label)

    @staticmethod
    def _paint_footer(
        painter: QPainter, message: MessageView, bubble: QRect, font: QFont, foreground: QColor
    ) -> None:
        painter.setFont(font)
        height = QFontMetrics(font).height()
        footer = QRect(
            bubble.left() + PADDING,
            bubble.bottom() - PADDING - height,
            bubble.width() - 2 * PADDING,
            height,
        )
        stamp = clock_time(message.sent_at)
        painter.setPen(foreground)
        right = int(Qt.AlignmentFlag.AlignRight)
        if message.direction != "out":
            painter.drawText(footer, right, stamp)
            return
        ticks = STATUS_TICKS[message.status]
        tick_w = QFontMetrics(font).horizontalAdvance(ticks)
        painter.drawText(footer.adjusted(0, 0, -tick_w - 10, 0), right, stamp)
        if message.status == "read":
            # Read: the ticks in the bubble's colour on a white badge, visible at a glance.
            badge = QRect(footer.right() - tick_w - 4, footer.top(), tick_w + 6, height)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(READ_BADGE)
            painter.drawRoundedRect(badge, height / 2, height / 2)
            painter.setPen(OUT_BUBBLE)
            painter.drawText(badge, int(Qt.AlignmentFlag.AlignCenter), ticks)
            return
        colour = FAILED if message.status in ("failed", "rejected") else foreground
        painter.setPen(colour)
        painter.drawText(footer, right, ticks)
