"""The "what the relay saw" view: the exact frame and metadata the relay keeps for a message."""

from __future__ import annotations

import re
import time

from parley.app.events import RelayRecordView
from parley.ui.bridge import CoreBridge
from parley.ui.text import human_time
from parley.ui.widgets import ErrorLabel, keep_whole, named
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractButton,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

#: The core writes relay timestamps as "2026-12-01 13:05:03 UTC (1764594303.000)".
RELAY_STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \((\d+(?:\.\d+)?)\)$")


def local_stamp(value: str, *, now: float) -> str:
    """A relay timestamp in local human form, the exact UTC value kept beside it."""
    match = RELAY_STAMP.match(value)
    if match is None:
        return value
    utc = value.split(" (", maxsplit=1)[0]
    return f"{human_time(float(match.group(1)), now=now)} ({utc})"


def hex_dump(data_hex: str, *, width: int = 16) -> str:
    """The classic offset / hex / ASCII dump of a hex string (invalid hex is shown as is)."""
    try:
        data = bytes.fromhex(data_hex)
    except ValueError:
        return data_hex
    lines = []
    for offset in range(0, len(data), width):
        chunk = data[offset : offset + width]
        hex_part = " ".join(f"{b:02x}" for b in chunk).ljust(width * 3 - 1)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}  {hex_part}  {text}")
    return "\n".join(lines)


class RelayRecordDialog(QDialog):
    """Read-only view of one RelayRecordView."""

    def __init__(self, bridge: CoreBridge, message_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("What the relay saw")
        named(self, "What the relay saw")
        keep_whole(self, min_width=560)
        self.resize(720, 560)
        self.record: RelayRecordView | None = None
        self.explanation = QLabel("Loading…", self)
        self.explanation.setWordWrap(True)
        self.retention = named(QLabel("", self), "Retention")
        self.retention.setWordWrap(True)
        self.metadata = named(QTableWidget(0, 2, self), "Metadata the relay keeps")
        self.metadata.setHorizontalHeaderLabels(["Field", "Value"])
        self.metadata.horizontalHeader().setStretchLastSection(True)
        self.metadata.verticalHeader().setVisible(False)
        self.metadata.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for corner in self.metadata.findChildren(QAbstractButton):
            named(corner, "Select all metadata")
        self.frame = named(
            QPlainTextEdit(self), "Frame bytes", "The exact bytes the relay received, in hex"
        )
        self.frame.setReadOnly(True)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.frame.setFont(font)
        self.frame.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.error = ErrorLabel(self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        for button in buttons.buttons():
            named(button, "Close")
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.explanation, self.retention, self.metadata):
            layout.addWidget(widget)
        layout.addWidget(QLabel("Frame as received (hex):", self))
        layout.addWidget(self.frame, 1)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        bridge.call(bridge.messenger.relay_record(message_id), self._show, self._fail)

    def _fail(self, message: str) -> None:
        self.explanation.setText("")
        self.error.show_message(message)

    def _show(self, record: RelayRecordView) -> None:
        self.record = record
        self.explanation.setText(record.explanation)
        self.metadata.setRowCount(len(record.metadata))
        now = time.time()
        for row, (key, value) in enumerate(record.metadata):
            self.metadata.setItem(row, 0, QTableWidgetItem(key))
            self.metadata.setItem(row, 1, QTableWidgetItem(local_stamp(value, now=now)))
        self.metadata.resizeColumnToContents(0)
        size = len(record.frame_hex) // 2
        self.frame.setPlainText(hex_dump(record.frame_hex))
        self.frame.setAccessibleDescription(f"{size} bytes")
        if record.deleted:
            kept = (
                "The relay no longer has this frame: it deleted it when the recipient's device "
                "acknowledged it."
            )
        elif record.stored_until is not None:
            until = human_time(record.stored_until, now=time.time())
            kept = (
                "The relay holds this frame until the recipient's device acknowledges it, and "
                f"deletes it unread {until} at the latest."
            )
        else:
            kept = "The relay keeps this frame until the recipient's device acknowledges it."
        self.retention.setText(f"{kept} Size: {size} bytes.")
