"""Typing indicators in a conversation pane: what the composer tells the core, and "Alice is
typing…" above the composer.

Sending follows app/typing_indicators.TypingSender (one "started" per few seconds while keys
come, "stopped" after an idle pause, a send, a cleared field or another conversation), only while
``sending`` (the account's "Send typing indicators" setting, off by default; the main window
sets it from the core's settings). The core checks the setting again and sends nothing when it
is off, so it is enforced where the network is. Receiving is shown whatever that setting says, as
in Signal: seeing that a contact chose to share it tells them nothing about you.
"""

from __future__ import annotations

import time

from parley.app.events import MessageView, TypingChanged
from parley.app.typing_indicators import Action, TypingSender, TypingShown
from parley.ui.bridge import CoreBridge
from parley.ui.composer import Composer
from parley.ui.widgets import named
from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QWidget

#: How often the sending side looks for an idle pause (ms).
TICK_MS = 1000


class TypingIndicator(QObject):
    """Both directions for one conversation pane.

    ``label`` is the pane's "Alice is typing…" line (the pane puts it in its layout);
    ``conversation`` tells which conversation is open (the pane's current one).
    """

    def __init__(self, bridge: CoreBridge, composer: Composer, parent: QWidget) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._composer = composer
        self._sender = TypingSender()
        self._shown = TypingShown()
        self._names: dict[str, str] = {}
        self.conversation_id: str | None = None
        self._sending = False
        self.label = named(QLabel("", parent), "Typing indicator")
        self.label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        font = self.label.font()
        font.setItalic(True)
        self.label.setFont(font)
        self.label.setContentsMargins(12, 0, 12, 0)
        self.label.hide()
        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self._idle_check)
        self._expiry = QTimer(self)
        self._expiry.setSingleShot(True)
        self._expiry.timeout.connect(self._refresh)
        composer.edit.textChanged.connect(self._text_changed)
        composer.send_text.connect(lambda _text: self._send(self._sender.stop()))
        bridge.typing_changed.connect(self._received)
        bridge.messages_added.connect(self._messages_added)

    # ---- sending -------------------------------------------------------------------------------

    @property
    def sending(self) -> bool:
        return self._sending

    @sending.setter
    def sending(self, on: bool) -> None:
        """Turned off, nothing more goes out, not even "stopped" (the core's setting is already
        off): the contact's indicator expires by itself."""
        if not on:
            self._sender.stop()
            self._tick.stop()
        self._sending = on

    def open(self, conversation_id: str | None) -> None:
        """Another conversation is shown: the last one hears "stopped", the label follows."""
        if conversation_id != self.conversation_id:
            self._send(self._sender.stop())
        self.conversation_id = conversation_id
        self._refresh()

    def _text_changed(self) -> None:
        if not self._sending or self.conversation_id is None or not self._composer.isEnabled():
            return
        empty = not self._composer.edit.toPlainText().strip()
        self._send(self._sender.keystroke(self.conversation_id, time.monotonic(), empty=empty))

    def _idle_check(self) -> None:
        self._send(self._sender.tick(time.monotonic()))

    def _send(self, actions: list[Action]) -> None:
        for action in actions:
            call = self._bridge.messenger.send_typing(
                action.conversation_id, action.state == "started"
            )
            # Best effort: a typing indicator that fails is not worth telling anyone about.
            self._bridge.call(call, None, lambda _message: None)
        if self._sender.typing:
            self._tick.start()
        else:
            self._tick.stop()

    # ---- receiving -----------------------------------------------------------------------------

    def _received(self, event: TypingChanged) -> None:
        self._names[event.conversation_id] = event.display_name
        self._shown.received(event.conversation_id, event.typing, time.monotonic())
        self._refresh()

    def _messages_added(self, messages: list[MessageView]) -> None:
        for message in messages:
            if message.direction == "in":
                self._shown.message_arrived(message.conversation_id)
        self._refresh()

    def _refresh(self) -> None:
        now = time.monotonic()
        shown = self.conversation_id is not None and self._shown.is_typing(
            self.conversation_id, now
        )
        if shown and self.conversation_id is not None:
            text = f"{self._names.get(self.conversation_id, 'Your contact')} is typing\u2026"
            self.label.setText(text)
            self.label.setAccessibleDescription(text)
        self.label.setVisible(shown)
        wait = self._shown.next_expiry(now)
        if wait is None:
            self._expiry.stop()
        else:
            self._expiry.start(int(wait * 1000) + 50)
