"""The one object through which the desktop app talks to the core.

The core (app/) runs on its own asyncio thread (``CoreRuntime``). Widgets never await and never
touch the network, the store or the cryptography: they ask the bridge to ``call`` a coroutine of
the messenger, and get the result (or an error message meant for a person) back on the GUI thread.
The core's events arrive on the core thread; the bridge queues them, and drains the queue on the
GUI thread in batches, so that a catch-up of thousands of messages costs the GUI a few signals,
not thousands (see ``_drain``).
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, TypeVar

import shiboken6
from parley.app.api import MessengerApi
from parley.app.events import (
    CatchUpProgress,
    ConnectionChanged,
    ContactBuildChanged,
    ContactKeyChanged,
    ContactUnblocked,
    ConversationChanged,
    ErrorRaised,
    Event,
    Locked,
    MessageAdded,
    MessageRefused,
    MessageStatusChanged,
    ReactionChanged,
    RequestChanged,
    RequestRemoved,
    TypingChanged,
)
from PySide6.QtCore import QObject, Qt, Signal, Slot

log = logging.getLogger(__name__)

T = TypeVar("T")

#: The most events turned into signals per drain; the rest wait for the next turn of the GUI loop,
#: so that input and painting interleave with a long catch-up.
MAX_EVENTS_PER_DRAIN = 250


class Submitter(Protocol):
    """What the bridge needs of ``parley.app.runtime.CoreRuntime``."""

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]: ...


def describe_error(error: BaseException) -> str:
    """A message for a person: the core's errors already are one; others get their type named."""
    text = str(error).strip()
    if type(error).__module__.startswith("parley.") and text:
        return text
    return f"Something went wrong ({type(error).__name__}: {text or 'no details'})."


def _call_if_alive(callback: Callable[[Any], None], value: Any) -> None:
    """Call ``callback`` unless the widget it belongs to was closed and deleted meanwhile.

    A dialog may be closed (and deleted) while its request is still on the core thread; its
    answer then has nowhere to go and is dropped.
    """
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, QObject) and not shiboken6.isValid(owner):
        return
    try:
        callback(value)
    except RuntimeError as error:
        if "already deleted" not in str(error):
            raise
        log.debug("a result arrived after its widget was deleted: %s", error)


