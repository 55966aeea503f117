"""The open conversation as a list model that holds only the pages it has loaded.

A conversation of 100k messages opens at once because the model asks the core for the newest
``PAGE`` messages only, and for the page before that when the view is scrolled to the top
(``load_older``). Rows are kept sorted by the store's ``seq``, so live messages, older pages and
status changes all find their row with a binary search.
"""

from __future__ import annotations

import bisect
import time
from dataclasses import replace
from typing import Any

from parley.app.events import MessageStatus, MessageStatusChanged, MessageView
from parley.ui.bridge import CoreBridge
from parley.ui.text import message_accessible_text
from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

PAGE = 50
#: How far along a message is; "failed" and "rejected" are final.
STATUS_ORDER: dict[MessageStatus, int] = {
    "sending": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4, "rejected": 4,
}  # fmt: skip
MESSAGE_ROLE = Qt.ItemDataRole.UserRole + 1

ModelIndex = QModelIndex | QPersistentModelIndex


class MessageListModel(QAbstractListModel):
    """Rows are ``MessageView`` objects of one conversation, oldest first."""

    page_loaded = Signal(int)  # rows inserted at the top (0 when history is exhausted)
    messages_appended = Signal(int)  # rows appended at the bottom (live messages)

    def __init__(self, bridge: CoreBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._conversation_id: str | None = None
        self._rows: list[MessageView] = []
        self._seqs: list[int] = []
        self._loading = False
        self._exhausted = False
        self._generation = 0  # bumps on every conversation switch; stale pages are dropped
        bridge.messages_added.connect(self.add_messages)
        bridge.statuses_changed.connect(self.update_statuses)
        bridge.messages_updated.connect(self.update_messages)

    # ---- loading -----------------------------------------------------------------------------

    @property
    def conversation_id(self) -> str | None:
        return self._conversation_id

    @property
    def loading(self) -> bool:
        return self._loading

    @property
    def exhausted(self) -> bool:
        """True once the oldest message of the conversation is loaded."""
        return self._exhausted

    def open(self, conversation_id: str | None) -> None:
        """Show another conversation: forget the rows, ask for its newest page."""
        self.beginResetModel()
        self._generation += 1
        self._conversation_id = conversation_id
        self._rows, self._seqs = [], []
        self._loading = False
        self._exhausted = conversation_id is None
        self.endResetModel()
        if conversation_id is not None:
            self._request(before_seq=None)

    def load_older(self) -> bool:
        """Ask for the page before the oldest loaded row; False when nothing is left or pending."""
        if self._loading or self._exhausted or self._conversation_id is None:
            return False
        self._request(before_seq=self._seqs[0] if self._seqs else None)
        return True

    def _request(self, before_seq: int | None) -> None:
        conversation_id = self._conversation_id
        if conversation_id is None:
            return
        self._loading = True
        generation = self._generation

        def loaded(page: list[MessageView]) -> None:
            if generation == self._generation:
                self._loading = False
                self._insert_page(page)

        def failed(message: str) -> None:
            if generation == self._generation:
                self._loading = False
                self._bridge.error_raised.emit(message)

        self._bridge.call(
            self._bridge.messenger.load_messages(
                conversation_id, before_seq=before_seq, limit=PAGE
            ),
            loaded,
            failed,
        )

    def _insert_page(self, page: list[MessageView]) -> None:
        if len(page) < PAGE:
            self._exhausted = True
        oldest = self._seqs[0] if self._seqs else None
        fresh = [m for m in page if m.conversation_id == self._conversation_id]
        fresh = [m for m in fresh if oldest is None or m.seq < oldest]
        fresh.sort(key=lambda m: m.seq)
        if fresh:
            self.beginInsertRows(QModelIndex(), 0, len(fresh) - 1)
            self._rows[:0] = fresh
            self._seqs[:0] = [m.seq for m in fresh]
            self.endInsertRows()
        self.page_loaded.emit(len(fresh))

    # ---- live updates --------------------------------------------------------------------------

    def add_messages(self, messages: list[MessageView]) -> None:
        """Insert (or replace) messages of this conversation, in one model update per run."""
        mine = [m for m in messages if m.conversation_id == self._conversation_id]
        if not mine:
            return
        appended: list[MessageView] = []
        for message in sorted(mine, key=lambda m: m.seq):
            row = self._row_of_seq(message.seq)
            if row is not None:
                # The same message again (a send's own result after its status events): never
                # move the ticks backwards.
                known = self._rows[row].status
                newer = STATUS_ORDER[known] <= STATUS_ORDER[message.status]
                self._rows[row] = message if newer else replace(message, status=known)
                index = self.index(row)
                self.dataChanged.emit(index, index)
            elif not self._seqs or message.seq > self._seqs[-1]:
                appended.append(message)
            elif message.seq > self._seqs[0]:
                # A gap fill in the loaded range (rare): insert in place.
                position = bisect.bisect_left(self._seqs, message.seq)
                self.beginInsertRows(QModelIndex(), position, position)
                self._rows.insert(position, message)
                self._seqs.insert(position, message.seq)
                self.endInsertRows()
            # Older than the oldest loaded row: the page that holds it will bring it.
        if appended:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(appended) - 1)
            self._rows.extend(appended)
            self._seqs.extend(m.seq for m in appended)
            self.endInsertRows()
            self.messages_appended.emit(len(appended))

    def update_messages(self, messages: list[MessageView]) -> None:
        """New reactions on loaded rows (others load with them); the ticks never go back."""
        for update in messages:
            if update.conversation_id != self._conversation_id:
                continue
            row = self._row_of_seq(update.seq)
            if row is None:
                continue
            known = self._rows[row].status
            newer = STATUS_ORDER[known] <= STATUS_ORDER[update.status]
            self._rows[row] = update if newer else replace(update, status=known)
            index = self.index(row)
            self.dataChanged.emit(index, index)

    def update_statuses(self, changes: list[MessageStatusChanged]) -> None:
        """Move delivery ticks; rows not loaded are ignored (they load with the new status)."""
        if not self._rows:
            return
        by_id = {
            c.message_id: c.status for c in changes if c.conversation_id == self._conversation_id
        }
        if not by_id:
            return
        for row in range(len(self._rows) - 1, -1, -1):
            message = self._rows[row]
            status: MessageStatus | None = by_id.pop(message.id, None)
            if status is not None and status != message.status:
                self._rows[row] = replace(message, status=status)
                index = self.index(row)
                self.dataChanged.emit(index, index)
            if not by_id:
                break

    def trim_oldest(self, keep: int) -> int:
        """Forget all but the newest ``keep`` rows (they load again when scrolled to).

        A long catch-up with the conversation open would otherwise make every relayout of the
        view, which asks the delegate for each row's size, grow with the backlog.
        """
        excess = len(self._rows) - keep
        if excess <= 0 or self._loading:
            return 0
        self.beginRemoveRows(QModelIndex(), 0, excess - 1)
        del self._rows[:excess]
        del self._seqs[:excess]
        self._exhausted = False
        self.endRemoveRows()
        return excess

    def _row_of_seq(self, seq: int) -> int | None:
        position = bisect.bisect_left(self._seqs, seq)
        if position < len(self._seqs) and self._seqs[position] == seq:
            return position
        return None

    def row_of_message(self, message_id: str) -> int | None:
        """The row of a loaded message, or None."""
        for row in range(len(self._rows) - 1, -1, -1):
            if self._rows[row].id == message_id:
                return row
        return None

    def message_at(self, row: int) -> MessageView | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def oldest_seq(self) -> int | None:
        return self._seqs[0] if self._seqs else None

    # ---- QAbstractListModel --------------------------------------------------------------------

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        message = self._rows[index.row()]
        if role == MESSAGE_ROLE:
            return message
        if role == Qt.ItemDataRole.DisplayRole:
            return message.body
        if role in (Qt.ItemDataRole.AccessibleTextRole, Qt.ItemDataRole.ToolTipRole):
            return message_accessible_text(message, now=time.time())
        return None
