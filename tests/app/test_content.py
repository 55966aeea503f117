"""The application message format: round trips, limits, and strict refusal of bad input."""

from __future__ import annotations

import contextlib

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parley.app import content, padding
from parley.app.errors import ContentError

PIC = content.PictureRef(b"k" * 32, b"d" * 32, b"ciphertext", "image/png", 4, 3, 10, "cat.png")
SAMPLES: list[content.Content] = [
    content.Text(1.5, "hello"),
    content.Text(2.0, "", "Alice", b"w" * 32),
    content.Picture(3.0, "a cat", PIC, "Bob"),
    content.Text(2.5, "new phone", "Alice", b"w" * 32, 1_800_000_000, b"s" * 64),
    content.Picture(3.5, "", PIC, None, b"w" * 32, 7, b"s" * 64),
    content.Receipt("delivered", (b"i" * 16, b"j" * 16)),
    content.Receipt("read", (b"i" * 16,)),
]


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_kind_round_trips(sample: content.Content) -> None:
    assert content.decode(content.encode(sample)) == sample


def pack(obj: object) -> bytes:
    data: bytes = msgpack.packb(obj, use_bin_type=True)
    return data


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ([1, 2], "not a map"),
        ({"v": 2, "t": "text", "at": 1.0, "body": "x"}, "version"),
        ({"v": 1, "t": "text", "at": 1.0}, "lacks"),
        ({"v": 1, "t": "text", "at": 1.0, "body": "x", "extra": 1}, "unknown fields"),
        ({"v": 1, "t": "text", "at": "now", "body": "x"}, "time"),
        ({"v": 1, "t": "text", "at": float("nan"), "body": "x"}, "time"),
        ({"v": 1, "t": "text", "at": True, "body": "x"}, "time"),
        ({"v": 1, "t": "text", "at": 1.0, "body": "x" * 16_001}, "at most"),
        ({"v": 1, "t": "text", "at": 1.0, "body": "x", "was": b"short"}, "32 bytes"),
        ({"v": 1, "t": "text", "at": 1.0, "body": "x", "was_at": 1}, "previous key, a time"),
        (
            {"v": 1, "t": "text", "at": 1.0, "body": "x", "was": b"w" * 32, "was_at": 1},
            "previous key, a time",
        ),
        (
            {
                "v": 1,
                "t": "text",
                "at": 1.0,
                "body": "x",
                "was": b"w" * 32,
                "was_at": -1,
                "was_sig": b"s" * 64,
            },
            "succession statement's time",
        ),
        ({"v": 1, "t": "video", "at": 1.0, "body": "x"}, "Unknown message type"),
        ({"v": 1, "t": "read", "ids": []}, "one or more"),
        ({"v": 1, "t": "read", "ids": [b"x" * 15]}, "16 bytes"),
    ],
)
def test_malformed_messages_are_refused_with_a_reason(obj: object, reason: str) -> None:
    with pytest.raises(ContentError, match=reason):
        content.decode(pack(obj))


def test_picture_fields_are_checked() -> None:
    good = msgpack.unpackb(padding.unpad(content.encode(SAMPLES[2])), raw=False)
    for field, value in [
        ("mime", "text/html"),
        ("w", 0),
        ("h", 10**9),
        ("key", b"k"),
        ("size", -1),
    ]:
        bad = dict(good, pic=dict(good["pic"], **{field: value}))
        with pytest.raises(ContentError):
            content.decode(pack(bad))


def test_encode_refuses_what_decode_would_refuse() -> None:
    with pytest.raises(ContentError):
        content.encode(content.Text(1.0, "x" * 20_000))


def test_not_msgpack_and_oversize_input_are_refused() -> None:
    for data in (b"", b"\xc1", b"\x92\x01", b"x" * (content.MAX_CONTENT_BYTES + 1)):
        with pytest.raises(ContentError):
            content.decode(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash_the_parser(data: bytes) -> None:
    with contextlib.suppress(ContentError):
        content.decode(data)


def test_messages_of_earlier_versions_still_read() -> None:
    """Before schema 4 a key change was a bare ``was``: it still parses (as an unproven claim)."""
    old = pack({"v": 1, "t": "text", "at": 1.0, "body": "hi", "name": "A", "was": b"w" * 32})
    assert content.decode(old) == content.Text(1.0, "hi", "A", b"w" * 32, None, None)


def test_padding_hides_the_size_of_short_messages_and_is_checked() -> None:
    receipt = content.encode(content.Receipt("delivered", (bytes(16),)))
    text = content.encode(content.Text(1.0, "see you at five, by the station", "alice"))
    assert len(receipt) == len(text) == padding.BLOCK
    assert content.decode(padding.unpad(text)) == content.decode(text)  # unpadded still reads
    for damaged in (
        text[:-1] + b"\x01",
        b"\x00",
        b"\x00\x80",
        text.replace(b"\x80\x00", b"\x81\x00"),
    ):
        with pytest.raises(ContentError):
            content.decode(damaged)
    lengths = [padding.padded_length(n) for n in (0, 158, 159, 300, 5000)]
    assert lengths == [160, 160, 176, 304, 5120]
