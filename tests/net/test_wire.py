"""The wire schema: every frame round-trips, and every class of malformed input is a WireError."""

from __future__ import annotations

import contextlib
import math

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parley.net import wire
from parley.net.errors import (
    FieldTooLarge,
    MalformedFrame,
    UnknownFrameType,
    UnsupportedVersion,
    WireError,
)

ACCOUNT = bytes(range(32))
MID = bytes(range(16))
OTHER_MID = bytes(16)

CLIENT_FRAMES: list[wire.ClientFrame] = [
    wire.Auth(1, ACCOUNT, b"s" * 64),
    wire.Auth(2, ACCOUNT, b"s" * 64, invite="let me in"),
    wire.Publish(3, b"spk", (b"a", b"b" * 128)),
    wire.Publish(4, b"spk"),
    wire.Fetch(5, ACCOUNT),
    wire.Send(2**32 - 1, ACCOUNT, MID, b"x" * wire.MAX_PAYLOAD),
    wire.Send(0, ACCOUNT, MID, b""),
    wire.Ack(MID),
    wire.Ack(MID, tuple(n.to_bytes(16) for n in range(wire.MAX_ACK_BATCH - 1))),
    wire.Auth(6, ACCOUNT, b"s" * 64, caps=(wire.CAP_BATCH, "x" * wire.MAX_CAP_LEN)),
    wire.Ping(7),
]

SERVER_FRAMES: list[wire.ServerFrame] = [
    wire.Challenge(b"n" * 32, "ws://127.0.0.1:1"),
    wire.Welcome(1, ACCOUNT, 12, registered=True),
    wire.Welcome(1, ACCOUNT, 12, caps=(wire.CAP_BATCH,)),
    wire.SentBatch((wire.Sent(4, MID, 1.5, 2.5), wire.Sent(5, OTHER_MID, 1.5, 2.5, True))),
    wire.SentBatch(tuple(wire.Sent(n, MID, 1.0, 2.0) for n in range(wire.MAX_RECEIPT_BATCH))),
    wire.Published(2, 100),
    wire.Bundle(3, ACCOUNT, b"spk", b"otpk"),
    wire.Bundle(3, ACCOUNT, b"spk", None),
    wire.Sent(4, MID, 1.5, 2.5, duplicate=True),
    wire.Deliver(ACCOUNT, MID, b"payload", 3.25),
    wire.DeliverBatch(
        (wire.Deliver(ACCOUNT, MID, b"p", 3.25), wire.Deliver(ACCOUNT, OTHER_MID, b"", 4))
    ),
    wire.DeliverBatch(
        tuple(wire.Deliver(ACCOUNT, MID, b"", 1.0) for _ in range(wire.MAX_DELIVER_BATCH))
    ),
    wire.PrekeysLow(3, 10),
    wire.Pong(9),
    wire.Error("rate_limited", "slow down", 4, MID),
    wire.Error("bad_frame", "nope"),
]


@pytest.mark.parametrize("frame", CLIENT_FRAMES, ids=lambda f: type(f).__name__)
def test_client_frames_round_trip(frame: wire.ClientFrame) -> None:
    assert wire.decode_client_frame(wire.encode(frame)) == frame


@pytest.mark.parametrize("frame", SERVER_FRAMES, ids=lambda f: type(f).__name__)
def test_server_frames_round_trip(frame: wire.ServerFrame) -> None:
    assert wire.decode_server_frame(wire.encode(frame)) == frame


@settings(max_examples=50, deadline=None)
@given(
    sender=st.binary(min_size=32, max_size=32),
    message_id=st.binary(min_size=16, max_size=16),
    payload=st.binary(max_size=64),
    at=st.floats(allow_nan=False),
    request_id=st.integers(0, 2**32 - 1),
    duplicate=st.booleans(),
)
def test_the_fast_encoders_match_encode(
    sender: bytes, message_id: bytes, payload: bytes, at: float, request_id: int, duplicate: bool
) -> None:
    deliver = wire.Deliver(sender, message_id, payload, at)
    assert wire.encode_deliver(sender, message_id, payload, at) == wire.encode(deliver)
    assert wire.decode_server_frame(wire.encode_deliver(sender, message_id, payload, at)) == deliver
    sent = wire.Sent(request_id, message_id, at, at + 1, duplicate)
    fast = wire.encode_sent(request_id, message_id, at, at + 1, duplicate)
    assert fast == wire.encode(sent)
    assert wire.decode_server_frame(fast) == sent


