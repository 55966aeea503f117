"""The frame shared by the message requests and the blocked people dialogs: a sentence of
explanation, a list of people (each entry a view with a ``contact_id``), a line shown when the
list is empty, a row of buttons, and an error line. The chosen entry stays chosen when the list
is refreshed; the buttons are enabled only while an entry is chosen."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from parley.ui.bridge import CoreBridge
from parley.ui.widgets import ErrorLabel, keep_whole, named
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1


class Person(Protocol):
    @property
    def contact_id(self) -> str: ...


P = TypeVar("P", bound=Person)


class PeopleListDialog(QDialog):
    """``title``, ``intro``, a list named ``list_name`` (``list_hint`` for screen readers) and
    ``empty`` when it holds nobody; subclasses add their buttons to ``buttons`` (and more rows
    with ``add_row``) and list them in ``needs_choice``."""

    changed = Signal()

    def __init__(
        self,
        bridge: CoreBridge,
        parent: QWidget | None,
        *,
        title: str,
        intro: str,
        list_name: str,
        list_hint: str,
        empty: str,
        size: QSize,
    ) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self.setWindowTitle(title)
        named(self, title)
        keep_whole(self, min_width=360)
        self.resize(size)
        explanation = QLabel(intro, self)
        explanation.setWordWrap(True)
        self.list = named(QListWidget(self), list_name, list_hint)
        self.empty = QLabel(empty, self)
        self.empty.hide()  # until the list has loaded
        self.error = ErrorLabel(self)
        self.buttons = QHBoxLayout()
        self.needs_choice: list[QPushButton] = []
        self._layout = QVBoxLayout(self)
        self._layout.addWidget(explanation)
        self._layout.addWidget(self.list, 1)
        self._layout.addWidget(self.empty)
        self._layout.addLayout(self.buttons)
        self._layout.addWidget(self.error)
        self.list.currentRowChanged.connect(lambda _row: self._enable())

    def add_row(self, *widgets: QWidget) -> None:
        """Another row of controls, left-aligned, above the error line."""
        row = QHBoxLayout()
        for widget in widgets:
            row.addWidget(widget)
        row.addStretch(1)
        self._layout.insertLayout(self._layout.count() - 1, row)

    def fill(self, entries: Sequence[P], describe: Callable[[P], str]) -> None:
        """Show ``entries`` (keeping the chosen one chosen, else choosing the first)."""
        current = self.current_entry()
        self.list.clear()
        for entry in entries:
            item = QListWidgetItem(describe(entry))
            item.setData(ENTRY_ROLE, entry)
            self.list.addItem(item)
            if current is not None and entry.contact_id == current.contact_id:
                self.list.setCurrentItem(item)
        if self.list.currentRow() < 0 and entries:
            self.list.setCurrentRow(0)
        self.empty.setVisible(not entries)
        self._enable()

    def current_entry(self) -> Person | None:
        item = self.list.currentItem()
        return None if item is None else item.data(ENTRY_ROLE)  # type: ignore[no-any-return]

    def _enable(self) -> None:
        chosen = self.current_entry() is not None
        for button in self.needs_choice:
            button.setEnabled(chosen)
