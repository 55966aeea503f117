"""Typing indicators: when to send "started"/"stopped", and how long a received one is shown.

Sans-I/O: callers pass ``now`` (monotonic seconds) and get back what to send. The desktop composer
drives ``TypingSender`` (ui/typing_indicator.py); the core only sends what it is asked to when the
account's "Send typing indicators" setting is on (off by default: it tells the contact, and anyone
who can time the relay's traffic, when you are writing; docs/protocol.md, app section).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

TypingState = Literal["started", "stopped"]

#: At most one "started" per this many seconds while typing goes on (it also refreshes the
#: recipient's indicator, which expires after ``SHOWN_FOR_S``).
REFRESH_S = 5.0
#: "stopped" goes out after this long without a keystroke.
IDLE_S = 5.0
#: A received "started" is shown this long unless refreshed or stopped (Signal uses 15 s).
SHOWN_FOR_S = 15.0


@dataclass
class TypingSender:
    """The sending side for one conversation at a time."""

    conversation_id: str | None = None
    _last_started: float | None = None  # when "started" was last sent; None: not typing
    _last_key: float = 0.0

    def keystroke(self, conversation_id: str, now: float, *, empty: bool) -> list[Action]:
        """The text changed (``empty``: the composer is now empty)."""
        actions: list[Action] = []
        if conversation_id != self.conversation_id:
            actions += self.stop()  # another conversation: the last one hears "stopped"
            self.conversation_id = conversation_id
        if empty:
            return actions + self.stop()
        self._last_key = now
        if self._last_started is None or now - self._last_started >= REFRESH_S:
            self._last_started = now
            actions.append(Action(conversation_id, "started"))
        return actions

    def tick(self, now: float) -> list[Action]:
        """Called periodically: "stopped" after ``IDLE_S`` without a keystroke."""
        if self._last_started is not None and now - self._last_key >= IDLE_S:
            return self.stop()
        return []

    def stop(self) -> list[Action]:
        """The message was sent, the text cleared or the conversation left: "stopped", if
        "started" was sent."""
        if self._last_started is None or self.conversation_id is None:
            return []
        self._last_started = None
        return [Action(self.conversation_id, "stopped")]

    @property
    def typing(self) -> bool:
        return self._last_started is not None


@dataclass(frozen=True, slots=True)
class Action:
    conversation_id: str
    state: TypingState


@dataclass
class TypingShown:
    """The receiving side: who is shown as typing, per conversation, until when."""

    _until: dict[str, float] = field(default_factory=dict)

    def received(self, conversation_id: str, typing: bool, now: float) -> None:
        """A "started" (``typing``) or "stopped" from the contact of ``conversation_id``."""
        if typing:
            self._until[conversation_id] = now + SHOWN_FOR_S
        else:
            self._until.pop(conversation_id, None)

    def message_arrived(self, conversation_id: str) -> None:
        """A message from them ends their typing (their "stopped" may come later, or never)."""
        self._until.pop(conversation_id, None)

    def is_typing(self, conversation_id: str, now: float) -> bool:
        until = self._until.get(conversation_id)
        if until is None:
            return False
        if now >= until:
            del self._until[conversation_id]
            return False
        return True

    def next_expiry(self, now: float) -> float | None:
        """Seconds until the next indicator expires (to schedule a timer), or None."""
        pending = [until - now for until in self._until.values()]
        return max(0.0, min(pending)) if pending else None