def test_each_side_refuses_the_other_sides_frames() -> None:
    with pytest.raises(UnknownFrameType):
        wire.decode_client_frame(wire.encode(wire.Pong(1)))
    with pytest.raises(UnknownFrameType):
        wire.decode_server_frame(wire.encode(wire.Ping(1)))


def test_unknown_keys_are_ignored() -> None:
    data = msgpack.packb({"type": "ping", "id": 3, "future": [1, 2, {"x": b"y"}]})
    assert wire.decode_client_frame(data) == wire.Ping(3)


def test_payload_is_not_in_the_repr() -> None:
    assert "secret" not in repr(wire.Send(1, ACCOUNT, MID, b"secret"))
    assert "secret" not in repr(wire.Deliver(ACCOUNT, MID, b"secret", 1.0))
    assert "hunter2" not in repr(wire.Auth(1, ACCOUNT, b"s" * 64, invite="hunter2"))


def test_auth_message_binds_context_relay_and_nonce() -> None:
    message = wire.auth_message("ws://r", b"n" * 32)
    assert message == b"parley relay auth v1\x00" + b"\x00\x06ws://r" + b"n" * 32
    assert wire.auth_message("ws://q", b"n" * 32) != message
    with pytest.raises(MalformedFrame):
        wire.auth_message("ws://r", b"short")


def _send(**overrides: object) -> bytes:
    frame: dict[str, object] = {
        "type": "send",
        "id": 1,
        "to": ACCOUNT,
        "message_id": MID,
        "payload": b"p",
    }
    frame.update(overrides)
    return msgpack.packb({k: v for k, v in frame.items() if v is not _DROP})


_DROP = object()

