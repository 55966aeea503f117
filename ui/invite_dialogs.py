"""Sharing my invite (text and QR code) and adding a contact from someone else's."""

from __future__ import annotations

from parley.app.errors import InvalidInvite
from parley.app.events import ContactView, InviteView
from parley.app.invite import parse as parse_invite
from parley.ui.bridge import CoreBridge
from parley.ui.widgets import ErrorLabel, QrLabel, keep_whole, named
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class InviteDialog(QDialog):
    """My invite as a code to copy and a QR code to scan."""

    def __init__(self, bridge: CoreBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("My invite")
        named(self, "My invite")
        keep_whole(self, min_width=440)
        self.invite: InviteView | None = None
        intro = QLabel(
            "Send this invite to someone you want to talk to, over any channel you trust, or "
            "let them scan the code. It holds your public keys only: it cannot be used to read "
            "your messages.",
            self,
        )
        intro.setWordWrap(True)
        self.qr = QrLabel("Invite QR code", self)
        self.code = named(QPlainTextEdit(self), "Invite code", "Your invite, ready to copy")
        self.code.setReadOnly(True)
        self.code.setMaximumHeight(90)
        self.copy = named(QPushButton("Copy invite", self), "Copy invite", "Copy to the clipboard")
        self.copy.setEnabled(False)
        self.copy.clicked.connect(self._copy)
        self.error = ErrorLabel(self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        for button in buttons.buttons():
            named(button, "Close")
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (intro, self.qr, self.code, self.copy, self.error, buttons):
            layout.addWidget(widget)
        bridge.call(bridge.messenger.my_invite(), self._show, self.error.show_message)

    def _show(self, invite: InviteView) -> None:
        self.invite = invite
        self.code.setPlainText(invite.link or invite.code)
        self.qr.show_code(invite.link or invite.code, scale=4)
        self.copy.setEnabled(True)

    def _copy(self) -> None:
        if self.invite is not None:
            QGuiApplication.clipboard().setText(self.invite.link or self.invite.code)
            self.copy.setText("Copied")


class AddContactDialog(QDialog):
    """Paste an invite; the core fetches the contact's keys and starts a session."""

    contact_added = Signal(object)  # ContactView

    def __init__(self, bridge: CoreBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self.setWindowTitle("Add a contact")
        named(self, "Add a contact")
        keep_whole(self, min_width=440)
        self.invite = named(
            QPlainTextEdit(self), "Invite", "Paste the invite code or parley: link you received"
        )
        self.invite.setPlaceholderText("Paste the invite code or parley: link")
        self.invite.setTabChangesFocus(True)
        self.invite.setMaximumHeight(90)
        self.name = named(QLineEdit(self), "Name", "Optional: how this contact is shown to you")
        self.name.setPlaceholderText("Optional")
        self.preview = named(QLabel("", self), "Invite from")
        self.preview.setTextFormat(Qt.TextFormat.PlainText)  # the name is the sender's choice
        self.preview.setWordWrap(True)
        self.preview.hide()
        self.error = ErrorLabel(self)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.add = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.add.setText("Add contact")
        named(self.add, "Add contact")
        named(self.buttons.button(QDialogButtonBox.StandardButton.Cancel), "Cancel")
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        self.invite.textChanged.connect(self._describe)
        form = QFormLayout()
        form.addRow("Invite:", self.invite)
        form.addRow("Name:", self.name)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.preview)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def prefill(self, text: str) -> None:
        """Show an invite that came from outside (a ``parley://`` link), ready to confirm.

        A link that is not a valid invite stays visible with the reason, so that the person sees
        what was opened and can paste a good one instead.
        """
        self.invite.setPlainText(text)
        try:
            parse_invite(text)
        except InvalidInvite as error:
            self.error.show_message(f"This link is not a valid invite. {error}")
            self.invite.setFocus()
            return
        self.name.setFocus()

    def _describe(self) -> None:
        """Say whose invite this is as soon as it parses: the person checks before adding."""
        self.error.show_message("")
        try:
            parsed = parse_invite(self.invite.toPlainText())
        except InvalidInvite:
            self.preview.hide()
            self.name.setPlaceholderText("Optional")
            return
        text = (
            f"An invite from \u201c{parsed.display_name}\u201d, reachable through "
            f"{parsed.relay_url}. Add it only if you expected it; then compare safety numbers."
        )
        self.preview.setText(text)
        self.preview.setAccessibleDescription(text)
        self.preview.show()
        self.name.setPlaceholderText(parsed.display_name)

    def _submit(self) -> None:
        invite = self.invite.toPlainText().strip()
        if not invite:
            self.error.show_message("Paste the invite you received first.")
            return
        self.add.setEnabled(False)
        self.error.show_message("")
        name = self.name.text().strip() or None
        self._bridge.call(self._bridge.messenger.add_contact(invite, name), self._done, self._fail)

    def _done(self, contact: ContactView) -> None:
        self.contact_added.emit(contact)
        self.accept()

    def _fail(self, message: str) -> None:
        self.add.setEnabled(True)
        self.error.show_message(message)
