"""The safety number: compare 60 digits (or scan the QR code) in person, then mark verified."""

from __future__ import annotations

from parley.app.events import SafetyNumberView
from parley.ui.bridge import CoreBridge
from parley.ui.text import group_digits
from parley.ui.widgets import ErrorLabel, QrLabel, keep_whole, named
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)


class SafetyNumberDialog(QDialog):
    """Shows the safety number with a contact and lets the user mark it verified."""

    verified_changed = Signal(bool)

    def __init__(
        self, bridge: CoreBridge, contact_id: str, title: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._contact_id = contact_id
        self.view: SafetyNumberView | None = None
        self.setWindowTitle(f"Safety number with {title}")
        named(self, f"Safety number with {title}")
        keep_whole(self, min_width=460)
        intro = QLabel(
            f"Compare these numbers with the ones {title} sees, in person or on a call you trust, "
            "or scan each other's code. If they match, nobody is in the middle of your "
            "conversation.",
            self,
        )
        intro.setWordWrap(True)
        self.digits = named(QLabel("Loading…", self), "Safety number")
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPointSizeF(self.font().pointSizeF() * 1.3)
        self.digits.setFont(font)
        self.digits.setMinimumHeight(QFontMetrics(font).lineSpacing() * 3 + 12)
        self.digits.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.digits.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.qr = QrLabel("Safety number QR code", self)
        self.verified = named(
            QCheckBox("I compared the numbers: mark as verified", self),
            "Mark as verified",
            "Parley will block sending if this contact's key ever changes, until you look.",
        )
        self.verified.setEnabled(False)
        self.verified.toggled.connect(self._toggle)
        self.error = ErrorLabel(self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        for button in buttons.buttons():
            named(button, "Close")
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (intro, self.digits, self.qr, self.verified, self.error, buttons):
            layout.addWidget(widget)
        bridge.call(bridge.messenger.safety_number(contact_id), self._show, self.error.show_message)

    def _show(self, view: SafetyNumberView) -> None:
        self.view = view
        self.digits.setText(group_digits(view.digits))
        spoken = ", ".join(view.digits[i : i + 5] for i in range(0, len(view.digits), 5))
        self.digits.setAccessibleDescription(spoken)
        self.qr.show_code(view.qr_payload, scale=5)
        self.verified.blockSignals(True)
        self.verified.setChecked(view.verified)
        self.verified.blockSignals(False)
        self.verified.setEnabled(True)

    def _toggle(self, checked: bool) -> None:
        self.verified.setEnabled(False)

        def done(_: None) -> None:
            self.verified.setEnabled(True)
            self.verified_changed.emit(checked)

        def failed(message: str) -> None:
            self.verified.setEnabled(True)
            self.verified.blockSignals(True)
            self.verified.setChecked(not checked)
            self.verified.blockSignals(False)
            self.error.show_message(message)

        self._bridge.call(
            self._bridge.messenger.set_verified(self._contact_id, checked), done, failed
        )
