"""The "cannot decrypt" notice: exact layout, and a signature bound to every field and both keys."""

from __future__ import annotations

import pytest
from parley.crypto import notice
from parley.crypto.errors import InvalidSignature, MalformedData
from parley.crypto.keys import IdentityKeyPair

from tests.crypto.vectors_util import counter_rng


def test_layout_and_round_trip() -> None:
    rng = counter_rng(b"notice")
    bob, alice = IdentityKeyPair.generate(rng), IdentityKeyPair.generate(rng)
    message_id = bytes(range(16))
    wire = notice.make_notice(bob, alice.public, message_id, 1_790_000_000)
    assert len(wire) == notice.NOTICE_LEN == 90
    assert wire[:2] == b"\x01\x03" and wire[2:18] == message_id
    assert wire[18:26] == (1_790_000_000).to_bytes(8, "big")
    signed = (
        b"Parley cannot decrypt v1\x00"
        + bob.public.to_bytes()
        + alice.public.to_bytes()
        + message_id
        + (1_790_000_000).to_bytes(8, "big")
    )
    bob.public.verify(signed, wire[26:])  # the signature covers exactly NoticeMessage
    parsed = notice.parse_notice(wire)
    parsed.verify(bob.public, alice.public)
    assert notice.is_notice(wire) and not notice.is_notice(b"\x01\x02" + wire[2:])


def test_every_change_is_refused() -> None:
    rng = counter_rng(b"notice-forged")
    bob, alice, mallory = (IdentityKeyPair.generate(rng) for _ in range(3))
    wire = notice.make_notice(bob, alice.public, bytes(16), 1_790_000_000)
    parsed = notice.parse_notice(wire)
    with pytest.raises(InvalidSignature):
        parsed.verify(mallory.public, alice.public)  # claimed by someone else
    with pytest.raises(InvalidSignature):
        parsed.verify(bob.public, mallory.public)  # replayed to another sender
    for index in (2, 20, 30, 89):  # message id, time, signature
        altered = bytearray(wire)
        altered[index] ^= 1
        with pytest.raises(InvalidSignature):
            notice.parse_notice(bytes(altered)).verify(bob.public, alice.public)
    for bad in (wire[:-1], wire + b"\x00", b"\x02" + wire[1:], b"\x01\x02" + wire[2:]):
        with pytest.raises(MalformedData):
            notice.parse_notice(bad)
    with pytest.raises(MalformedData):
        notice.make_notice(bob, alice.public, bytes(15), 0)
