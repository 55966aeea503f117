"""Which delivered message ids the app has, is committing, or has not seen: duplicates stop here.

Delivery is at-least-once: after a reconnection, or after a relay crash that lost an ack, the relay
sends a message again. The ledger decides, without any I/O, what the client does with each
delivery, so the rule is testable on its own (tests/net/test_client_ledger.py):

- ``NEW``: hand it to the app (and remember it is being committed);
- ``IN_PROGRESS``: the same id is queued or being committed already: ignore this copy (the commit
  under way will acknowledge it);
- ``DUPLICATE``: the app committed it already: acknowledge again, do not call the app.

Memory is bounded: only the last ``window`` committed ids are remembered. An id older than that
comes back as ``NEW`` and the app's own store (keyed by message id) drops it.
"""

from __future__ import annotations

import enum
from collections import OrderedDict


class Verdict(enum.Enum):
    """What to do with one delivery."""

    NEW = "new"
    IN_PROGRESS = "in_progress"
    DUPLICATE = "duplicate"


class DeliveryLedger:
    """The client's memory of delivered message ids (mutable, one per client, no I/O)."""

    def __init__(self, window: int) -> None:
        if window < 1:
            raise ValueError("the dedupe window must hold at least one message id")
        self.window = window
        self._in_progress: set[bytes] = set()
        self._committed: OrderedDict[bytes, None] = OrderedDict()

    def receive(self, message_id: bytes) -> Verdict:
        """Classify a delivery; a ``NEW`` one is now in progress until committed or failed."""
        if message_id in self._committed:
            return Verdict.DUPLICATE
        if message_id in self._in_progress:
            return Verdict.IN_PROGRESS
        self._in_progress.add(message_id)
        return Verdict.NEW

    def committed(self, message_id: bytes) -> None:
        """The app committed it: later copies are duplicates."""
        self._in_progress.discard(message_id)
        self._committed[message_id] = None
        self._committed.move_to_end(message_id)
        while len(self._committed) > self.window:
            self._committed.popitem(last=False)

    def forget(self, message_id: bytes) -> None:
        """The app dropped it without keeping it: a later copy is new again (a resend)."""
        self._in_progress.discard(message_id)
        self._committed.pop(message_id, None)

    def failed(self, message_id: bytes) -> None:
        """The app could not commit it: a later copy is new again (and will be retried)."""
        self._in_progress.discard(message_id)

    def __len__(self) -> int:
        """How many ids are held (in progress plus remembered as committed)."""
        return len(self._in_progress) + len(self._committed)