MALFORMED: list[tuple[str, object, type[WireError], str]] = [
    ("text frame", "hello", MalformedFrame, "bad_frame"),
    ("not msgpack", b"\xc1", MalformedFrame, "bad_frame"),
    ("truncated", _send()[:-3], MalformedFrame, "bad_frame"),
    ("trailing bytes", _send() + b"\x00", MalformedFrame, "bad_frame"),
    ("empty", b"", MalformedFrame, "bad_frame"),
    ("array", msgpack.packb([1, 2]), MalformedFrame, "bad_frame"),
    ("integer", msgpack.packb(5), MalformedFrame, "bad_frame"),
    ("integer key", msgpack.packb({1: 2}), MalformedFrame, "bad_frame"),
    ("no type", msgpack.packb({"id": 1}), MalformedFrame, "bad_frame"),
    ("bytes type", msgpack.packb({"type": b"send", "id": 1}), MalformedFrame, "bad_frame"),
    ("unknown type", msgpack.packb({"type": "launch"}), UnknownFrameType, "unknown_type"),
    ("id is bool", _send(id=True), MalformedFrame, "bad_frame"),
    ("id negative", _send(id=-1), MalformedFrame, "bad_frame"),
    ("id too big", _send(id=2**32), MalformedFrame, "bad_frame"),
    ("id is str", _send(id="1"), MalformedFrame, "bad_frame"),
    ("no id", _send(id=_DROP), MalformedFrame, "bad_frame"),
    ("short recipient", _send(to=ACCOUNT[:31]), MalformedFrame, "bad_frame"),
    ("recipient as str", _send(to="a" * 32), MalformedFrame, "bad_frame"),
    ("no message id", _send(message_id=_DROP), MalformedFrame, "bad_frame"),
    ("long message id", _send(message_id=MID + b"x"), MalformedFrame, "bad_frame"),
    ("payload as str", _send(payload="text"), MalformedFrame, "bad_frame"),
    ("payload as list", _send(payload=[b"a"]), MalformedFrame, "bad_frame"),
    ("payload too large", _send(payload=b"x" * (wire.MAX_PAYLOAD + 1)), FieldTooLarge, "too_large"),
    ("frame too large", b"\x00" * (wire.MAX_FRAME + 1), FieldTooLarge, "too_large"),
    ("ext type", _send(payload=msgpack.ExtType(5, b"x")), MalformedFrame, "bad_frame"),
    (
        "nested depth",
        msgpack.packb({"type": "ping", "id": 1, "x": [[[[]]]]})[:-1],
        MalformedFrame,
        "bad_frame",
    ),
    (
        "auth version 2",
        msgpack.packb(
            {"type": "auth", "id": 1, "v": 2, "account": ACCOUNT, "signature": b"s" * 64}
        ),
        UnsupportedVersion,
        "unsupported_version",
    ),
    (
        "auth short signature",
        msgpack.packb({"type": "auth", "id": 1, "v": 1, "account": ACCOUNT, "signature": b"s"}),
        MalformedFrame,
        "bad_frame",
    ),
    (
        "invite too long",
        msgpack.packb(
            {
                "type": "auth",
                "id": 1,
                "v": 1,
                "account": ACCOUNT,
                "signature": b"s" * 64,
                "invite": "i" * 257,
            }
        ),
        FieldTooLarge,
        "too_large",
    ),
    (
        "invite as bytes",
        msgpack.packb(
            {
                "type": "auth",
                "id": 1,
                "v": 1,
                "account": ACCOUNT,
                "signature": b"s" * 64,
                "invite": b"i",
            }
        ),
        MalformedFrame,
        "bad_frame",
    ),
    (
        "prekey batch too large",
        msgpack.packb(
            {"type": "publish", "id": 1, "signed_prekey": b"s", "one_time_prekeys": [b"k"] * 201}
        ),
        FieldTooLarge,
        "too_large",
    ),
    (
        "prekey too large",
        msgpack.packb(
            {"type": "publish", "id": 1, "signed_prekey": b"s", "one_time_prekeys": [b"k" * 129]}
        ),
        MalformedFrame,
        "bad_frame",
    ),
    (
        "empty prekey",
        msgpack.packb(
            {"type": "publish", "id": 1, "signed_prekey": b"s", "one_time_prekeys": [b""]}
        ),
        MalformedFrame,
        "bad_frame",
    ),
    (
        "prekeys not a list",
        msgpack.packb(
            {"type": "publish", "id": 1, "signed_prekey": b"s", "one_time_prekeys": b"k"}
        ),
        MalformedFrame,
        "bad_frame",
    ),
    (
        "signed prekey too large",
        msgpack.packb({"type": "publish", "id": 1, "signed_prekey": b"s" * 257}),
        FieldTooLarge,
        "too_large",
    ),
    (
        "empty signed prekey",
        msgpack.packb({"type": "publish", "id": 1, "signed_prekey": b""}),
        MalformedFrame,
        "bad_frame",
    ),
    ("ack without id", msgpack.packb({"type": "ack"}), MalformedFrame, "bad_frame"),
    (
        "fetch short account",
        msgpack.packb({"type": "fetch", "id": 1, "account": b"a"}),
        MalformedFrame,
        "bad_frame",
    ),
]


@pytest.mark.parametrize(
    ("data", "error", "code"),
    [case[1:] for case in MALFORMED],
    ids=[case[0] for case in MALFORMED],
)
def test_malformed_client_input_is_a_wire_error(
    data: bytes, error: type[WireError], code: str
) -> None:
    with pytest.raises(error) as caught:
        wire.decode_client_frame(data)
    assert caught.value.code == code
    assert caught.value.reason


def test_the_request_id_survives_into_the_error_when_readable() -> None:
    with pytest.raises(MalformedFrame) as caught:
        wire.decode_client_frame(_send(id=77, to=b"short"))
    assert caught.value.request_id == 77