class CoreCalls(QObject):
    """Runs coroutines on the core thread and delivers their outcome on the GUI thread.

    Used on its own before an account is open (onboarding, unlock), and as the base of CoreBridge.
    """

    error_raised = Signal(str)
    _completed = Signal(object)

    def __init__(self, runtime: Submitter, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self._closed = False
        # Always queued, even when the core finishes before ``add_done_callback`` is attached
        # (then ``done`` runs on the GUI thread): a result never arrives inside ``call()``, so a
        # caller's state after ``call()`` returns is the state the result sees.
        self._completed.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    # ---- calls into the core ----------------------------------------------------------------

    def call(
        self,
        coro: Coroutine[Any, Any, T],
        on_result: Callable[[T], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the core thread; call ``on_result`` or ``on_error`` on the GUI thread.

        Without ``on_error`` a failure is shown through ``error_raised``, so that no error is lost.
        """
        future = self.runtime.submit(coro)

        def done(finished: concurrent.futures.Future[T]) -> None:
            # Runs on the core thread: hand the finished future to the GUI thread.
            self._completed.emit((finished, on_result, on_error))

        future.add_done_callback(done)
        return future

    @Slot(object)
    def _deliver(self, item: tuple[concurrent.futures.Future[Any], Any, Any]) -> None:
        future, on_result, on_error = item
        if self._closed or future.cancelled():
            return
        error = future.exception()
        if error is not None:
            log.info("core call failed", exc_info=error)
            message = describe_error(error)
            if on_error is None:
                self.error_raised.emit(message)
            else:
                _call_if_alive(on_error, message)
            return
        if on_result is not None:
            _call_if_alive(on_result, future.result())

    def close(self) -> None:
        """Stop delivering: results and events that arrive later are dropped."""
        self._closed = True


def _blocked(batch: list[Event]) -> list[str]:
    """The identities blocked in ``batch`` and not unblocked again later in it (an unblock
    lists its conversation again: the block must not take it away after that)."""
    blocked: list[str] = []
    for event in batch:
        if isinstance(event, RequestRemoved) and event.outcome == "blocked":
            blocked.append(event.contact_id)
        elif isinstance(event, ContactUnblocked) and event.contact_id in blocked:
            blocked.remove(event.contact_id)
    return blocked


class CoreBridge(CoreCalls):
    """Queued Qt signals for the core's events, and coroutine calls with GUI-thread callbacks.

    Signals carry batches where a burst is likely (``messages_added``, ``statuses_changed``,
    ``conversations_changed``): one model update per batch keeps the GUI responsive.
    """

    messages_added = Signal(list)  # list[MessageView], in arrival order
    # The same, less those of message requests (their names are only claims): what may notify.
    contacts_messages_added = Signal(list)  # list[MessageView]
    messages_updated = Signal(list)  # list[MessageView] whose reactions changed (loaded rows only)
    reactions_changed = Signal(list)  # list[ReactionChanged], in order: who reacted, with what
    statuses_changed = Signal(list)  # list[MessageStatusChanged], the latest per message
    conversations_changed = Signal(list)  # list[ConversationView], the latest per conversation
    contact_key_changed = Signal(object)  # ContactKeyChanged
    contact_build_changed = Signal(object)  # ContactBuildChanged
    connection_changed = Signal(object)  # ConnectionChanged
    catch_up_progress = Signal(object)  # CatchUpProgress
    locked = Signal()
    # A message request appeared, changed or went, or an identity was blocked or unblocked (so
    # the lists of requests and of blocked people are stale), once per batch.
    requests_changed = Signal()
    # An identity was blocked (a contact or a request): its conversation leaves the list.
    contact_blocked = Signal(str)  # contact id
    message_refused = Signal(object)  # MessageRefused: a delivery that cannot be shown
    typing_changed = Signal(object)  # TypingChanged: a contact started or stopped typing

    _wake = Signal()

    def __init__(
        self, runtime: Submitter, messenger: MessengerApi, parent: QObject | None = None
    ) -> None:
        super().__init__(runtime, parent)
        self.messenger = messenger
        self._lock = threading.Lock()
        self._pending: list[Event] = []
        self._wake_sent = False
        self._wake.connect(self._drain)
        messenger.subscribe(self._on_core_event)

    # ---- events from the core ----------------------------------------------------------------

    def _on_core_event(self, event: Event) -> None:
        """Core thread: queue the event; wake the GUI thread once per batch."""
        with self._lock:
            self._pending.append(event)
            if self._wake_sent:
                return
            self._wake_sent = True
        self._wake.emit()

    @Slot()
    def _drain(self) -> None:
        """GUI thread: turn queued events into signals, coalescing bursts."""
        with self._lock:
            batch = self._pending[:MAX_EVENTS_PER_DRAIN]
            del self._pending[:MAX_EVENTS_PER_DRAIN]
            more = bool(self._pending)
            self._wake_sent = more
        if more:
            self._wake.emit()  # queued behind whatever the GUI has to do meanwhile
        if self._closed:
            return
        self.dispatch(batch)

    def _forward(
        self,
        event: ContactKeyChanged
        | ContactBuildChanged
        | ConnectionChanged
        | CatchUpProgress
        | MessageRefused
        | TypingChanged
        | Locked,
    ) -> None:
        """Events the UI takes one by one, each on its own signal."""
        if isinstance(event, Locked):
            self.locked.emit()
        elif isinstance(event, TypingChanged):
            self.typing_changed.emit(event)
        elif isinstance(event, MessageRefused):
            self.message_refused.emit(event)
        elif isinstance(event, ContactKeyChanged):
            self.contact_key_changed.emit(event)
        elif isinstance(event, ContactBuildChanged):
            self.contact_build_changed.emit(event)
        elif isinstance(event, ConnectionChanged):
            self.connection_changed.emit(event)
        else:
            self.catch_up_progress.emit(event)

    def dispatch(self, batch: list[Event]) -> None:
        """Emit the signals for a batch of events (public so that tests can replay events)."""
        additions = [e for e in batch if isinstance(e, MessageAdded)]
        added = [e.message for e in additions]
        # Reactions changed: the latest state of each message.
        reactions = [e for e in batch if isinstance(e, ReactionChanged)]
        updated = {e.message.id: e.message for e in reactions}
        statuses: dict[str, MessageStatusChanged] = {}
        conversations: dict[str, Any] = {}
        requests = False
        for event in batch:
            if isinstance(event, MessageStatusChanged):
                statuses[event.message_id] = event
            elif isinstance(event, ConversationChanged):
                conversations[event.conversation.id] = event.conversation
            elif isinstance(
                event,
                ContactKeyChanged
                | ContactBuildChanged
                | ConnectionChanged
                | CatchUpProgress
                | MessageRefused
                | TypingChanged
                | Locked,
            ):
                self._forward(event)
            elif isinstance(event, ErrorRaised):
                self.error_raised.emit(event.message)
            elif isinstance(event, RequestChanged | RequestRemoved | ContactUnblocked):
                requests = True
        if added:
            self.messages_added.emit(added)
            self.contacts_messages_added.emit([e.message for e in additions if not e.request])
        if updated:
            self.messages_updated.emit(list(updated.values()))
            self.reactions_changed.emit(reactions)
        if statuses:
            self.statuses_changed.emit(list(statuses.values()))
        if conversations:
            self.conversations_changed.emit(list(conversations.values()))
        for contact_id in _blocked(batch):
            self.contact_blocked.emit(contact_id)
        if requests:
            self.requests_changed.emit()
