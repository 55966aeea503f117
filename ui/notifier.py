"""Tray icon and desktop notifications (QSystemTrayIcon, when the desktop has a tray)."""

from __future__ import annotations

from parley.app.events import MessageView, ReactionChanged
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

PREVIEW_CHARS = 80
#: How much of my message a reaction's notification quotes (the emoji and words fit beside it).
QUOTED_CHARS = 60


def notification_text(messages: list[MessageView]) -> tuple[str, str]:
    """(title, body) for a batch of incoming messages: one notification per batch."""
    senders = sorted({m.sender_name for m in messages})
    last = messages[-1]
    if len(messages) == 1:
        body = "Picture" if last.attachment is not None and not last.body else last.body
        return last.sender_name, body[:PREVIEW_CHARS]
    return ", ".join(senders), f"{len(messages)} new messages"


def notable_reactions(events: list[ReactionChanged]) -> list[ReactionChanged]:
    """The reactions worth a notification: a contact's new reaction to a message of mine. Not
    my own (``mine``), not a reaction taken back, not one on the contact's own message. (The
    core never reports a request's or a blocked identity's reaction: app/messaging.py.)"""
    return [
        e
        for e in events
        if not e.mine
        and e.emoji is not None
        and e.message.direction == "out"
        and e.message.kind == "message"
    ]


def reaction_notification_text(events: list[ReactionChanged]) -> tuple[str, str]:
    """(title, body) for a batch of notable reactions, with what a message notification shows
    (the sender's name and the text): ``Reacted 👍 to “lunch at noon?”``."""
    if len(events) > 1:
        return ", ".join(sorted({e.by for e in events})), f"{len(events)} new reactions"
    event = events[0]
    message = event.message
    if message.body:
        quoted = message.body
        if len(quoted) > QUOTED_CHARS:
            quoted = quoted[: QUOTED_CHARS - 1].rstrip() + "\u2026"
        what = f"\u201c{quoted}\u201d"
    else:
        what = "your picture" if message.attachment is not None else "your message"
    return event.by, f"Reacted {event.emoji} to {what}"


class Notifier:
    """Shows a tray icon with the unread count and pops notifications when enabled."""

    def __init__(self, window: QWidget, icon: QIcon | None) -> None:
        self.enabled = True
        self.shown: list[tuple[str, str]] = []  # what was notified, for tests and screen readers
        self._window = window
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(icon or QIcon(), window)
            menu = QMenu(window)
            menu.addAction("Show Parley", self._raise)
            menu.addAction("Quit", window.close)
            self.tray.setContextMenu(menu)
            self.tray.activated.connect(lambda _reason: self._raise())
            self.tray.setToolTip("Parley")
            self.tray.show()

    def _raise(self) -> None:
        self._window.showNormal()
        self._window.raise_()
        self._window.activateWindow()

    def set_unread(self, unread: int) -> None:
        if self.tray is not None:
            self.tray.setToolTip(f"Parley: {unread} unread" if unread else "Parley")

    def notify_messages(self, messages: list[MessageView]) -> None:
        if not self.enabled or not messages:
            return
        self._show(*notification_text(messages))

    def notify_reactions(self, events: list[ReactionChanged]) -> None:
        """Notable reactions only (``notable_reactions``); the caller has applied the same
        focus rule as for messages."""
        if not self.enabled or not events:
            return
        self._show(*reaction_notification_text(events))

    def _show(self, title: str, body: str) -> None:
        self.shown.append((title, body))
        del self.shown[:-20]
        if self.tray is not None:
            self.tray.showMessage(title, body, QSystemTrayIcon.MessageIcon.Information, 5000)

    def hide(self) -> None:
        if self.tray is not None:
            self.tray.hide()
