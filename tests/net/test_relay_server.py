"""The asyncio relay in-process on 127.0.0.1, port 0, with raw websockets clients."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nacl.signing
import pytest
from parley.net import wire
from parley.net.relay.connection import READ_BUFFER_SIZE
from parley.net.relay.limits import RelayConfig
from parley.net.relay.server import serve_relay
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

alice = nacl.signing.SigningKey(b"A" * 32)
bob = nacl.signing.SigningKey(b"B" * 32)


async def login(url: str, key: nacl.signing.SigningKey) -> ClientConnection:
    ws = await connect(url, compression=None, max_size=wire.MAX_FRAME)
    challenge = wire.decode_server_frame(await ws.recv(decode=False))
    assert isinstance(challenge, wire.Challenge)
    signature = key.sign(wire.auth_message(url, challenge.nonce)).signature
    await ws.send(wire.encode(wire.Auth(1, bytes(key.verify_key), signature)))
    assert isinstance(wire.decode_server_frame(await ws.recv(decode=False)), wire.Welcome)
    return ws


async def next_frame(ws: ClientConnection) -> wire.ServerFrame:
    return wire.decode_server_frame(await asyncio.wait_for(ws.recv(decode=False), 10))


async def http_get(url: str, path: str) -> str:
    host, port = url.removeprefix("ws://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    await writer.drain()
    response = (await reader.read()).decode()
    writer.close()
    return response


async def test_health_and_metrics_over_http(tmp_path: Path) -> None:
    async with serve_relay("127.0.0.1", 0, tmp_path) as relay:
        ws = await login(relay.url, alice)
        health = await http_get(relay.url, "/health")
        assert health.startswith("HTTP/1.1 200") and health.endswith("ok\n")
        metrics = await http_get(relay.url, "/metrics")
        assert "parley_relay_authenticated 1" in metrics
        assert "parley_relay_connections 1" in metrics
        await ws.close()


async def test_live_and_offline_exchange_survive_a_restart(tmp_path: Path) -> None:
    async with serve_relay("127.0.0.1", 0, tmp_path) as relay:
        a, b = await login(relay.url, alice), await login(relay.url, bob)
        bob_id = bytes(bob.verify_key)
        await a.send(wire.encode(wire.Send(2, bob_id, b"1" * 16, b"live")))
        frames = {type(f): f for f in [await next_frame(a), await next_frame(b)]}
        assert frames[wire.Sent] == wire.Sent(2, b"1" * 16, *_times(frames[wire.Sent]))
        assert frames[wire.Deliver] == wire.Deliver(
            bytes(alice.verify_key), b"1" * 16, b"live", _times(frames[wire.Sent])[0]
        )
        await b.send(wire.encode(wire.Ack(b"1" * 16)))
        await b.close()
        # many sends in one burst share group commits; each ack still follows its commit
        for n in range(50):
            await a.send(wire.encode(wire.Send(10 + n, bob_id, n.to_bytes(16), b"x")))
        acks = [await next_frame(a) for _ in range(50)]
        assert all(isinstance(f, wire.Sent) and not f.duplicate for f in acks)
        await a.close()
    async with serve_relay("127.0.0.1", 0, tmp_path) as relay:
        assert relay.store.queued == 50
        b = await login(relay.url, bob)
        got = []
        for _ in range(50):
            frame = await next_frame(b)
            assert isinstance(frame, wire.Deliver)
            got.append(frame.message_id)
            await b.send(wire.encode(wire.Ack(frame.message_id)))
        assert got == [n.to_bytes(16) for n in range(50)]
        await b.send(wire.encode(wire.Ping(99)))
        assert await next_frame(b) == wire.Pong(99)  # all acks processed before the ping
        assert relay.store.queued == 0
        await b.close()


def _times(frame: wire.ServerFrame) -> tuple[float, float]:
    assert isinstance(frame, wire.Sent)
    return frame.stored_at, frame.expires_at


async def test_bad_input_gets_errors_and_never_disturbs_others(tmp_path: Path) -> None:
    async with serve_relay("127.0.0.1", 0, tmp_path) as relay:
        good = await login(relay.url, alice)
        bad = await connect(relay.url, compression=None, max_size=None)
        await bad.recv()  # challenge
        await bad.send("text, not binary")
        assert (await next_frame(bad)) == wire.Error(
            "bad_frame", "frames are binary; text frames are not part of the protocol"
        )
        await bad.send(wire.encode(wire.Send(4, bytes(32), bytes(16), b"")))
        error = await next_frame(bad)
        assert isinstance(error, wire.Error)
        assert (error.code, error.request_id) == ("unauthenticated", 4)
        await bad.send(b"\x00" * (wire.MAX_FRAME + 1))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(bad.recv(), 10)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009
        await good.send(wire.encode(wire.Ping(7)))
        assert await next_frame(good) == wire.Pong(7)
        await good.close()


async def test_ttl_expiry_with_an_injected_clock(tmp_path: Path) -> None:
    now = [1_000.0]
    config = RelayConfig(ttl=60.0)
    async with serve_relay("127.0.0.1", 0, tmp_path, config, clock=lambda: now[0]) as relay:
        await (await login(relay.url, bob)).close()  # registered, then offline
        a = await login(relay.url, alice)
        await a.send(wire.encode(wire.Send(2, bytes(bob.verify_key), b"m" * 16, b"old")))
        sent = await next_frame(a)
        assert isinstance(sent, wire.Sent)
        assert sent.expires_at == 1_060.0
        now[0] = 1_061.0
        b = await login(relay.url, bob)
        await b.send(wire.encode(wire.Ping(5)))
        assert await next_frame(b) == wire.Pong(5)  # nothing was delivered before the pong
        await a.close()
        await b.close()


async def test_welcome_precedes_the_backlog_while_other_writes_wait_for_commit(
    tmp_path: Path,
) -> None:
    async with serve_relay("127.0.0.1", 0, tmp_path) as relay:
        await (await login(relay.url, bob)).close()
        a = await login(relay.url, alice)
        for n in range(3):
            await a.send(wire.encode(wire.Send(n, bytes(bob.verify_key), n.to_bytes(16), b"q")))
        for _ in range(3):
            await next_frame(a)
        # Another connection's write is waiting for the group commit when bob logs in: his
        # welcome is held behind that commit, and his backlog must wait behind his welcome.
        relay.store.register(b"z" * 32)
        b = await login(relay.url, bob)  # asserts that the first frame after auth is welcome
        frame = await next_frame(b)
        assert isinstance(frame, wire.Deliver)
        assert frame.message_id == (0).to_bytes(16)
        await a.close()
        await b.close()


def test_the_command_explains_options_that_cannot_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from parley.net.relay.command import main

    assert main(["--data", str(tmp_path), "--port", "0", "--ttl-days", "0"]) == 1
    assert "ttl must be greater than zero" in capsys.readouterr().err
    assert main(["--data", str(tmp_path), "--port", "0", "--invite-token", ""]) == 1
    assert "empty invite token" in capsys.readouterr().err
    for delay in ("-1", "5001", "nan"):
        assert main(["--data", str(tmp_path), "--port", "0", "--commit-delay-ms", delay]) == 1
        assert "commit delay must be between 0 and 5 seconds" in capsys.readouterr().err


def test_the_command_reports_a_port_in_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    from parley.net.relay.command import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--data", str(tmp_path), "--port", str(port)]) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def _send_in_one_write(ws: ClientConnection, frames: list[bytes]) -> None:
    """Put ``frames`` on the socket in one write, so the relay handles them in one loop turn."""
    for frame in frames:
        ws.protocol.send_binary(frame)
    ws.transport.write(b"".join(ws.protocol.data_to_send()))


async def test_a_turns_receipts_are_one_frame_only_for_a_client_that_asked(
    tmp_path: Path,
) -> None:
    async with serve_relay("127.0.0.1", 0, tmp_path) as relay:
        await (await login(relay.url, bob)).close()
        old = await login(relay.url, alice)
        new = await connect(relay.url, compression=None, max_size=wire.MAX_FRAME)
        challenge = wire.decode_server_frame(await new.recv(decode=False))
        assert isinstance(challenge, wire.Challenge)
        key = nacl.signing.SigningKey(b"C" * 32)
        signature = key.sign(wire.auth_message(relay.url, challenge.nonce)).signature
        auth = wire.Auth(1, bytes(key.verify_key), signature, caps=(wire.CAP_BATCH,))
        await new.send(wire.encode(auth))
        welcome = await next_frame(new)
        assert isinstance(welcome, wire.Welcome)
        assert wire.CAP_BATCH in welcome.caps
        to = bytes(bob.verify_key)
        for ws, first in ((old, 0), (new, 100)):
            sends = [
                wire.encode(wire.Send(n, to, n.to_bytes(16), b"q")) for n in range(first, first + 5)
            ]
            _send_in_one_write(ws, sends)
        # The old-style client: one sent frame per send, as before batching existed.
        singles = [await next_frame(old) for _ in range(5)]
        assert [(f.request_id, type(f)) for f in singles] == [(n, wire.Sent) for n in range(5)]  # type: ignore[union-attr]
        # The client that announced the capability: the turn's receipts in one frame, in order.
        batch = await next_frame(new)
        assert isinstance(batch, wire.SentBatch)
        assert [(r.request_id, r.message_id) for r in batch.receipts] == [
            (n, n.to_bytes(16)) for n in range(100, 105)
        ]
        # Each receipt promised durability: the messages are all queued for bob.
        b = await login(relay.url, bob)
        delivered = [await next_frame(b) for _ in range(10)]
        assert sorted(f.message_id for f in delivered if isinstance(f, wire.Deliver)) == sorted(
            n.to_bytes(16) for n in [*range(5), *range(100, 105)]
        )
        for ws in (old, new, b):
            await ws.close()


async def _login_with(
    url: str, key: nacl.signing.SigningKey, caps: tuple[str, ...]
) -> ClientConnection:
    ws = await connect(url, compression=None, max_size=wire.MAX_FRAME)
    challenge = wire.decode_server_frame(await ws.recv(decode=False))
    assert isinstance(challenge, wire.Challenge)
    signature = key.sign(wire.auth_message(url, challenge.nonce)).signature
    await ws.send(wire.encode(wire.Auth(1, bytes(key.verify_key), signature, caps=caps)))
    assert isinstance(await next_frame(ws), wire.Welcome)
    return ws


async def test_a_turns_deliveries_are_one_frame_only_for_a_client_that_asked(
    tmp_path: Path,
) -> None:
    big = wire.DELIVER_BATCH_BYTES // 2 - 100  # two fit in one batch, a third starts the next
    payloads = [b"a", b"b", b"c" * big, b"d" * big, b"e" * big]
    async with serve_relay("127.0.0.1", 0, tmp_path, RelayConfig(rate_per_second=0)) as relay:
        await (await login(relay.url, bob)).close()
        sender = await login(relay.url, alice)
        to = bytes(bob.verify_key)
        for n, payload in enumerate(payloads):
            await sender.send(wire.encode(wire.Send(n, to, n.to_bytes(16), payload)))
            assert isinstance(await next_frame(sender), wire.Sent)  # stored: bob is offline
        # Logging in reads the backlog in one turn: batched for the new client only.
        new = await _login_with(relay.url, bob, (wire.CAP_DELIVER_BATCH,))
        first, second = await next_frame(new), await next_frame(new)
        assert isinstance(first, wire.DeliverBatch)
        assert [d.payload for d in first.deliveries] == payloads[:4]  # split by payload bytes
        assert isinstance(second, wire.Deliver)  # a batch of one goes as a plain deliver
        assert second.payload == payloads[4]
        assert all(d.sender == bytes(alice.verify_key) for d in first.deliveries)
        await new.close()
        old = await _login_with(relay.url, bob, (wire.CAP_BATCH,))
        singles = [await next_frame(old) for _ in payloads]
        assert [type(f) for f in singles] == [wire.Deliver] * len(payloads)
        assert [f.payload for f in singles] == payloads  # type: ignore[union-attr]
        for ws in (sender, old):
            await ws.close()


async def test_a_largest_payload_spanning_many_socket_reads_arrives_whole(tmp_path: Path) -> None:
    # The relay reads into one buffer per thread (connection.py): a frame bigger than that buffer
    # comes in several reads, interleaved with another connection's, and must still be exact.
    payload = bytes(range(256)) * (wire.MAX_PAYLOAD // 256)
    assert len(wire.encode(wire.Send(1, bytes(32), bytes(16), payload))) > READ_BUFFER_SIZE
    async with serve_relay("127.0.0.1", 0, tmp_path, RelayConfig(rate_per_second=0)) as relay:
        receiver = await login(relay.url, bob)
        sender = await login(relay.url, alice)
        pinger = await login(relay.url, nacl.signing.SigningKey(b"P" * 32))
        to = bytes(bob.verify_key)
        await asyncio.gather(
            sender.send(wire.encode(wire.Send(1, to, (1).to_bytes(16), payload))),
            pinger.send(wire.encode(wire.Ping(5))),
        )
        assert await next_frame(pinger) == wire.Pong(5)
        delivered = await next_frame(receiver)
        assert isinstance(delivered, wire.Deliver)
        assert delivered.payload == payload
        for ws in (receiver, sender, pinger):
            await ws.close()
