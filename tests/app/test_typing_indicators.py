"""When typing indicators go out and how long one is shown (app/typing_indicators.py, sans-I/O:
every call takes ``now``)."""

from __future__ import annotations

from parley.app.typing_indicators import (
    IDLE_S,
    REFRESH_S,
    SHOWN_FOR_S,
    Action,
    TypingSender,
    TypingShown,
)


def test_one_started_per_refresh_interval_however_fast_the_keys_come() -> None:
    sender = TypingSender()
    sent = []
    for tenth in range(int(REFRESH_S * 10 * 2) + 1):  # a key every 0.1 s for 2 intervals
        sent += sender.keystroke("c1", tenth / 10, empty=False)
    assert sent == [Action("c1", "started")] * 3  # at 0, REFRESH_S and 2 * REFRESH_S


def test_stopped_after_an_idle_pause_and_only_once() -> None:
    sender = TypingSender()
    assert sender.keystroke("c1", 100.0, empty=False) == [Action("c1", "started")]
    assert sender.tick(100.0 + IDLE_S - 0.1) == []
    assert sender.tick(100.0 + IDLE_S) == [Action("c1", "stopped")]
    assert sender.tick(100.0 + IDLE_S + 10) == []
    assert not sender.typing


def test_stopped_when_the_text_is_cleared_or_sent_and_nothing_when_never_started() -> None:
    sender = TypingSender()
    assert sender.stop() == []
    assert sender.keystroke("c1", 0.0, empty=True) == []
    sender.keystroke("c1", 1.0, empty=False)
    assert sender.keystroke("c1", 1.5, empty=True) == [Action("c1", "stopped")]
    sender.keystroke("c1", 2.0, empty=False)
    assert sender.stop() == [Action("c1", "stopped")]  # sent
    assert sender.keystroke("c1", 2.1, empty=False) == [Action("c1", "started")]  # a new one


def test_another_conversation_stops_the_first() -> None:
    sender = TypingSender()
    sender.keystroke("c1", 0.0, empty=False)
    assert sender.keystroke("c2", 0.5, empty=False) == [
        Action("c1", "stopped"),
        Action("c2", "started"),
    ]


def test_shown_until_stopped_or_a_message_or_expiry_without_refresh() -> None:
    shown = TypingShown()
    shown.received("c1", True, 10.0)
    assert shown.is_typing("c1", 10.0 + SHOWN_FOR_S - 0.1)
    assert not shown.is_typing("c1", 10.0 + SHOWN_FOR_S)  # not refreshed: expired
    assert shown.next_expiry(30.0) is None
    shown.received("c1", True, 40.0)
    shown.received("c1", True, 50.0)  # refreshed
    assert shown.is_typing("c1", 40.0 + SHOWN_FOR_S + 1)
    assert shown.next_expiry(51.0) == SHOWN_FOR_S - 1
    shown.received("c1", False, 52.0)
    assert not shown.is_typing("c1", 52.0)
    shown.received("c2", True, 60.0)
    shown.message_arrived("c2")
    assert not shown.is_typing("c2", 60.0)
    assert not shown.is_typing("unknown", 0.0)
