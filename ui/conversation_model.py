"""The conversation list: one row per contact, the most recent activity first."""

from __future__ import annotations

import time
from typing import Any

from parley.app.events import ConversationView
from parley.ui.text import short_time
from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt

CONVERSATION_ROLE = Qt.ItemDataRole.UserRole + 1

ModelIndex = QModelIndex | QPersistentModelIndex


class ConversationListModel(QAbstractListModel):
    """Rows are ``ConversationView`` objects sorted by ``last_activity``, newest first."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[ConversationView] = []

    def reset(self, conversations: list[ConversationView]) -> None:
        self.beginResetModel()
        self._rows = sorted(conversations, key=lambda c: -c.last_activity)
        self.endResetModel()

    def upsert(self, conversations: list[ConversationView]) -> None:
        """Replace or add rows; a row whose activity changed moves (the selection stays)."""
        for conversation in conversations:
            row = self.row_of(conversation.id)
            if row is not None:
                self._rows[row] = conversation
                target = self._position_for(conversation, skip=row)
                if target not in (row, row + 1):
                    destination = target
                    self.beginMoveRows(QModelIndex(), row, row, QModelIndex(), destination)
                    moved = self._rows.pop(row)
                    self._rows.insert(target if target < row else target - 1, moved)
                    self.endMoveRows()
                new_row = self.row_of(conversation.id)
                if new_row is not None:
                    index = self.index(new_row)
                    self.dataChanged.emit(index, index)
            else:
                target = self._position_for(conversation, skip=None)
                self.beginInsertRows(QModelIndex(), target, target)
                self._rows.insert(target, conversation)
                self.endInsertRows()

    def remove_contact(self, contact_id: str) -> None:
        """Drop the rows of ``contact_id``'s conversations (it was blocked)."""
        for row in reversed(range(len(self._rows))):
            if self._rows[row].contact_id == contact_id:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._rows[row]
                self.endRemoveRows()

    def _position_for(self, conversation: ConversationView, skip: int | None) -> int:
        for row, other in enumerate(self._rows):
            if row != skip and other.last_activity < conversation.last_activity:
                return row
        return len(self._rows)

    def row_of(self, conversation_id: str) -> int | None:
        for row, conversation in enumerate(self._rows):
            if conversation.id == conversation_id:
                return row
        return None

    def conversation_at(self, row: int) -> ConversationView | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def conversation(self, conversation_id: str) -> ConversationView | None:
        row = self.row_of(conversation_id)
        return None if row is None else self._rows[row]

    def total_unread(self) -> int:
        return sum(c.unread for c in self._rows)

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        conversation = self._rows[index.row()]
        if role == CONVERSATION_ROLE:
            return conversation
        if role == Qt.ItemDataRole.DisplayRole:
            return conversation.title
        if role in (Qt.ItemDataRole.AccessibleTextRole, Qt.ItemDataRole.ToolTipRole):
            parts = [conversation.title]
            if conversation.unread:
                parts.append(f"{conversation.unread} unread")
            if conversation.key_changed:
                parts.append("safety number changed")
            if conversation.last_message_preview:
                when = short_time(conversation.last_activity, now=time.time())
                parts.append(f"last message {when}: {conversation.last_message_preview}")
            return ", ".join(parts)
        return None
