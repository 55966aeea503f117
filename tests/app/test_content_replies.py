"""Replies and reactions in the content format: round trips, strict refusal, and the encodings
of the version before them still read the same."""

from __future__ import annotations

import msgpack
import pytest
from parley.app import content, padding
from parley.app.errors import ContentError

QUOTE = content.Quote(b"q" * 16, b"a" * 32, "what you said")
PIC = content.PictureRef(b"k" * 32, b"d" * 32, b"ciphertext", "image/png", 4, 3, 10, "cat.png")

# What the previous version's encoder produced (the padded map, the padding cut off here): a text
# and a picture without a quote, and a read receipt. A Parley with replies reads them unchanged.
OLD_TEXT = (
    "85a17601a26174cb41d954fc40200000a174a474657874a4626f6479a568656c6c6fa46e616d65a5416c696365"
)
OLD_PICTURE = (
    "86a17601a26174cb41d954fc40200000a174a770696374757265a4626f6479a56120636174a370696388a36b6579"
    "c4206b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6ba6646967657374c420646464"
    "6464646464646464646464646464646464646464646464646464646464a464617461c40a63697068657274657874"
    "a46d696d65a9696d6167652f706e67a17704a16803a473697a650aa466696c65a76361742e706e67a46e616d65a3"
    "426f62"
)
OLD_READ = "83a17601a174a472656164a369647391c41069696969696969696969696969696969"


def pack(obj: object) -> bytes:
    data: bytes = msgpack.packb(obj, use_bin_type=True)
    return data


@pytest.mark.parametrize(
    "sample",
    [
        content.Text(1.0, "yes!", "Bob", reply=QUOTE),
        content.Text(1.0, "yes!", "Bob", b"w" * 32, 7, b"s" * 64, QUOTE),
        content.Picture(2.0, "this one", PIC, "Bob", reply=content.Quote(b"q" * 16, b"a" * 32, "")),
        content.Reaction(3.0, b"m" * 16, "\U0001f44d"),
        content.Reaction(3.5, b"m" * 16, "\u2764\ufe0f", remove=True),
        content.Reaction(4.0, b"m" * 16, "\U0001f468\u200d\U0001f469\u200d\U0001f467"),
        content.Reaction(4.0, b"m" * 16, "\U0001f1eb\U0001f1f7"),
    ],
)
def test_replies_and_reactions_round_trip(sample: content.Content) -> None:
    assert content.decode(content.encode(sample)) == sample


def test_the_previous_versions_encodings_still_read() -> None:
    for hex_map in (OLD_TEXT, OLD_PICTURE, OLD_READ):
        raw = bytes.fromhex(hex_map)
        for data in (raw, padding.pad(raw)):
            decoded = content.decode(data)
            assert getattr(decoded, "reply", None) is None
    text = content.decode(bytes.fromhex(OLD_TEXT))
    assert text == content.Text(1700000000.5, "hello", "Alice")
    # ...and what this version sends without a quote is byte for byte what the old one sent.
    assert content.encode(text) == padding.pad(bytes.fromhex(OLD_TEXT))
    picture = content.Picture(1700000000.5, "a cat", PIC, "Bob")
    assert content.encode(picture) == padding.pad(bytes.fromhex(OLD_PICTURE))
    assert content.decode(bytes.fromhex(OLD_READ)) == content.Receipt("read", (b"i" * 16,))


TEXT = {"v": 1, "t": "text", "at": 1.0, "body": "x"}
REPLY = {"id": b"q" * 16, "author": b"a" * 32, "excerpt": "hi"}
REACTION = {
    "v": 1,
    "t": "reaction",
    "at": 1.0,
    "id": b"m" * 16,
    "emoji": "\U0001f44d",
    "remove": False,
}


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        (TEXT | {"reply": "hi"}, "not a map"),
        (TEXT | {"reply": REPLY | {"extra": 1}}, "unknown fields"),
        (TEXT | {"reply": {"id": b"q" * 16, "author": b"a" * 32}}, "lacks"),
        (TEXT | {"reply": REPLY | {"id": b"q" * 15}}, "16 bytes"),
        (TEXT | {"reply": REPLY | {"author": "alice"}}, "32 bytes"),
        (TEXT | {"reply": REPLY | {"excerpt": b"bytes"}}, "excerpt"),
        (TEXT | {"reply": REPLY | {"excerpt": "x" * 201}}, "at most 200"),
        (REACTION | {"extra": 1}, "unknown fields"),
        ({k: v for k, v in REACTION.items() if k != "remove"}, "lacks"),
        (REACTION | {"remove": 0}, "true or false"),
        (REACTION | {"id": b"m" * 17}, "16 bytes"),
        (REACTION | {"at": "now"}, "time"),
        (REACTION | {"emoji": ""}, "one emoji"),
        (REACTION | {"emoji": "a"}, "not text"),
        (REACTION | {"emoji": "\U0001f44d\U0001f44d"}, "not several"),
        (REACTION | {"emoji": "\U0001f44d "}, "not several"),
        (REACTION | {"emoji": "\u202e\U0001f44d"}, "not text"),
        (REACTION | {"emoji": "\U0001f44d\u202e"}, "not several"),
        (REACTION | {"emoji": "\x1b[2J"}, "not text"),
        (REACTION | {"emoji": "\U0001f44d\u200d"}, "not several"),
        (REACTION | {"emoji": "\U0001f44d" + "\ufe0f" * 30}, "64 bytes"),
        (REACTION | {"emoji": 1}, "one emoji"),
    ],
)
def test_malformed_replies_and_reactions_are_refused(obj: object, reason: str) -> None:
    with pytest.raises(ContentError, match=reason):
        content.decode(pack(obj))


def test_encode_refuses_a_bad_emoji_and_an_overlong_excerpt() -> None:
    with pytest.raises(ContentError):
        content.encode(content.Reaction(1.0, b"m" * 16, "ok"))
    with pytest.raises(ContentError):
        content.encode(content.Text(1.0, "x", reply=content.Quote(b"q" * 16, b"a" * 32, "y" * 201)))


def test_an_excerpt_is_cut_to_the_limit() -> None:
    assert content.excerpt("short") == "short"
    cut = content.excerpt("word " * 100)
    assert len(cut) <= content.MAX_EXCERPT_CHARS and cut.endswith("\u2026")
