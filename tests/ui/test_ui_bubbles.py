"""Bubbles as people read them: whole words, a readable width, clickable links, clear ticks."""

from __future__ import annotations

from parley.app.events import MessageView
from parley.ui.bubble_delegate import (
    MARGIN,
    MAX_LINE_CHARS,
    PADDING,
    WRAP,
    WRAP_LONG_WORD,
    BubbleDelegate,
    wrap_flags,
)
from parley.ui.main_window import MainWindow
from parley.ui.thumbnails import ThumbnailCache
from PySide6.QtCore import QObject, QRect, QUrl, Slot
from PySide6.QtGui import QColor, QDesktopServices, QFontMetrics, QImage, QPainter
from PySide6.QtWidgets import QStyleOptionViewItem
from pytestqt.qtbot import QtBot

from tests.ui.ui_driver import WAIT_MS, click, open_chat, send

pytest_plugins = ["ui_fixtures"]  # the fixtures: real core, real relay (see ui_fixtures.py)

LINK_TEXT = "https://example.org/quokka is where the photos are, plus a café nearby"


def _message(body: str, status: str = "delivered") -> MessageView:
    return MessageView(
        id=f"m-{status}-{len(body)}",
        conversation_id="c",
        seq=1,
        direction="out",
        sender_name="Me",
        body=body,
        sent_at=1_700_000_000.0,
        received_at=1_700_000_000.0,
        status=status,  # type: ignore[arg-type]
    )


def test_words_wrap_whole_and_only_an_overlong_word_breaks(qtbot: QtBot) -> None:
    from PySide6.QtWidgets import QWidget

    metrics = QFontMetrics(QWidget().font())
    assert wrap_flags(metrics, "plus a café with words " * 10, 200) == WRAP
    assert wrap_flags(metrics, "see " + "x" * 400, 200) == WRAP_LONG_WORD


