"""First run: a display name, a relay, and where the database key lives; then the unlock screen.

These dialogs only collect answers. The caller (ui/session.py) creates or opens the account on
the core thread, and shows the core's error here (``show_error``) so that the person can retry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from parley.ui.passphrase import PassphraseFields
from parley.ui.settings_dialog import KEYCHAIN_TEXT, UNLOCK_WORDS_TEXT
from parley.ui.widgets import ErrorLabel, keep_whole, named
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from parley.variant import config as build_config

EMBEDDED_RELAY_URL = "ws://127.0.0.1:7771"


@dataclass(frozen=True)
class NewAccount:
    """What the person chose on the first-run screen."""

    display_name: str
    relay_url: str
    embedded_relay: bool
    key_storage: Literal["keyring", "passphrase"]
    passphrase: str | None = field(default=None, repr=False)


class OnboardingDialog(QDialog):
    """Create an account: every choice explained, nothing hidden behind defaults."""

    def __init__(self, *, keyring_available: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Welcome to Parley ({build_config().describe()})")
        named(self, "Create your Parley account")
        keep_whole(self, min_width=520)
        intro = QLabel(
            "Parley has no phone numbers and no accounts on a server: your identity is a key "
            "pair made on this computer. Choose a name your contacts will see.",
            self,
        )
        intro.setWordWrap(True)
        self.display_name = named(QLineEdit(self), "Display name", "The name contacts see")
        self.display_name.setMaxLength(64)
        self.embedded = named(
            QCheckBox("Try Parley on this computer only (a local relay)", self),
            "Use the embedded local relay",
        )
        self.embedded_note = named(
            QLabel(
                "Nobody else can reach you on the local relay: it is for trying Parley between "
                "two profiles on this computer. To talk to other people, untick it and enter "
                "the address of a relay you and they use.",
                self,
            ),
            "About the local relay",
        )
        self.embedded_note.setWordWrap(True)
        self.relay_url = named(
            QLineEdit(self), "Relay URL", "The relay that holds your mail, e.g. wss://relay.example"
        )
        self.relay_url.setPlaceholderText("wss://relay.example.org")
        profile = QGroupBox("You", self)
        profile_form = QFormLayout(profile)
        profile_form.addRow("Display name:", self.display_name)
        profile_form.addRow("Relay:", self.relay_url)
        profile_form.addRow("", self.embedded)
        profile_form.addRow(self.embedded_note)

        storage = QGroupBox("Where the key to your messages lives", self)
        storage_layout = QVBoxLayout(storage)
        self.keyring = named(QRadioButton("System keychain", storage), "System keychain")
        self.passphrase_choice = named(QRadioButton("A passphrase", storage), "Passphrase")
        keychain_text = QLabel(KEYCHAIN_TEXT, storage)
        passphrase_text = QLabel(UNLOCK_WORDS_TEXT, storage)
        for label in (keychain_text, passphrase_text):
            label.setWordWrap(True)
        if not keyring_available:
            self.keyring.setEnabled(False)
            keychain_text.setText(
                "No system keychain was found on this computer, so Parley will not store the "
                "key there (it never falls back to keeping it in a plain file)."
            )
        self.fields = PassphraseFields(storage)
        for choice in (self.keyring, keychain_text, self.passphrase_choice, passphrase_text):
            storage_layout.addWidget(choice)
        storage_layout.addWidget(self.fields)
        (self.keyring if keyring_available else self.passphrase_choice).setChecked(True)

        self.error = ErrorLabel(self)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.create_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.create_button.setText("Create account")
        named(self.create_button, "Create account")
        quit_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        quit_button.setText("Quit")
        named(quit_button, "Quit")
        self.buttons.accepted.connect(self._accept_if_ready)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (intro, profile, storage, self.error, self.buttons):
            layout.addWidget(widget)
        for signal in (
            self.display_name.textChanged,
            self.relay_url.textChanged,
            self.embedded.toggled,
            self.keyring.toggled,
            self.fields.changed,
        ):
            signal.connect(self._refresh)
        # An error about the old choice (a refused keychain) must not linger under the new one.
        self.keyring.toggled.connect(lambda _on: self.error.show_message(""))
        self.embedded.setChecked(True)
        self._refresh()

    def _refresh(self) -> None:
        embedded = self.embedded.isChecked()
        if embedded:
            self.relay_url.setText(EMBEDDED_RELAY_URL)
        self.relay_url.setReadOnly(embedded)
        self.embedded_note.setVisible(embedded)
        self.fields.setVisible(self.passphrase_choice.isChecked())
        self.create_button.setEnabled(self.problem() is None)

    def problem(self) -> str | None:
        """Why the account cannot be created yet (None when it can)."""
        if not self.display_name.text().strip():
            return "Choose a display name."
        url = self.relay_url.text().strip()
        if not url.startswith(("ws://", "wss://")):
            return "The relay URL starts with wss:// (or ws:// for a relay on this computer)."
        if self.passphrase_choice.isChecked() and not self.fields.valid:
            return "Type the same passphrase twice (at least 8 characters)."
        return None

    def _accept_if_ready(self) -> None:
        problem = self.problem()
        if problem is not None:
            self.error.show_message(problem)
            return
        self.accept()

    def result_account(self) -> NewAccount:
        passphrase = self.passphrase_choice.isChecked()
        return NewAccount(
            display_name=self.display_name.text().strip(),
            relay_url=self.relay_url.text().strip(),
            embedded_relay=self.embedded.isChecked(),
            key_storage="passphrase" if passphrase else "keyring",
            passphrase=self.fields.passphrase() if passphrase else None,
        )

    def show_error(self, message: str) -> None:
        self.create_button.setEnabled(True)
        self.error.show_message(message)


class UnlockDialog(QDialog):
    """Ask for the passphrase; a wrong one shows the core's message and the field stays."""

    def __init__(self, profile: Path | str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Unlock Parley")
        named(self, "Unlock Parley")
        keep_whole(self, min_width=380)
        # The account's name is inside the encrypted store: before unlocking only the folder is
        # known, and a folder name ("parley") reads as nonsense in a sentence. It is a tooltip.
        intro = QLabel("Parley is locked. Type your passphrase to open your messages.", self)
        intro.setToolTip(f"Profile folder: {profile}")
        intro.setWordWrap(True)
        self.passphrase = named(QLineEdit(self), "Passphrase", "The passphrase that unlocks Parley")
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = ErrorLabel(self)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.unlock = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.unlock.setText("Unlock")
        named(self.unlock, "Unlock")
        quit_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        quit_button.setText("Quit")
        named(quit_button, "Quit")
        self.buttons.rejected.connect(self.reject)
        # Progress is not an error: plain text, apart from the red error label.
        self.progress = named(QLabel("", self), "Progress")
        self.progress.hide()
        layout = QVBoxLayout(self)
        for widget in (intro, self.passphrase, self.progress, self.error, self.buttons):
            layout.addWidget(widget)

    def show_progress(self, text: str) -> None:
        self.error.show_message("")
        self.progress.setText(text)
        self.progress.setVisible(bool(text))

    def show_error(self, message: str) -> None:
        self.progress.hide()
        self.unlock.setEnabled(True)
        self.passphrase.selectAll()
        self.passphrase.setFocus()
        self.error.show_message(message)