@pytest.mark.parametrize(
    "data",
    [
        msgpack.packb(
            {"type": "sent", "id": 1, "message_id": MID, "stored_at": math.nan, "expires_at": 1.0}
        ),
        msgpack.packb(
            {"type": "sent", "id": 1, "message_id": MID, "stored_at": "now", "expires_at": 1.0}
        ),
        msgpack.packb(
            {
                "type": "sent",
                "id": 1,
                "message_id": MID,
                "stored_at": 1.0,
                "expires_at": 1.0,
                "duplicate": 1,
            }
        ),
        msgpack.packb(
            {
                "type": "bundle",
                "id": 1,
                "identity_key": ACCOUNT,
                "signed_prekey": b"s",
                "one_time_prekey": "x",
            }
        ),
        msgpack.packb({"type": "error", "id": None, "code": 5, "reason": "r"}),
        msgpack.packb({"type": "challenge", "v": 1, "nonce": b"n" * 31, "relay": "r"}),
        msgpack.packb({"type": "welcome", "id": 1, "account": ACCOUNT, "prekeys": -1}),
    ],
)
def test_malformed_server_input_is_a_wire_error(data: bytes) -> None:
    with pytest.raises(MalformedFrame):
        wire.decode_server_frame(data)


def test_integer_times_are_accepted_as_seconds() -> None:
    data = msgpack.packb(
        {"type": "deliver", "sender": ACCOUNT, "message_id": MID, "payload": b"", "received_at": 5}
    )
    frame = wire.decode_server_frame(data)
    assert isinstance(frame, wire.Deliver)
    assert frame.received_at == 5.0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_raise_anything_but_wire_errors(data: bytes) -> None:
    for decode in (wire.decode_client_frame, wire.decode_server_frame):
        with contextlib.suppress(WireError):
            decode(data)


_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | st.text(max_size=8)
    | st.binary(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
_keys = st.sampled_from(
    [
        "type",
        "id",
        "v",
        "to",
        "message_id",
        "payload",
        "account",
        "signature",
        "invite",
        "signed_prekey",
        "one_time_prekeys",
        "nonce",
        "relay",
        "code",
        "reason",
        "sender",
        "received_at",
        "stored_at",
        "expires_at",
        "prekeys",
        "identity_key",
        "one_time_prekey",
    ]
)
_types = st.sampled_from(
    [
        "send",
        "ack",
        "auth",
        "publish",
        "fetch",
        "ping",
        "deliver",
        "sent",
        "challenge",
        "welcome",
        "published",
        "bundle",
        "prekeys_low",
        "pong",
        "error",
    ]
)


@settings(max_examples=400, deadline=None)
@given(_types, st.dictionaries(_keys, _values, max_size=6))
def test_random_maps_never_raise_anything_but_wire_errors(
    kind: str, body: dict[str, object]
) -> None:
    data = msgpack.packb({**body, "type": kind})
    for decode in (wire.decode_client_frame, wire.decode_server_frame):
        with contextlib.suppress(WireError):
            decode(data)


def test_the_batch_encoder_matches_encode() -> None:
    receipts = [(n, n.to_bytes(16), 1.5, 2.5, n % 2 == 0) for n in range(3)]
    fast = wire.encode_sent_batch(receipts)
    assert fast == wire.encode(wire.SentBatch(tuple(wire.Sent(*r) for r in receipts)))


def test_the_delivery_batch_encoder_matches_encode() -> None:
    deliveries = [(ACCOUNT, n.to_bytes(16), bytes([n]), 1.5 + n) for n in range(3)]
    fast = wire.encode_deliver_batch(deliveries)
    assert fast == wire.encode(wire.DeliverBatch(tuple(wire.Deliver(*d) for d in deliveries)))


def _deliveries(messages: object) -> bytes:
    return bytes(msgpack.packb({"type": "deliver_batch", "messages": messages}))


GOOD_DELIVERY = [ACCOUNT, MID, b"ct", 1.0]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (_deliveries([]), MalformedFrame),
        (_deliveries([GOOD_DELIVERY] * (wire.MAX_DELIVER_BATCH + 1)), FieldTooLarge),
        (_deliveries(GOOD_DELIVERY), MalformedFrame),
        (_deliveries([GOOD_DELIVERY[:3]]), MalformedFrame),
        (_deliveries([[ACCOUNT[:31], MID, b"ct", 1.0]]), MalformedFrame),
        (_deliveries([[ACCOUNT, b"x", b"ct", 1.0]]), MalformedFrame),
        (_deliveries([[ACCOUNT, MID, "ct", 1.0]]), MalformedFrame),
        (_deliveries([[ACCOUNT, MID, b"x" * (wire.MAX_PAYLOAD + 1), 1.0]]), FieldTooLarge),
        (_deliveries([[ACCOUNT, MID, b"ct", math.nan]]), MalformedFrame),
        (_deliveries([{"sender": ACCOUNT}]), MalformedFrame),
        (msgpack.packb({"type": "deliver_batch"}), MalformedFrame),
    ],
)
def test_malformed_delivery_batches_are_wire_errors(data: bytes, error: type[WireError]) -> None:
    with pytest.raises(error):
        wire.decode_server_frame(data)