def _paint(delegate: BubbleDelegate, message: MessageView) -> QImage:
    from parley.ui.message_model import MESSAGE_ROLE
    from PySide6.QtGui import QStandardItem, QStandardItemModel

    model = QStandardItemModel()
    item = QStandardItem()
    item.setData(message, MESSAGE_ROLE)
    model.appendRow(item)
    option = QStyleOptionViewItem()
    option.rect = QRect(0, 0, 400, 80)
    height = delegate.sizeHint(option, model.index(0, 0)).height()
    option.rect = QRect(0, 0, 400, height)
    image = QImage(400, height, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    delegate.paint(painter, option, model.index(0, 0))
    painter.end()
    return image


def test_read_and_delivered_ticks_look_clearly_different(
    qtbot: QtBot, pair: tuple[MainWindow, MainWindow]
) -> None:
    alice, _bob = pair
    delegate = BubbleDelegate(ThumbnailCache(alice.bridge, alice), alice)
    delivered = _paint(delegate, _message("hello", "delivered"))
    read = _paint(delegate, _message("hello", "read"))
    assert delivered.size() == read.size()
    differing = sum(
        1
        for y in range(read.height())
        for x in range(read.width())
        if abs(QColor(read.pixel(x, y)).lightness() - QColor(delivered.pixel(x, y)).lightness())
        > 100
    )
    assert differing > 60, differing  # a white badge, not a tint of a few pixels


class _Browser(QObject):
    """Stands in for the desktop's browser through Qt's own URL-handler hook."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(url.toString())


def test_a_link_opens_with_a_click_and_bubbles_keep_a_readable_width(
    qtbot: QtBot, pair: tuple[MainWindow, MainWindow]
) -> None:
    alice, _bob = pair
    alice.resize(1900, 900)
    open_chat(alice)
    send(alice, LINK_TEXT)
    send(alice, "plus " * 120)
    view = alice.pane.view
    model = alice.pane.model
    qtbot.waitUntil(lambda: model.rowCount() >= 3, timeout=WAIT_MS)
    delegate = alice.pane.delegate
    option = QStyleOptionViewItem()
    option.font = view.font()
    option.rect = view.visualRect(model.index(model.rowCount() - 1))
    long_row = model.index(model.rowCount() - 1)
    size, _text = delegate._layout(model.message_at(long_row.row()), option)  # type: ignore[arg-type]
    cap = QFontMetrics(view.font()).averageCharWidth() * MAX_LINE_CHARS + 2 * PADDING
    assert size.width() <= cap + 2, (size.width(), cap)  # not 150 characters a line

    browser = _Browser()
    QDesktopServices.setUrlHandler("https", browser, "open")  # type: ignore[arg-type]
    try:
        row = model.index(model.rowCount() - 2)
        view.scrollTo(row)
        rect = view.visualRect(row)
        link_size, text_rect = delegate._layout(model.message_at(row.row()), option)  # type: ignore[arg-type]
        left = rect.right() - MARGIN - link_size.width()  # my bubble sits on the right
        point = rect.topLeft()
        point.setX(left + text_rect.left() + 6)
        point.setY(rect.top() + MARGIN + text_rect.top() + 5)
        click(view.viewport(), point)
        qtbot.waitUntil(lambda: bool(browser.opened), timeout=5000)
    finally:
        QDesktopServices.unsetUrlHandler("https")
    assert browser.opened == ["https://example.org/quokka"]


def test_days_are_separated_and_consecutive_messages_grouped(
    qtbot: QtBot, pair: tuple[MainWindow, MainWindow]
) -> None:
    import time

    from parley.ui.message_model import MESSAGE_ROLE
    from parley.ui.text import day_label
    from PySide6.QtGui import QStandardItem, QStandardItemModel

    now = time.time()
    assert day_label(now, now=now) == "Today"
    assert day_label(now - 86400, now=now) == "Yesterday"
    alice, _bob = pair
    delegate = BubbleDelegate(ThumbnailCache(alice.bridge, alice), alice)
    day_one = now - 2 * 86400
    rows = [
        (day_one, "out"),  # the first message: a date separator above it
        (day_one + 30, "out"),  # 30 s later, same side: grouped, close under the first
        (day_one + 600, "in"),  # the other side: a normal gap
        (now, "in"),  # a new day: a separator again
    ]
    model = QStandardItemModel()
    for number, (sent_at, direction) in enumerate(rows):
        message = MessageView(
            id=f"g{number}", conversation_id="c", seq=number, direction=direction,  # type: ignore[arg-type]
            sender_name="x", body="same text", sent_at=sent_at, received_at=sent_at,
            status="delivered",
        )  # fmt: skip
        item = QStandardItem()
        item.setData(message, MESSAGE_ROLE)
        model.appendRow(item)
    option = QStyleOptionViewItem()
    option.rect = QRect(0, 0, 500, 40)
    heights = [delegate.sizeHint(option, model.index(r, 0)).height() for r in range(4)]
    assert heights[1] < heights[2] < heights[0], heights
    assert heights[3] == heights[0], heights


def test_opening_a_conversation_marks_where_the_unread_messages_start(
    qtbot: QtBot, pair: tuple[MainWindow, MainWindow]
) -> None:
    alice, bob = pair
    open_chat(alice)
    send(alice, "first unread")
    send(alice, "second unread")
    qtbot.waitUntil(
        lambda: (c := bob.conversations.conversation_at(0)) is not None and c.unread == 3,
        timeout=WAIT_MS,
    )  # the fixture's greeting and these two
    open_chat(bob)
    model = bob.pane.model
    qtbot.waitUntil(lambda: bob.pane.delegate.unread_marker[1] == 3, timeout=WAIT_MS)
    marker_id, _count = bob.pane.delegate.unread_marker
    row = model.row_of_message(marker_id)
    assert row is not None
    message = model.message_at(row)
    assert message is not None and message.body.startswith("Hello Bob")  # the oldest unread
    option = QStyleOptionViewItem()
    option.rect = bob.pane.view.visualRect(model.index(row))
    _above, label = bob.pane.delegate._above(message, model.index(row), option)
    assert label == "3 unread messages"
