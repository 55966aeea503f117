"""Passphrase entry twice with an honest strength hint; shared by onboarding and settings."""

from __future__ import annotations

import math

from parley.ui.widgets import named
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QWidget

MIN_LENGTH = 8


def strength_hint(passphrase: str) -> str:
    """A rough guess of how hard the passphrase is to guess, in words a person can act on.

    It estimates entropy from length and the kinds of characters used; it cannot know about
    dictionary words, so it says so when it is unsure.
    """
    if not passphrase:
        return ""
    if len(passphrase) < MIN_LENGTH:
        return f"Too short: use at least {MIN_LENGTH} characters (four or more words is best)."
    pool = 0
    pool += 26 if any(c.islower() for c in passphrase) else 0
    pool += 26 if any(c.isupper() for c in passphrase) else 0
    pool += 10 if any(c.isdigit() for c in passphrase) else 0
    pool += 33 if any(not c.isalnum() for c in passphrase) else 0
    bits = len(passphrase) * math.log2(max(pool, 2))
    if len(set(passphrase)) <= 3:
        bits = min(bits, 20.0)
    if bits < 50:
        return "Weak: easy to guess for someone who copies your files. Add more words."
    if bits < 80:
        return "Fair: fine against casual guessing; a few more words make it strong."
    return "Strong, unless it is a well-known phrase."


class PassphraseFields(QWidget):
    """Two fields and a hint; ``changed`` fires whenever ``valid`` may have changed."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.first = named(QLineEdit(self), "Passphrase", "The passphrase that unlocks Parley")
        self.second = named(QLineEdit(self), "Repeat passphrase", "Type the passphrase again")
        for field in (self.first, self.second):
            field.setEchoMode(QLineEdit.EchoMode.Password)
            field.textChanged.connect(self._update)
        self.hint = named(QLabel("", self), "Passphrase strength")
        self.hint.setWordWrap(True)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Passphrase:", self.first)
        form.addRow("Repeat:", self.second)
        form.addRow("", self.hint)

    def _update(self) -> None:
        text = strength_hint(self.first.text())
        if self.second.text() and self.second.text() != self.first.text():
            text = (text + " " if text else "") + "The two passphrases differ."
        self.hint.setText(text)
        self.hint.setAccessibleDescription(text)
        self.changed.emit()

    @property
    def valid(self) -> bool:
        first = self.first.text()
        return len(first) >= MIN_LENGTH and first == self.second.text()

    def passphrase(self) -> str:
        return self.first.text()
