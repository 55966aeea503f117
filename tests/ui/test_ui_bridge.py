"""The bridge: results and events reach the GUI thread, bursts arrive as a few batched signals."""

from __future__ import annotations

import threading
from typing import Any

from parley.app.events import ConnectionChanged, ConversationChanged, MessageAdded, MessageView
from parley.ui.bridge import MAX_EVENTS_PER_DRAIN, CoreCalls, describe_error
from parley.ui.conversation_pane import LIVE_WINDOW
from parley.ui.main_window import MainWindow
from PySide6.QtCore import QThread
from pytestqt.qtbot import QtBot

from tests.ui.ui_driver import open_chat

pytest_plugins = ["ui_fixtures"]  # the fixtures: real core, real relay (see ui_fixtures.py)

WAIT_MS = 30_000


def _message(seq: int, conversation_id: str) -> MessageView:
    return MessageView(
        id=f"burst-{seq}",
        conversation_id=conversation_id,
        seq=10_000_000 + seq,
        direction="in",
        sender_name="Bob",
        body=f"burst {seq}",
        sent_at=1_700_000_000.0 + seq,
        received_at=1_700_000_000.0 + seq,
        status="delivered",
    )


def test_results_come_back_on_the_gui_thread(
    qtbot: QtBot, pair: tuple[MainWindow, MainWindow]
) -> None:
    alice, _bob = pair
    seen: list[tuple[object, bool]] = []
    gui = QThread.currentThread()
    alice.bridge.call(
        alice.bridge.messenger.conversations(),
        lambda result: seen.append((result, QThread.currentThread() is gui)),
    )
    qtbot.waitUntil(lambda: bool(seen), timeout=WAIT_MS)
    result, on_gui_thread = seen[0]
    assert on_gui_thread and isinstance(result, list) and len(result) == 1


class _FinishesFirst:
    """The real runtime, but ``submit`` returns only once the coroutine has finished: the race in
    which the core is done before ``call`` attaches its callback, made certain."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    def submit(self, coro: Any) -> Any:
        future = self.runtime.submit(coro)
        future.result(timeout=WAIT_MS / 1000)
        return future


async def _answer() -> int:
    return 42


def test_a_result_never_arrives_inside_call_even_when_the_core_was_first(
    qtbot: QtBot, runtime: Any
) -> None:
    calls = CoreCalls(_FinishesFirst(runtime))
    seen: list[int] = []
    future = calls.call(_answer(), seen.append)
    assert future.done() and seen == []  # delivered later, from the GUI thread's event loop
    qtbot.waitUntil(lambda: seen == [42], timeout=WAIT_MS)


def test_errors_become_messages_for_a_person(
    qtbot: QtBot, pair: tuple[MainWindow, MainWindow]
) -> None:
    alice, _bob = pair
    errors: list[str] = []
    alice.bridge.call(
        alice.bridge.messenger.load_attachment("no-such-picture"), None, errors.append
    )
    qtbot.waitUntil(lambda: bool(errors), timeout=WAIT_MS)
    assert errors[0] and "Traceback" not in errors[0]
    assert describe_error(ValueError("x")).startswith("Something went wrong (ValueError")


def test_a_burst_from_the_core_thread_arrives_in_batches(
    qtbot: QtBot, pair: tuple[MainWindow, MainWindow]
) -> None:
    alice, _bob = pair
    open_chat(alice)
    conversation = alice.pane.conversation
    assert conversation is not None
    qtbot.waitUntil(lambda: not alice.pane.model.loading, timeout=WAIT_MS)
    batches: list[int] = []
    conversation_signals: list[int] = []
    alice.bridge.messages_added.connect(lambda batch: batches.append(len(batch)))
    alice.bridge.conversations_changed.connect(lambda c: conversation_signals.append(len(c)))
    total = MAX_EVENTS_PER_DRAIN + 500
    before = alice.pane.model.rowCount()

    def core_thread() -> None:  # what the core does during a catch-up, on its own thread
        deliver: Any = alice.bridge._on_core_event
        for seq in range(total):
            deliver(MessageAdded(_message(seq, conversation.id)))
            deliver(ConversationChanged(conversation))
        deliver(ConnectionChanged("online", "test"))

    worker = threading.Thread(target=core_thread)
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: sum(batches) == total, timeout=WAIT_MS)
    assert len(batches) < total / 100  # coalesced: a handful of model updates, not thousands
    assert max(conversation_signals) == 1  # the same conversation, once per batch
    # At the bottom of the conversation, the model keeps a bounded window of the newest rows.
    assert alice.pane.model.rowCount() == min(before + total, LIVE_WINDOW)
    newest = alice.pane.model.message_at(alice.pane.model.rowCount() - 1)
    assert newest is not None and newest.body == f"burst {total - 1}"
