"""Message requests: a stranger's first messages wait here until the user accepts, deletes or
blocks them (docs/protocol.md, "Message requests").

The claimed name is shown as a claim, in quotes and marked unverified, next to the identity's
fingerprint. A request that claims (without proof) to be an existing contact's new identity can
be merged into that contact, but only after the user compared the safety numbers and says they
match. Nothing is sent back to a request, not even a delivery receipt, until it is accepted.
The "Blocked…" button opens the list of blocked identities, where one can be unblocked
(ui/blocked_view.py).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from parley.app.events import RequestView
from parley.ui.blocked_view import BlockedDialog
from parley.ui.bridge import CoreBridge
from parley.ui.people_list import PeopleListDialog
from parley.ui.text import group_digits
from parley.ui.widgets import named
from PySide6.QtCore import QSize
from PySide6.QtWidgets import (
    QMessageBox,
    QPushButton,
    QWidget,
)


def describe(request: RequestView) -> str:
    """The list entry of a request (several lines, the claim marked as one)."""
    count = f"{request.message_count} message" + ("" if request.message_count == 1 else "s")
    lines = [request.label, f"{count}: {request.preview}"]
    if request.claims_to_replace is not None:
        lines.append(
            f"Says it is {request.claims_to_replace.display_name}'s new identity (not proven)."
        )
    return "\n".join(lines)


class RequestsButton(QPushButton):
    """The "Message requests (N)" entry of the main window; opens the requests dialog."""

    def __init__(self, bridge: CoreBridge, parent: QWidget | None = None) -> None:
        super().__init__("Message requests (0)", parent)
        named(self, "Message requests", "First messages from people who are not your contacts")
        self._bridge = bridge
        self.requests: list[RequestView] = []
        self.dialog: RequestsDialog | None = None
        bridge.requests_changed.connect(self.refresh)
        self.clicked.connect(self.show_requests)
        self.refresh()

    def refresh(self) -> None:
        self._bridge.call(self._bridge.messenger.requests(), self._loaded)

    def _loaded(self, requests: list[RequestView]) -> None:
        self.requests = requests
        self.setText(f"Message requests ({len(requests)})")
        if self.dialog is not None:
            self.dialog.show_requests(requests)

    def show_requests(self) -> RequestsDialog:
        if self.dialog is None:
            self.dialog = RequestsDialog(self._bridge, self.window())
            self.dialog.changed.connect(self.refresh)
        self.dialog.show_requests(self.requests)
        self.dialog.open()
        return self.dialog


class RequestsDialog(PeopleListDialog):
    """The list of requests, with Accept, Delete, Block and (for a claimed new identity) Merge;
    "Blocked…" opens the list of blocked identities."""

    def __init__(self, bridge: CoreBridge, parent: QWidget | None = None) -> None:
        super().__init__(
            bridge,
            parent,
            title="Message requests",
            intro="These people are not your contacts. Their names are what they call "
            "themselves, nothing more. Nothing is sent back, not even a delivery receipt, until "
            "you accept.",
            list_name="Requests",
            list_hint="Choose a request, then act on it",
            empty="No message requests.",
            size=QSize(520, 380),
        )
        self.accept_button = named(QPushButton("Accept", self), "Accept", "Make it a contact")
        self.delete_button = named(QPushButton("Delete", self), "Delete", "Forget the request")
        self.block_button = named(
            QPushButton("Block", self), "Block", "Drop everything this identity sends from now on"
        )
        self.merge_button = named(
            QPushButton("Merge…", self),
            "Merge into contact",
            "After comparing safety numbers: the contact's new identity",
        )
        self.blocked_button = named(
            QPushButton("Blocked…", self),
            "Blocked people",
            "See who you blocked, and unblock someone blocked by mistake",
        )
        self.needs_choice += [self.accept_button, self.delete_button, self.block_button]
        for button in self.needs_choice:
            self.buttons.addWidget(button)
        self.buttons.addStretch(1)
        self.buttons.addWidget(self.merge_button)
        self.add_row(self.blocked_button)
        self.blocked_button.clicked.connect(self.show_blocked)
        self.blocked_dialog: BlockedDialog | None = None
        self.accept_button.clicked.connect(lambda: self._act("accept"))
        self.delete_button.clicked.connect(lambda: self._act("delete"))
        self.block_button.clicked.connect(lambda: self._act("block"))
        self.merge_button.clicked.connect(self._merge)
        self.merge_box: QMessageBox | None = None
        self._enable()

    def show_blocked(self) -> BlockedDialog:
        """Open the list of blocked identities over this dialog."""
        if self.blocked_dialog is None:
            self.blocked_dialog = BlockedDialog(self._bridge, self)
            self.blocked_dialog.changed.connect(self.changed)
        self.blocked_dialog.refresh()
        self.blocked_dialog.open()
        return self.blocked_dialog

    def show_requests(self, requests: list[RequestView]) -> None:
        self.fill(requests, describe)

    def current(self) -> RequestView | None:
        entry = self.current_entry()
        return entry if isinstance(entry, RequestView) else None

    def _enable(self) -> None:
        super()._enable()
        request = self.current()
        self.merge_button.setEnabled(request is not None and request.claims_to_replace is not None)

    def _act(self, action: str) -> None:
        request = self.current()
        if request is None:
            return
        messenger = self._bridge.messenger
        work: Coroutine[Any, Any, Any]
        if action == "accept":
            work = messenger.accept_request(request.contact_id)
        elif action == "delete":
            work = messenger.delete_request(request.contact_id)
        else:
            work = messenger.block(request.contact_id)
        self._call(work)

    def _call(self, work: Coroutine[Any, Any, Any]) -> None:
        self.error.show_message("")
        done: Callable[[Any], None] = lambda _result: self.changed.emit()  # noqa: E731
        self._bridge.call(work, done, self.error.show_message)

    def _merge(self) -> None:
        request = self.current()
        if request is None or request.claims_to_replace is None:
            return
        self._bridge.call(
            self._bridge.messenger.safety_number(request.contact_id),
            lambda view: self._ask_merge(request, view.digits),
            self.error.show_message,
        )

    def _ask_merge(self, request: RequestView, digits: str) -> None:
        into = request.claims_to_replace
        if into is None:
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Compare safety numbers",
            f"Compare these numbers with {into.display_name}'s new device, in person or on a "
            f"call you trust:\n\n{group_digits(digits)}\n\nMerge only if they match: "
            f"{into.display_name}'s conversation then continues with this identity.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.button(QMessageBox.StandardButton.Yes).setText("They match: merge")
        named(box, "Compare safety numbers")
        self.merge_box = box

        def answered(_result: int) -> None:
            if box.clickedButton() is box.button(QMessageBox.StandardButton.Yes):
                self._call(self._verify_and_merge(request.contact_id, into.id))

        box.finished.connect(answered)
        box.open()

    async def _verify_and_merge(self, source: str, into: str) -> None:
        """Core thread: the user compared the numbers; mark them verified, then merge."""
        await self._bridge.messenger.set_verified(source, True)
        await self._bridge.messenger.merge_contact(source, into)
