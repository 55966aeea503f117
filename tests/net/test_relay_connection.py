"""RelayConnection and the end-of-turn writes: fragments, text, order, pipelining, a slow reader.

The relay hands each complete message from ``data_received`` straight to the core and writes
each connection's frames of a turn at once; these tests check with a real relay in this loop that
nothing a client may legally do (fragment a message, pipeline frames before the challenge is
read) is lost or reordered on that path.
"""

from __future__ import annotations

import asyncio

import pytest
from nacl.signing import SigningKey
from parley.net import wire
from parley.net.relay.protocol import Action
from websockets.asyncio.client import connect

from .conftest import InProcessRelay, RawConnection, message_id

alice = SigningKey(b"A" * 32)
bob = SigningKey(b"B" * 32)


async def test_a_fragmented_binary_message_is_reassembled(
    inprocess_relay: InProcessRelay,
) -> None:
    conn = await RawConnection.open(inprocess_relay.url)
    await conn.login(alice)
    data = wire.encode(wire.Ping(7))
    await conn.ws.send([data[:1], data[1:3], data[3:]])  # three frames: BINARY, CONT, CONT
    assert await conn.frame() == wire.Pong(7)
    await conn.close()


async def test_a_text_message_whole_or_fragmented_is_refused_with_an_error(
    inprocess_relay: InProcessRelay,
) -> None:
    conn = await RawConnection.open(inprocess_relay.url)
    await conn.login(alice)
    await conn.ws.send("hello")
    assert (await conn.error()).code == "bad_frame"
    await conn.ws.send(["hel", "lo"])
    assert (await conn.error()).code == "bad_frame"
    assert await conn.request(wire.Ping(3)) == wire.Pong(3)  # the connection still works
    await conn.close()


async def test_frames_pipelined_before_the_challenge_is_read_keep_their_order(
    inprocess_relay: InProcessRelay,
) -> None:
    ws = await connect(inprocess_relay.url, compression=None)
    for request_id in range(1, 4):  # requests before login: each refused, in order
        await ws.send(wire.encode(wire.Ping(request_id)))
    frames = [wire.decode_server_frame(await asyncio.wait_for(ws.recv(), 10)) for _ in range(4)]
    assert isinstance(frames[0], wire.Challenge)
    errors = [f for f in frames[1:] if isinstance(f, wire.Error)]
    assert [(e.code, e.request_id) for e in errors] == [("unauthenticated", n) for n in (1, 2, 3)]
    await ws.close()


async def test_a_burst_on_one_connection_is_answered_in_order(
    inprocess_relay: InProcessRelay,
) -> None:
    conn = await RawConnection.open(inprocess_relay.url)
    await conn.login(alice)
    for n in range(1, 101):
        await conn.ws.send(wire.encode(wire.Ping(n)))
    assert [await conn.frame() for _ in range(100)] == [wire.Pong(n) for n in range(1, 101)]
    await conn.close()


async def test_a_recipient_that_does_not_read_never_stalls_another(
    inprocess_relay: InProcessRelay,
) -> None:
    """Bob reads nothing while Alice fills his window many times over; her receipts still flow,
    and when Bob reads at last he gets every delivery, in order."""
    a = await RawConnection.open(inprocess_relay.url)
    b = await RawConnection.open(inprocess_relay.url, max_queue=1)
    await a.login(alice)
    await b.login(bob)
    bob_id = bytes(bob.verify_key)
    payload = bytes(64 * 1024)
    for n in range(40):
        await a.ws.send(wire.encode(wire.Send(n, bob_id, message_id(n), payload)))
    receipts = [await a.frame() for _ in range(40)]
    assert [r.request_id for r in receipts if isinstance(r, wire.Sent)] == list(range(40))
    deliveries = [await b.frame() for _ in range(40)]
    assert [d.message_id for d in deliveries if isinstance(d, wire.Deliver)] == [
        message_id(n) for n in range(40)
    ]
    await a.close()
    await b.close()


async def test_a_bug_while_handling_a_frame_ends_only_that_connection(
    inprocess_relay: InProcessRelay, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The core never raises on bad input; should a bug make it raise, the connection that
    triggered it is dropped and logged, and the relay goes on serving everyone else."""
    a = await RawConnection.open(inprocess_relay.url)
    b = await RawConnection.open(inprocess_relay.url)
    await a.login(alice)
    await b.login(bob)
    core = inprocess_relay.server.core
    receive = core.receive

    def faulty(conn_id: int, data: bytes | str, now: float) -> list[Action]:
        if data == b"trigger":
            raise RuntimeError("a bug")
        return receive(conn_id, data, now)

    monkeypatch.setattr(core, "receive", faulty)
    await a.ws.send(b"trigger")
    await a.closed_with()
    assert await b.request(wire.Ping(5)) == wire.Pong(5)
    await b.close()
