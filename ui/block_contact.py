"""Blocking a contact from the main window (docs/protocol.md, "Message requests and blocking").

Asked once, in a question that says what happens: their messages are no longer shown (dropped
unread), they are not told, and Parley > Blocked people… unblocks them later with their
conversation as it was. Cancel, the default, changes nothing. The block itself is the app layer's
``Messenger.block``; the conversation leaves the list when the core says so (the bridge's
``contact_blocked``), wherever the block came from.
"""

from __future__ import annotations

from parley.app.events import ConversationView
from parley.ui.bridge import CoreBridge
from parley.ui.widgets import named
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget


def question(name: str) -> str:
    """What the confirmation says before anything is blocked."""
    return (
        f"Block {name}? Nothing {name} sends from now on is shown: it is dropped unread. "
        f"{name} is not told. You can unblock them later under Parley > Blocked people…, "
        "with your conversation as it was."
    )


def ask_to_block(
    bridge: CoreBridge, conversation: ConversationView, parent: QWidget
) -> QMessageBox:
    """Open the confirmation (window-modal, not blocking); Block blocks, Cancel does nothing.

    A failure reaches the window's status bar through the bridge's ``error_raised``."""
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        f"Block {conversation.title}",
        question(conversation.title),
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        parent,
    )
    box.setTextFormat(Qt.TextFormat.PlainText)  # a name is the contact's words, never markup
    box.button(QMessageBox.StandardButton.Yes).setText("Block")
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    named(box, f"Block {conversation.title}")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def answered(_result: int) -> None:
        if box.clickedButton() is box.button(QMessageBox.StandardButton.Yes):
            bridge.call(bridge.messenger.block(conversation.contact_id))

    box.finished.connect(answered)
    box.open()
    return box
