"""The people you blocked, and the way back (docs/protocol.md, "Message requests and blocking").

Opened from the main window (Parley > Blocked people…) and by the "Blocked…" button of the
message requests dialog; it lists blocked contacts (blocked from the main window,
ui/block_contact.py) and blocked requests alike. Unblock asks once, in one sentence, then puts
the identity back exactly where it was blocked from and never further: a request goes back to
the message requests (still to be accepted), a contact to the conversation list with the key,
verification and history it had. What it sent while blocked stays dropped.
"""

from __future__ import annotations

from parley.app.events import BlockedView
from parley.ui.bridge import CoreBridge
from parley.ui.people_list import PeopleListDialog
from parley.ui.widgets import named
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget


def _goes_back(blocked: BlockedView) -> str:
    if blocked.was == "accepted":
        return "your contact again, as before"
    return "a message request again, for you to accept or not"


def describe(blocked: BlockedView) -> str:
    """The list entry of a blocked identity (its label, where unblocking puts it, the drops)."""
    lines = [blocked.label, f"Unblocking makes it {_goes_back(blocked)}."]
    if blocked.dropped:
        many = "message" if blocked.dropped == 1 else "messages"
        lines.append(f"{blocked.dropped} {many} dropped unread while blocked.")
    return "\n".join(lines)


def question(blocked: BlockedView) -> str:
    """The one sentence Unblock asks before it acts."""
    return (
        f"Unblock {blocked.label}? It becomes {_goes_back(blocked)}; "
        "what it sent while blocked stays dropped."
    )


class BlockedDialog(PeopleListDialog):
    """The list of blocked identities, with Unblock."""

    def __init__(self, bridge: CoreBridge, parent: QWidget | None = None) -> None:
        super().__init__(
            bridge,
            parent,
            title="Blocked",
            intro="Nothing these people send reaches you: it is dropped unread. Unblocking puts "
            "someone back where they were, a message request or a contact, and nothing more.",
            list_name="Blocked people",
            list_hint="Choose someone, then Unblock",
            empty="Nobody is blocked.",
            size=QSize(500, 340),
        )
        self.unblock_button = named(
            QPushButton("Unblock…", self),
            "Unblock",
            "Put them back where they were: a message request, or your contact",
        )
        self.close_button = named(QPushButton("Close", self), "Close")
        self.buttons.addWidget(self.unblock_button)
        self.buttons.addStretch(1)
        self.buttons.addWidget(self.close_button)
        self.needs_choice.append(self.unblock_button)
        self.unblock_button.clicked.connect(self._ask)
        self.close_button.clicked.connect(self.accept)
        bridge.requests_changed.connect(self.refresh)  # a block or an unblock happened
        self.confirm: QMessageBox | None = None
        self._enable()

    def refresh(self) -> None:
        self._bridge.call(self._bridge.messenger.blocked(), self.show_blocked)

    def show_blocked(self, blocked: list[BlockedView]) -> None:
        self.fill(blocked, describe)

    def current(self) -> BlockedView | None:
        entry = self.current_entry()
        return entry if isinstance(entry, BlockedView) else None

    def _ask(self) -> None:
        blocked = self.current()
        if blocked is None:
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Unblock",
            question(blocked),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        # A request's name is only its claim: shown as typed, never as markup.
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.button(QMessageBox.StandardButton.Yes).setText("Unblock")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        named(box, "Unblock")
        self.confirm = box

        def answered(_result: int) -> None:
            if box.clickedButton() is box.button(QMessageBox.StandardButton.Yes):
                self.error.show_message("")
                self._bridge.call(
                    self._bridge.messenger.unblock(blocked.contact_id),
                    lambda _view: self.changed.emit(),
                    self.error.show_message,
                )

        box.finished.connect(answered)
        box.open()
