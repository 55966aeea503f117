"""Search across all conversations; activating a result opens the conversation at the message."""

from __future__ import annotations

import html
import time

from parley.app.events import MessageView, SearchHit
from parley.ui.bridge import CoreBridge
from parley.ui.text import short_time
from parley.ui.widgets import ErrorLabel, keep_whole, named
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

HIT_ROLE = Qt.ItemDataRole.UserRole + 1
DEBOUNCE_MS = 200
#: Match markers in snippets: control characters, which typed text does not contain (a sender who
#: puts them in a message only moves a highlight in their own message).
MARK_START, MARK_END = "\x02", "\x03"
HIGHLIGHT = "background:#ffe066;color:#000"


def count_words(count: int, one: str, many: str) -> str:
    """ "1 message", "2 messages": numbers with the noun they count, in the right number."""
    return f"{count} {one if count == 1 else many}"


def highlighted(snippet: str) -> str:
    """The snippet as rich text: matches highlighted, everything else escaped."""
    parts = []
    for number, piece in enumerate(snippet.replace(MARK_END, MARK_START).split(MARK_START)):
        text = html.escape(piece)
        parts.append(
            f'<span style="background:#ffe066;color:#000">{text}</span>' if number % 2 else text
        )
    return "".join(parts)


def plain(snippet: str) -> str:
    return snippet.replace(MARK_START, "").replace(MARK_END, "")


class SearchDialog(QDialog):
    """Type to search (debounced); Enter or double-click on a result jumps to it."""

    message_chosen = Signal(object)  # MessageView

    def __init__(self, bridge: CoreBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._generation = 0
        self.setWindowTitle("Search messages")
        named(self, "Search messages")
        keep_whole(self, min_width=480)
        self.resize(520, 460)
        self.query = named(QLineEdit(self), "Search", "Words to find in all conversations")
        self.query.setPlaceholderText("Search all conversations")
        self.query.setClearButtonEnabled(True)
        self.results = named(QListWidget(self), "Search results", "Enter opens the message")
        self.summary = QLabel("", self)
        self.error = ErrorLabel(self)
        layout = QVBoxLayout(self)
        for widget in (self.query, self.summary, self.results, self.error):
            layout.addWidget(widget)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.run_query)
        self.query.textChanged.connect(lambda _text: self._timer.start())
        self.query.returnPressed.connect(self._enter)
        self.results.itemActivated.connect(self._activate)

    def run_query(self) -> None:
        """Search now for the field's text (the debounce timer calls this)."""
        self._timer.stop()
        text = self.query.text().strip()
        self._generation += 1
        generation = self._generation
        if not text:
            self.results.clear()
            self.summary.setText("")
            return

        def show(hits: list[SearchHit]) -> None:
            if generation == self._generation:
                self._show(hits)

        self._bridge.call(
            self._bridge.messenger.search(text, marks=(MARK_START, MARK_END)),
            show,
            self.error.show_message,
        )

    def _show(self, hits: list[SearchHit]) -> None:
        self.results.clear()
        now = time.time()
        for hit in hits:
            when = short_time(hit.message.sent_at, now=now)
            # Who wrote it: my own messages are mine, not the contact's.
            who = (
                f"You to {hit.conversation_title}"
                if hit.message.direction == "out"
                else hit.conversation_title
            )
            item = QListWidgetItem()
            item.setData(HIT_ROLE, hit.message)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{who}, {when}: {plain(hit.snippet)}")
            label = QLabel(
                f"<b>{html.escape(who)}</b> · {html.escape(when)}<br>{highlighted(hit.snippet)}"
            )
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setContentsMargins(4, 3, 4, 3)
            item.setSizeHint(label.sizeHint())
            self.results.addItem(item)
            self.results.setItemWidget(item, label)
        self.summary.setText(
            "No messages found."
            if not hits
            else f"{count_words(len(hits), 'message', 'messages')}, newest first."
        )
        if hits:
            self.results.setCurrentRow(0)

    def _enter(self) -> None:
        if self._timer.isActive():
            self.run_query()
            return
        item = self.results.currentItem()
        if item is not None:
            self._activate(item)

    def _activate(self, item: QListWidgetItem) -> None:
        message = item.data(HIT_ROLE)
        if isinstance(message, MessageView):
            self.message_chosen.emit(message)
            self.accept()
