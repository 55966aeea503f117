"""Tray icon and desktop notifications (QSystemTrayIcon, when the desktop has a tray)."""

from __future__ import annotations

from parley.app.events import MessageView
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

PREVIEW_CHARS = 80


def notification_text(messages: list[MessageView]) -> tuple[str, str]:
    """(title, body) for a batch of incoming messages: one notification per batch."""
    senders = sorted({m.sender_name for m in messages})
    last = messages[-1]
    if len(messages) == 1:
        body = "Picture" if last.attachment is not None and not last.body else last.body
        return last.sender_name, body[:PREVIEW_CHARS]
    return ", ".join(senders), f"{len(messages)} new messages"


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
        title, body = notification_text(messages)
        self.shown.append((title, body))
        del self.shown[:-20]
        if self.tray is not None:
            self.tray.showMessage(title, body, QSystemTrayIcon.MessageIcon.Information, 5000)

    def hide(self) -> None:
        if self.tray is not None:
            self.tray.hide()
