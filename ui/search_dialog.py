"""Search across all conversations; activating a result opens the conversation at the message."""

from __future__ import annotations

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

        self._bridge.call(self._bridge.messenger.search(text), show, self.error.show_message)

    def _show(self, hits: list[SearchHit]) -> None:
        self.results.clear()
        now = time.time()
        for hit in hits:
            when = short_time(hit.message.sent_at, now=now)
            item = QListWidgetItem(f"{hit.conversation_title} · {when}\n{hit.snippet}")
            item.setData(HIT_ROLE, hit.message)
            item.setData(
                Qt.ItemDataRole.AccessibleTextRole,
                f"{hit.conversation_title}, {when}: {hit.snippet}",
            )
            self.results.addItem(item)
        self.summary.setText(
            "No messages found." if not hits else f"{len(hits)} messages, newest first."
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