def test_a_batched_ack_lists_every_id_the_single_one_first() -> None:
    ack = wire.decode_client_frame(wire.encode(wire.Ack(MID, (OTHER_MID,))))
    assert isinstance(ack, wire.Ack)
    assert ack.message_ids == (MID, OTHER_MID)
    assert wire.Ack(MID).message_ids == (MID,)


def _ack(more: object) -> bytes:
    return bytes(msgpack.packb({"type": "ack", "message_id": MID, "more": more}))


def _batch(receipts: object) -> bytes:
    return bytes(msgpack.packb({"type": "sent_batch", "receipts": receipts}))


GOOD_RECEIPT = [1, MID, 1.0, 2.0, False]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (_ack([n.to_bytes(16) for n in range(1, wire.MAX_ACK_BATCH + 1)]), FieldTooLarge),
        (_ack([b"x" * 15]), MalformedFrame),
        (_ack([MID]), MalformedFrame),  # repeats the single id
        (_ack([OTHER_MID, OTHER_MID]), MalformedFrame),
        (_ack({"a": MID}), MalformedFrame),
        (
            msgpack.packb(
                {
                    "type": "auth",
                    "id": 1,
                    "v": 1,
                    "account": ACCOUNT,
                    "signature": b"s" * 64,
                    "caps": "batch",
                }
            ),
            MalformedFrame,
        ),
        (
            msgpack.packb(
                {
                    "type": "auth",
                    "id": 1,
                    "v": 1,
                    "account": ACCOUNT,
                    "signature": b"s" * 64,
                    "caps": ["x"] * (wire.MAX_CAPS + 1),
                }
            ),
            MalformedFrame,
        ),
    ],
    ids=["257 ids", "short id", "repeat of first", "duplicate", "not a list", "caps str", "caps"],
)
def test_malformed_batches_from_a_client_are_wire_errors(
    data: bytes, error: type[WireError]
) -> None:
    with pytest.raises(error):
        wire.decode_client_frame(data)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (_batch([]), MalformedFrame),
        (_batch([GOOD_RECEIPT] * (wire.MAX_RECEIPT_BATCH + 1)), FieldTooLarge),
        (_batch(GOOD_RECEIPT), MalformedFrame),
        (_batch([GOOD_RECEIPT[:4]]), MalformedFrame),
        (_batch([[-1, MID, 1.0, 2.0, False]]), MalformedFrame),
        (_batch([[1, b"x", 1.0, 2.0, False]]), MalformedFrame),
        (_batch([[1, MID, "now", 2.0, False]]), MalformedFrame),
        (_batch([[1, MID, 1.0, math.nan, False]]), MalformedFrame),
        (_batch([[1, MID, 1.0, 2.0, 0]]), MalformedFrame),
        (_batch([{"id": 1}]), MalformedFrame),
        (msgpack.packb({"type": "sent_batch"}), MalformedFrame),
    ],
)
def test_malformed_receipt_batches_are_wire_errors(data: bytes, error: type[WireError]) -> None:
    with pytest.raises(error):
        wire.decode_server_frame(data)
