"""Settings: relay, database key location (and moving it), auto-lock, notifications, proxy,
typing indicators (off by default: TYPING_TEXT says why)."""

from __future__ import annotations

from parley.app.events import KeyStorageInfo, Settings
from parley.ui.bridge import CoreBridge
from parley.ui.passphrase import PassphraseFields
from parley.ui.widgets import ErrorLabel, keep_whole, named
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

KEYCHAIN_TEXT = (
    "The key that encrypts your messages on this computer is kept in the system keychain. "
    "Parley opens without asking, whenever you are logged in."
)
UNLOCK_WORDS_TEXT = (
    "The key is derived from a passphrase that only you know. Parley asks for it at every "
    "start; if you forget it, your messages cannot be recovered."
)

TYPING_TEXT = (
    "Off by default: typing indicators tell the other side, and anyone who can time the relay's "
    "traffic, when you are typing. You see your contacts' indicators either way."
)


def describe_storage(info: KeyStorageInfo) -> str:
    where = "system keychain" if info.kind == "keyring" else "your passphrase"
    backend = f" ({info.backend})" if info.backend else ""
    return f"Database key: {where}{backend}. {info.description}".strip()


class KeyStorageDialog(QDialog):
    """Move the database key to the keychain or behind a new passphrase."""

    changed = Signal(object)  # KeyStorageInfo

    def __init__(
        self, bridge: CoreBridge, current: KeyStorageInfo | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self.setWindowTitle("Where the database key lives")
        named(self, "Where the database key lives")
        keep_whole(self, min_width=440)
        self.keyring = named(
            QRadioButton("System keychain", self), "System keychain", KEYCHAIN_TEXT
        )
        self.passphrase_choice = named(
            QRadioButton("A passphrase", self), "Passphrase", UNLOCK_WORDS_TEXT
        )
        keyring_text = QLabel(KEYCHAIN_TEXT, self)
        passphrase_text = QLabel(UNLOCK_WORDS_TEXT, self)
        for label in (keyring_text, passphrase_text):
            label.setWordWrap(True)
        self.fields = PassphraseFields(self)
        (
            self.passphrase_choice if current and current.kind == "passphrase" else self.keyring
        ).setChecked(True)
        self.error = ErrorLabel(self)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.apply = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.apply.setText("Move the key")
        named(self.apply, "Move the key")
        named(self.buttons.button(QDialogButtonBox.StandardButton.Cancel), "Cancel")
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.keyring, keyring_text, self.passphrase_choice, passphrase_text):
            layout.addWidget(widget)
        layout.addWidget(self.fields)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.keyring.toggled.connect(self._refresh)
        self.fields.changed.connect(self._refresh)
        self._refresh()

    def _refresh(self) -> None:
        wants_passphrase = self.passphrase_choice.isChecked()
        self.fields.setVisible(wants_passphrase)
        self.apply.setEnabled(not wants_passphrase or self.fields.valid)

    def _submit(self) -> None:
        kind = "passphrase" if self.passphrase_choice.isChecked() else "keyring"
        passphrase = self.fields.passphrase() if kind == "passphrase" else None
        self.apply.setEnabled(False)

        def done(info: KeyStorageInfo) -> None:
            self.changed.emit(info)
            self.accept()

        def failed(message: str) -> None:
            self._refresh()
            self.error.show_message(message)

        self._bridge.call(self._bridge.messenger.change_key_storage(kind, passphrase), done, failed)


class SettingsDialog(QDialog):
    """Loads the settings and key storage from the core; Save writes them back."""

    saved = Signal(object)  # Settings

    def __init__(self, bridge: CoreBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self.key_info: KeyStorageInfo | None = None
        self.setWindowTitle("Settings")
        named(self, "Settings")
        keep_whole(self, min_width=480)
        self.relay_url = named(QLineEdit(self), "Relay URL", "The relay that holds your mail")
        self.proxy_url = named(
            QLineEdit(self), "Proxy URL", "Optional: socks5://host:port or http://host:port"
        )
        self.proxy_url.setPlaceholderText("none")
        self.auto_lock = named(
            QSpinBox(self), "Auto-lock minutes", "Lock after this many idle minutes; 0 = never"
        )
        self.auto_lock.setRange(0, 24 * 60)
        self.auto_lock.setSpecialValueText("never")
        self.auto_lock.setSuffix(" min")
        self.notifications = named(
            QCheckBox("Show desktop notifications", self), "Desktop notifications"
        )
        self.typing = named(
            QCheckBox("Send typing indicators", self), "Send typing indicators", TYPING_TEXT
        )
        typing_text = QLabel(TYPING_TEXT, self)
        typing_text.setWordWrap(True)
        self.storage = named(QLabel("Loading…", self), "Database key location")
        self.storage.setWordWrap(True)
        self.change_storage = named(
            QPushButton("Change…", self), "Change where the database key lives"
        )
        self.change_storage.clicked.connect(self._change_storage)
        network = QGroupBox("Network", self)
        network_form = QFormLayout(network)
        network_form.addRow("Relay:", self.relay_url)
        network_form.addRow("Proxy:", self.proxy_url)
        privacy = QGroupBox("Privacy and security", self)
        privacy_form = QFormLayout(privacy)
        privacy_form.addRow("Auto-lock:", self.auto_lock)
        privacy_form.addRow("", self.notifications)
        privacy_form.addRow("", self.typing)
        privacy_form.addRow("", typing_text)
        privacy_form.addRow(self.storage)
        privacy_form.addRow("", self.change_storage)
        self.error = ErrorLabel(self)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.save = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        named(self.save, "Save settings")
        named(self.buttons.button(QDialogButtonBox.StandardButton.Cancel), "Cancel")
        self.save.setEnabled(False)
        self.buttons.accepted.connect(self._save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (network, privacy, self.error, self.buttons):
            layout.addWidget(widget)
        bridge.call(bridge.messenger.settings(), self._show, self.error.show_message)
        bridge.call(bridge.messenger.key_storage(), self._show_storage, self.error.show_message)

    def _show(self, settings: Settings) -> None:
        self.relay_url.setText(settings.relay_url)
        self.proxy_url.setText(settings.proxy_url)
        self.auto_lock.setValue(settings.auto_lock_minutes)
        self.notifications.setChecked(settings.notifications)
        self.typing.setChecked(settings.typing_indicators)
        self.save.setEnabled(True)

    def _show_storage(self, info: KeyStorageInfo) -> None:
        self.key_info = info
        self.storage.setText(describe_storage(info))
        self.storage.setAccessibleDescription(self.storage.text())

    def _change_storage(self) -> None:
        dialog = KeyStorageDialog(self._bridge, self.key_info, self)
        dialog.changed.connect(self._show_storage)
        dialog.open()

    def current(self) -> Settings:
        return Settings(
            relay_url=self.relay_url.text().strip(),
            auto_lock_minutes=self.auto_lock.value(),
            notifications=self.notifications.isChecked(),
            proxy_url=self.proxy_url.text().strip(),
            typing_indicators=self.typing.isChecked(),
        )

    def _save(self) -> None:
        settings = self.current()
        self.save.setEnabled(False)

        def done(_: None) -> None:
            self.saved.emit(settings)
            self.accept()

        def failed(message: str) -> None:
            self.save.setEnabled(True)
            self.error.show_message(message)

        self._bridge.call(self._bridge.messenger.update_settings(settings), done, failed)
