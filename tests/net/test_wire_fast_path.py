"""The msgspec fast path of ``decode_client_frame`` answers exactly as the hand-written checks do:
the same frame for valid input, the same error class, code and message for everything else.

Hypothesis builds send and ack maps from valid parts and wrong ones (lengths, types, limits,
missing and extra keys, duplicate ack ids, request ids out of range) and compares both decoders.
"""

from __future__ import annotations

from typing import Any

import msgpack
from hypothesis import given, settings
from hypothesis import strategies as st
from parley.net import wire
from parley.net.errors import WireError


def outcome(decode: Any, data: bytes) -> tuple[str, object]:
    try:
        return "ok", decode(data)
    except WireError as exc:
        return type(exc).__name__, (exc.code, exc.reason, exc.request_id)


def _ids(valid: bool) -> st.SearchStrategy[Any]:
    good = st.binary(min_size=wire.MESSAGE_ID_LEN, max_size=wire.MESSAGE_ID_LEN)
    return good if valid else st.one_of(good, st.binary(max_size=20), st.text(max_size=3))


INTS = st.integers(-(2**63), 2**64 - 1)  # what msgpack can carry

fields = {
    "id": st.one_of(st.integers(0, wire.MAX_REQUEST_ID), st.integers(-5, 2**33), st.none()),
    "to": st.one_of(st.binary(min_size=32, max_size=32), st.binary(max_size=40), st.text()),
    "message_id": _ids(False),
    "payload": st.one_of(st.binary(max_size=64), INTS, st.text(max_size=4)),
    "more": st.one_of(
        st.lists(_ids(True), max_size=4),
        st.lists(_ids(False), max_size=3),
        st.none(),
        INTS,
    ),
    "extra": INTS,
}


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["send", "ack", "ping", "sent", 3]))
    obj: dict[str, Any] = {"type": kind}
    for key, strategy in fields.items():
        if draw(st.booleans()):
            obj[key] = draw(strategy)
    if "message_id" in obj and draw(st.booleans()):
        obj["more"] = [obj["message_id"]]  # an ack that names one id twice
    return bytes(msgpack.packb(obj, use_bin_type=True))


@settings(max_examples=600, deadline=None)
@given(frames())
def test_the_fast_path_and_the_hand_written_checks_agree(data: bytes) -> None:
    assert outcome(wire.decode_client_frame, data) == outcome(wire.parse_client_frame, data)


def test_oversized_payloads_and_ack_batches_keep_their_too_large_code() -> None:
    big = wire.encode(wire.Send(1, b"r" * 32, b"m" * 16, bytes(16)))
    obj = msgpack.unpackb(big)
    obj["payload"] = bytes(wire.MAX_PAYLOAD + 1)
    data = msgpack.packb(obj, use_bin_type=True)
    assert outcome(wire.decode_client_frame, data)[1][0] == "too_large"  # type: ignore[index]
    ack = {
        "type": "ack",
        "message_id": b"m" * 16,
        "more": [n.to_bytes(16, "big") for n in range(300)],
    }
    data = msgpack.packb(ack, use_bin_type=True)
    assert outcome(wire.decode_client_frame, data) == outcome(wire.parse_client_frame, data)
    assert outcome(wire.decode_client_frame, data)[1][0] == "too_large"  # type: ignore[index]
