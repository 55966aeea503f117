"""The typing indicator content: round trip, the same padded size as a receipt or a short text,
and strict refusal of anything else (a peer's bytes are untrusted even after they decrypt)."""

from __future__ import annotations

import msgpack
import pytest
from parley.app import content, padding
from parley.app.errors import ContentError


@pytest.mark.parametrize("state", ["started", "stopped"])
def test_typing_round_trips_padded_to_one_block(state: str) -> None:
    data = content.encode(content.Typing(state))
    assert content.decode(data) == content.Typing(state)
    # On the wire it is as long as a receipt or a short text: size does not tell it apart.
    receipt = content.encode(content.Receipt("read", (bytes(16),)))
    assert len(data) == len(receipt) == padding.BLOCK


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ({"v": 1, "t": "typing"}, "lacks"),
        ({"v": 1, "t": "typing", "state": "typing"}, "'started' or 'stopped'"),
        ({"v": 1, "t": "typing", "state": 1}, "'started' or 'stopped'"),
        ({"v": 1, "t": "typing", "state": b"started"}, "'started' or 'stopped'"),
        ({"v": 1, "t": "typing", "state": "started", "at": 1.0}, "unknown fields"),
        ({"v": 1, "t": "typing", "state": "started", "body": "hi"}, "unknown fields"),
        ({"v": 2, "t": "typing", "state": "started"}, "version"),
    ],
)
def test_malformed_typing_indicators_are_refused(obj: object, reason: str) -> None:
    with pytest.raises(ContentError, match=reason):
        content.decode(msgpack.packb(obj, use_bin_type=True))


def test_encode_refuses_an_unknown_state() -> None:
    with pytest.raises(ContentError):
        content.encode(content.Typing("paused"))
