"""The bench's load generator cuts and builds WebSocket frames by hand (bench/relay.py,
``SinkConnection``): it must agree with websockets, a real server, on every byte.

A hand-written frame parser that drops, merges or reorders a frame would make every relay
figure wrong without failing anything, so these tests pin it against the library.
"""

from __future__ import annotations

import asyncio
import importlib
import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from parley.net import wire
from websockets.asyncio.server import ServerConnection, serve
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

BENCH = Path(__file__).resolve().parent.parent / "bench"
SIZES = (0, 1, 125, 126, 127, 65535, 65536, 70_000)


@pytest.fixture(scope="module")
def load() -> Iterator[ModuleType]:
    sys.path.insert(0, str(BENCH))
    try:
        yield importlib.import_module("relay")
    finally:
        sys.path.remove(str(BENCH))


def parse_as_server(data: bytes) -> list[Frame]:
    """Frames as websockets' own parser reads a client's bytes (masked, as RFC 6455 requires)."""
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    frames = []
    while reader.buffer:
        parser = Frame.parse(reader.read_exact, mask=True, max_size=None)
        try:
            next(parser)
        except StopIteration as done:
            frames.append(done.value)
    return frames


def test_client_frames_are_what_websockets_reads(load: ModuleType) -> None:
    payloads = [bytes([n % 251]) * n for n in SIZES]
    frames = parse_as_server(b"".join(load.client_frame(p) for p in payloads))
    assert [(f.opcode, f.fin, bytes(f.data)) for f in frames] == [
        (Opcode.BINARY, True, p) for p in payloads
    ]


def test_send_frames_are_the_bytes_wire_encode_makes(load: ModuleType) -> None:
    conn = load.RelayConn(None, b"a" * 32)
    recipient, payload = b"b" * 32, bytes(range(256))
    for n in (1, 2, 2**32 + 5):
        conn._next = n - 1
        message_id = n.to_bytes(8, "big") + b"a" * 8
        expected = wire.Send(n & 0xFFFFFFFF, recipient, message_id, payload)
        assert conn.send_frame(recipient, payload) == wire.encode(expected)


def server_frame(payload: bytes, opcode: int = 0x2) -> bytes:
    """An unmasked server frame, built independently of the bench's code."""
    size = len(payload)
    if size < 126:
        return bytes((0x80 | opcode, size)) + payload
    if size < 65536:
        return struct.pack("!BBH", 0x80 | opcode, 126, size) + payload
    return struct.pack("!BBQ", 0x80 | opcode, 127, size) + payload


async def test_frames_cut_from_any_split_of_the_stream_reach_the_sink_whole(
    load: ModuleType,
) -> None:
    async def idle(ws: ServerConnection) -> None:
        await ws.wait_closed()

    async with serve(idle, "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        ws = await load._echo_connect(f"ws://127.0.0.1:{port}")
        received: list[bytes] = []
        ws.sink = received.append
        payloads = [bytes([n % 7]) * n for n in SIZES]
        stream = b"".join(server_frame(p) for p in payloads)
        # Every way of cutting the stream in two places, over the small frames' region (the
        # headers of 2, 4 and 10 bytes), and a few cuts inside the large ones.
        cuts = [*range(0, 300), 65_000, 66_000, len(stream) - 5]
        for first in cuts[::7]:
            for second in (first + 1, first + 3, first + 130):
                received.clear()
                for piece in (stream[:first], stream[first:second], stream[second:]):
                    if piece:
                        ws._cut_frames(ws._rest + piece if ws._rest else piece)
                assert received == payloads, (first, second)
                assert ws._rest == b""
        await ws.close()


async def test_a_ping_and_a_close_after_sunk_frames_go_to_websockets(load: ModuleType) -> None:
    """The first frame that is not a whole binary one hands the stream back for good: websockets
    answers the ping (the server's ``ping()`` completes) and the close handshake finishes."""
    pinged = asyncio.Event()

    async def talk(ws: ServerConnection) -> None:
        await ws.recv()  # the client is ready and its sink is set
        for n in (1, 200, 70_000):
            await ws.send(bytes(n))
        await (await ws.ping())
        pinged.set()
        await ws.send(b"after the ping")
        await ws.close()

    async with serve(talk, "127.0.0.1", 0, compression=None, max_size=2**20) as server:
        port = server.sockets[0].getsockname()[1]
        ws = await load._echo_connect(f"ws://127.0.0.1:{port}")
        received: list[bytes] = []
        ws.sink = received.append
        ws.send_now(b"ready")
        await asyncio.wait_for(pinged.wait(), 10)
        await asyncio.wait_for(ws.wait_closed(), 10)
        assert received == [bytes(1), bytes(200), bytes(70_000), b"after the ping"]
        assert ws._handed_back
        assert ws.errors == []
