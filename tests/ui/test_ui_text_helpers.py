"""The helpers behind what the app shows and says: digits, times, dumps, hints, URLs, files."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parley.app.events import (
    AttachmentView,
    MessageView,
    ReactionChanged,
    ReactionView,
    ReplyView,
)
from parley.ui.composer import write_private_png
from parley.ui.embedded_relay import embedded_port
from parley.ui.errors import NotAnImage
from parley.ui.notifier import notification_text, reaction_notification_text
from parley.ui.passphrase import strength_hint
from parley.ui.relay_record_dialog import hex_dump
from parley.ui.text import group_digits, message_accessible_text, short_time
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot


def _message(direction: str = "in", body: str = "hi", **extra: object) -> MessageView:
    fields: dict[str, object] = {
        "id": "m1",
        "conversation_id": "c1",
        "seq": 1,
        "direction": direction,
        "sender_name": "Bob",
        "body": body,
        "sent_at": 1_700_000_000.0,
        "received_at": None,
        "status": "delivered",
    }
    fields.update(extra)
    return MessageView(**fields)  # type: ignore[arg-type]


def test_safety_digits_are_twelve_groups_of_five_on_three_lines() -> None:
    digits = "".join(str(i % 10) for i in range(60))
    text = group_digits(digits)
    lines = text.split("\n")
    assert len(lines) == 3
    groups = text.split()
    assert len(groups) == 12
    assert all(len(g) == 5 for g in groups)
    assert "".join(groups) == digits


def test_short_time_today_week_and_older() -> None:
    now = time.mktime((2026, 3, 11, 15, 0, 0, 0, 0, -1))
    assert short_time(now - 3600, now=now) == "14:00"
    assert short_time(now - 2 * 86400, now=now) == time.strftime(
        "%a", time.localtime(now - 2 * 86400)
    )
    assert short_time(now - 30 * 86400, now=now) == "2026-02-09"


def test_accessible_text_names_sender_picture_and_status() -> None:
    attachment = AttachmentView("a", "image/png", 10, 4, 4, "cat.png")
    incoming = message_accessible_text(_message(attachment=attachment), now=1_700_000_000.0)
    assert incoming.startswith("Bob, ")
    assert "picture cat.png" in incoming
    outgoing = message_accessible_text(_message("out", status="read"), now=1_700_000_000.0)
    assert outgoing.startswith("You, ")
    assert outgoing.endswith("(read)")


def test_accessible_text_says_what_a_reply_quotes_and_its_reactions() -> None:
    quote = ReplyView("q", "You", "lunch at noon?", True)
    claim = ReplyView("q", "Bob", "you owe me", False)
    chips = (ReactionView("\U0001f44d", 2, True), ReactionView("\u2764\ufe0f", 1, False))
    reply = message_accessible_text(_message(reply=quote, reactions=chips), now=1_700_000_000.0)
    assert "replying to You, \u201clunch at noon?\u201d: hi" in reply
    assert reply.endswith("Reactions: \U0001f44d 2 including yours, \u2764\ufe0f 1")
    forged = message_accessible_text(_message(reply=claim), now=1_700_000_000.0)
    assert "replying to Bob, not in your history, \u201cyou owe me\u201d" in forged


def test_hex_dump_offsets_hex_and_ascii() -> None:
    dump = hex_dump(b"Parley!\x00\x01".hex() * 2)
    first, second = dump.split("\n")
    assert first.startswith("00000000  50 61 72 6c 65 79 21 00 01 50")
    assert first.endswith("Parley!..Parley!")
    assert second.startswith("00000010  00 01")
    assert hex_dump("not hex") == "not hex"  # malformed input is shown, never a crash


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=200))
def test_hex_dump_round_trips(data: bytes) -> None:
    dump = hex_dump(data.hex())
    recovered = bytes.fromhex(
        "".join(line[10 : 10 + 16 * 3].replace(" ", "") for line in dump.splitlines())
    )
    assert recovered == data


def test_strength_hint_grades_and_never_praises_short_or_repetitive() -> None:
    assert strength_hint("") == ""
    assert strength_hint("abc").startswith("Too short")
    assert strength_hint("aaaaaaaaaaaaaaaaaaaaaaaaa").startswith("Weak")
    assert strength_hint("correct horse battery staple").startswith("Strong")


def test_embedded_port_accepts_only_plain_loopback_urls() -> None:
    assert embedded_port("ws://127.0.0.1:7771") == 7771
    assert embedded_port("wss://127.0.0.1:7771") is None
    assert embedded_port("ws://relay.example:7771") is None
    assert embedded_port("ws://127.0.0.1") is None
    assert embedded_port("ws://127.0.0.1:99999") is None  # malformed port: rejected, no crash
    assert embedded_port("not a url") is None


def test_one_notification_per_batch() -> None:
    title, body = notification_text([_message(body="hello")])
    assert (title, body) == ("Bob", "hello")
    title, body = notification_text([_message(body="a"), _message(body="b", sender_name="Carol")])
    assert title == "Bob, Carol"
    assert body == "2 new messages"


def test_a_reaction_notification_quotes_the_start_of_my_message() -> None:
    def said(message: MessageView, by: str = "Bob") -> tuple[str, str]:
        return reaction_notification_text([ReactionChanged(message, by, "\U0001f44d")])

    assert said(_message("out", "lunch?")) == ("Bob", "Reacted \U0001f44d to \u201clunch?\u201d")
    long = said(_message("out", "word " * 40))[1]
    assert long.endswith("word\u2026\u201d") and len(long) < 80
    picture = _message("out", "", attachment=AttachmentView("a", "image/png", 10, 4, 4, "c.png"))
    assert said(picture)[1] == "Reacted \U0001f44d to your picture"
    batch = [ReactionChanged(_message("out"), who, "\u2764\ufe0f") for who in ("Cy", "Bo", "Cy")]
    assert reaction_notification_text(batch) == ("Bo, Cy", "3 new reactions")


def test_pasted_picture_file_is_private_and_null_images_are_refused(qtbot: QtBot) -> None:
    image = QImage(8, 8, QImage.Format.Format_RGB32)
    image.fill(QColor("#123456"))
    path = write_private_png(image)
    try:
        assert path.stat().st_mode & 0o777 == 0o600
        assert QImage(str(path)).pixelColor(1, 1) == QColor("#123456")
    finally:
        path.unlink()
    with pytest.raises(NotAnImage):
        write_private_png(QImage())
