"""The relay against a bare `websockets` echo server, same client load, in one run.

Why a same-run baseline: absolute msgs/s depend on the machine; the ratio to the cheapest possible
server built on the same library and event loop says what the relay's work (authentication, the
durable SQLite queue, acknowledgements) costs on top of moving WebSocket frames at all.

Each server runs in its own subprocess (so its RSS can be read from /proc and it has a core of its
own); this process generates the client load. Figures, all printed as one JSON line last:

- ``echo_msgs_per_s``: closed-loop, ``WINDOW`` messages in flight per connection, 256 B each.
- ``relay_msgs_per_s``: the same load, each message sent by A of a pair and delivered to B (who
  acknowledges it) through the relay; ``live_ratio`` = relay / echo.
- ``durable_msgs_per_s``: every pair's B offline, A queues ``DURABLE`` messages (each stored
  durably before its receipt), then B connects and drains them; ``durable_ratio`` = that / echo.
- ``echo_p99_ms`` and ``relay_p99_ms``: open-loop at half of echo's saturation rate. When that
  rate is above the relay's own saturation the relay is overloaded and its p99 is mostly queueing;
  ``relay_p99_ms_at_half_relay`` (open loop at half the relay's own saturation rate) then says what
  a relay that is not overloaded adds.
- ``live_frames_ratio``: WebSocket messages handled per second, relay over echo, so this says how
  the relay's cost per frame compares, next to ``live_ratio``'s cost per message. An echo is two
  frames; a forward is at most four (``send`` in, ``sent`` and ``deliver`` out, ``ack`` in) and
  fewer with batching: ``relay_frames_per_msg`` is the count the load generator saw in the
  closed loop (frames it sent and received over messages delivered).
- ``idle_conn_memory_ratio``: RSS growth per idle (authenticated) relay connection over a bare
  websockets server's, ``IDLE`` connections, compression off on both, each in a fresh process.

Fairness: both servers get the same load generator (one process, ``PAIRS`` pairs, ``WINDOW`` in
flight, 256-byte payloads; the relay's frames add only its msgpack envelope, about 100 bytes), the
same websockets settings (compression off), and the relay runs without its rate limit
(``--rate 0``), as it measures capacity, and otherwise with its defaults: write-behind on (100 ms),
so in the live phases a message its recipient acks in time never reaches SQLite, while the
durable phase (recipients offline) measures the store. ``echo_server_cpu`` and
``relay_server_cpu`` (CPU seconds per second during the closed loops) say which side was the
bottleneck. On a quiet 2-core machine both stay near 1.0: each server saturates its core, so the
ratios compare the two servers' costs. A share well under 1.0 for echo means the load generator
(or another job) was the limit; echo's rate, the ratios' denominator, is then a floor and the
ratios flatter the relay. Below half a core the bench says so: ``echo_load_bound`` is 1 and a
note precedes the JSON line.

The echo server reads and writes the way the relay does (the relay's RelayConnection, buffered
``recv_into`` reads, one write per connection and turn), so ``live_ratio`` compares the relay's
work and nothing else. Until issue 13 the echo read with websockets' default (a fresh 256 KiB
object per read), which flattered the relay; docs/relay.md gives the old figure beside the new.

The relay's load generator behaves as RelayClient does on the wire (net/client.py): it announces
``CAP_BATCH`` and ``CAP_DELIVER_BATCH`` at login, reads ``sent_batch`` receipts and
``deliver_batch`` deliveries, and sends the acks that become ready within one event-loop turn as
one Ack frame. It is hand-driven (no RelayClient) so that the client side costs as little as
echo's does.

In both closed loops the client connections are ``SinkConnection``s: each complete message goes
straight to a callback, which answers at once with a direct write (one per message, as a client
sends one), instead of a queue and a task wake-up per message. Since issue 13 they also cut whole
binary frames from the stream and build their masked frames by hand (websockets' own parser and its
``os.urandom`` mask per frame cost the load as much CPU as the relay spent), and the relay's load
checks each server frame's type rather than validating every field as RelayClient does. Echo's
loop and the relay's get exactly the same machinery, so neither is favoured; it keeps the one
load-generating process, which shares the machine with the servers, from being the bottleneck
or taking the servers' CPU (check ``*_server_cpu``: near 1.0 means the server, not the load, set
the rate). tests/test_bench_load.py holds the hand-cut frames to websockets' own parser.

PARLEY_BENCH_QUICK=1 shrinks every count so the test suite can check the output's shape quickly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

import msgpack
from _common import emit
from nacl.signing import SigningKey
from parley.net import wire
from parley.net.relay.connection import RelayConnection
from parley.net.relay.server import _write_now
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.protocol import Event, State
from websockets.speedups import apply_mask

T = TypeVar("T")
QUICK = os.environ.get("PARLEY_BENCH_QUICK") == "1"
PAIRS = 4 if QUICK else 100
WINDOW = 4  # messages in flight per pair in the closed-loop phases
DURATION = 0.4 if QUICK else 5.0  # seconds per closed-loop or open-loop phase
DURABLE = 5 if QUICK else 50  # messages queued per pair for an offline recipient
IDLE = 20 if QUICK else 2000  # idle connections for the memory comparison
MESSAGE_SIZE = 256
CONNECT_CONCURRENCY = 50  # below asyncio's default listen backlog of 100
# Below this share of a core, echo was not the bottleneck (``echo_load_bound`` = 1).
LOAD_BOUND_SHARE = 0.5
FRAMES_PER_ECHO = 2  # the message in, the same message out
FRAMES = [0]  # relay frames the load generator sent or received (the closed loop reads it)
STAMP = struct.Struct("<d")  # perf_counter of the send, at the start of each payload


# -- servers, each in its own subprocess ---------------------------------------------------------


async def _serve_echo() -> None:
    """The bare echo, built as the relay reads and writes: the relay's own connection class
    (each whole message to a sink; ``recv_into`` one shared buffer) and one write per connection
    at the end of each loop turn (the relay's ``_write_now``). Only the relay's work is missing,
    so ``live_ratio`` compares that work and nothing else (issue 13's fair baseline)."""
    loop = asyncio.get_running_loop()
    unwritten: dict[RelayConnection, None] = {}

    def flush() -> None:
        ready = list(unwritten)
        unwritten.clear()
        for ws in ready:
            _write_now(ws)

    async def handler(ws: ServerConnection) -> None:
        conn = cast(RelayConnection, ws)

        def echo(message: bytes | str) -> None:
            if conn.protocol.state is State.OPEN and isinstance(message, bytes):
                conn.protocol.send_binary(message)
                if not unwritten:
                    loop.call_soon(flush)
                unwritten[conn] = None

        conn.attach(echo)
        await conn.wait_closed()

    async with serve(
        handler,
        "127.0.0.1",
        0,
        compression=None,
        max_size=2**20,
        create_connection=RelayConnection,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"ws://127.0.0.1:{port}", flush=True)
        await asyncio.Future()


class Relay(Protocol):
    """What a closed loop needs of the relay it drives: where it listens, and its CPU so far
    (``Server``, a process started here; bench/relay_scale.py also drives relays that another
    machine runs, whose CPU is that machine's to read)."""

    url: str

    def cpu_seconds(self) -> float: ...


@dataclass
class Server:
    """A server subprocess: its URL (first line of output) and its pid (for /proc RSS)."""

    proc: subprocess.Popen[str]
    url: str

    def rss_bytes(self) -> int:
        """Resident set size, from /proc (Linux only, as the bench's figures are)."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text(encoding="ascii")
        line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(line.split()[1]) * 1024

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server has used."""
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid``, from /proc/PID/stat (Linux, as the
    bench's figures are)."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    after_name = fields.rsplit(")", 1)[1].split()
    return (int(after_name[11]) + int(after_name[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """CPU time every process on the machine has used (all cores, idle and I/O wait excluded),
    from /proc/stat: beside one process's share it shows whether other jobs were running."""
    fields = Path("/proc/stat").read_text(encoding="ascii").split("\n", 1)[0].split()[1:9]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields)
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _start(cmd: Sequence[str]) -> Server:
    proc = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    first = proc.stdout.readline() if proc.stdout is not None else ""
    url = next((word for word in first.split() if word.startswith("ws")), "")
    if not url:
        proc.kill()
        raise RuntimeError(f"server printed {first!r} instead of its URL")
    # Drain the rest so that a server which logs every event never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in proc.stdout or []], daemon=True).start()
    return Server(proc, url.rstrip("/"))


def start_echo() -> Server:
    return _start([sys.executable, __file__, "--serve-echo"])


def start_relay(data_dir: Path, extra: Sequence[str] = ()) -> Server:
    """The relay as an operator runs it, but without the per-account rate limit: the bench
    measures capacity, and its 100 senders each go well past 100 requests a second. ``extra``:
    more options (bench/warrant.py adds --lawful-intercept)."""
    cmd = [sys.executable, "-m", "parley", "relay", "--host", "127.0.0.1", "--port", "0"]
    return _start([*cmd, "--data", str(data_dir), "--rate", "0", "--log-level", "WARNING", *extra])


# -- load helpers ---------------------------------------------------------------------------------


_READ_BUFFER = memoryview(bytearray(256 * 1024))  # the load's one thread reads into it
_BINARY_FIN = 0x82  # first byte of a whole binary frame (RFC 6455 s5.2)
_UNWRITTEN: dict[SinkConnection, None] = {}  # connections with frames to write this turn


def client_frame(data: bytes) -> bytes:
    """``data`` as one masked binary client frame (RFC 6455 s5.2), built here rather than by
    websockets' ``send_binary``: that draws each mask from ``os.urandom`` (a system call per
    frame, 9% of the load's time). The mask protects intermediaries from cache poisoning (RFC
    6455 s10.3); a load generator on loopback needs it valid, not unpredictable."""
    size = len(data)
    if size < 126:
        head = bytes((_BINARY_FIN, 0x80 | size))
    elif size < 65536:
        head = _HEAD_16.pack(_BINARY_FIN, 0xFE, size)
    else:
        head = _HEAD_64.pack(_BINARY_FIN, 0xFF, size)
    mask = random.randbytes(4)
    return head + mask + apply_mask(data, mask)


_HEAD_16 = struct.Struct("!BBH")
_HEAD_64 = struct.Struct("!BBQ")


def _flush_unwritten() -> None:
    """End of the loop turn: each connection's frames of the turn in one write."""
    ready = list(_UNWRITTEN)
    _UNWRITTEN.clear()
    for ws in ready:
        ws.flush()


class SinkConnection(ClientConnection, asyncio.BufferedProtocol):
    """A client connection that hands each whole binary message to ``sink`` once one is set.

    Until then (logins) messages queue as usual for ``recv``. Both closed loops use it, so the
    load costs the generator the same per frame whichever server it drives, and each side of
    the comparison is read and written the same way. A sink that raises records the error in
    ``errors``; the phase re-raises it (an exception must not vanish inside the transport's
    callback).

    Why it is hand-driven: the load generator is one process on the same cores as the servers,
    so every microsecond it spends per message is taken from the server it measures (in
    bench/relay_scale.py the load used as much CPU as the relay). So, once a sink is set:

    - reads go into one shared buffer (``recv_into``), as the relay's own connections do;
    - whole binary frames are cut from the stream here and go straight to the sink; the first
      frame that is anything else (close, ping, a fragment) hands the rest of the stream back to
      websockets for good, so closing and keep-alive work as before;
    - ``send_now`` frames with :func:`client_frame` and writes at once (one write per message,
      as before); the acks of one loop turn go out as one frame at the turn's end, as
      RelayClient sends them.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.sink: Callable[[bytes], object] | None = None
        self.before_flush: Callable[[], None] | None = None
        self.errors: list[BaseException] = []
        self._raw = False  # frames cut here (see the class doc)
        self._handed_back = False  # websockets parses everything from here on
        self._rest = b""
        self._out: list[bytes] = []

    def process_event(self, event: Event) -> None:
        sink = self.sink
        if (
            sink is None
            or type(event) is not Frame
            or event.opcode is not Opcode.BINARY
            or not event.fin
        ):
            super().process_event(event)  # control frames, and nothing else is ever sent here
            return
        self._to_sink(sink, bytes(event.data))

    def _to_sink(self, sink: Callable[[bytes], object], data: bytes) -> None:
        try:
            sink(data)
        except Exception as exc:  # kept, and re-raised by the phase
            self.errors.append(exc)
            self.sink = None

    def get_buffer(self, sizehint: int) -> memoryview:
        return _READ_BUFFER

    def buffer_updated(self, nbytes: int) -> None:
        data = bytes(_READ_BUFFER[:nbytes])
        if not self._raw:
            # Only at a frame boundary: nothing buffered in websockets' reader (after a login
            # the relay sends nothing until it is sent something).
            if self._handed_back or self.sink is None or self.protocol.reader.buffer:
                self.data_received(data)
                return
            self._raw = True
        self._cut_frames(self._rest + data if self._rest else data)

    def _cut_frames(self, data: bytes) -> None:
        end, pos = len(data), 0
        while end - pos >= 2:
            sink, size, head = self.sink, data[pos + 1], 2
            if data[pos] != _BINARY_FIN or sink is None or size & 0x80:
                # Anything but a whole unmasked binary frame: websockets' job from here on
                # (it answers pings, closes, and refuses what is invalid).
                self._raw, self._handed_back, self._rest = False, True, b""
                self.data_received(data[pos:])
                return
            if size == 126:
                if end - pos < 4:
                    break
                size, head = int.from_bytes(data[pos + 2 : pos + 4]), 4
            elif size == 127:
                if end - pos < 10:
                    break
                size, head = int.from_bytes(data[pos + 2 : pos + 10]), 10
            stop = pos + head + size
            if stop > end:
                break
            self._to_sink(sink, data[pos + head : stop])
            pos = stop
        self._rest = data[pos:]

    def send_now(self, data: bytes) -> None:
        """Frame ``data`` and write it at once, one write per message as a client sends one
        (``send`` minus its coroutine and drain; the window bounds what is in flight). Not
        gathered per turn: that would hand the servers several messages per read, which no
        set of real clients does, and flatter echo's figures far more than the relay's."""
        if self.protocol.state is State.OPEN:
            self.transport.write(client_frame(data))

    def queue_frame(self, data: bytes) -> None:
        """Add a frame to this turn's write (only from ``before_flush``: the turn's acks, which
        RelayClient too sends as one frame per turn)."""
        self._out.append(client_frame(data))

    def schedule_flush(self) -> None:
        if not _UNWRITTEN:
            asyncio.get_running_loop().call_soon(_flush_unwritten)
        _UNWRITTEN[self] = None

    def flush(self) -> None:
        if self.before_flush is not None:
            self.before_flush()
        out, self._out = self._out, []
        if out and self.protocol.state is State.OPEN:
            self.transport.write(b"".join(out))


def _raise_sink_errors(conns: Sequence[SinkConnection]) -> None:
    for ws in conns:
        if ws.errors:
            raise ws.errors[0]


def _payload(at: float | None = None) -> bytes:
    """A payload stamped with its send time (by default, now)."""
    return STAMP.pack(time.perf_counter() if at is None else at).ljust(MESSAGE_SIZE, b"\x00")


def _latency(payload: bytes) -> float:
    sent_at: float = STAMP.unpack_from(payload)[0]
    return time.perf_counter() - sent_at


def _send_stamped(ws: SinkConnection, at: float) -> None:
    ws.send_now(_payload(at))


def _send_to(a: RelayConn, b: RelayConn, at: float) -> None:
    a.ws.send_now(a.send_frame(b.account, _payload(at)))


async def _open_loop(rate: float, senders: Sequence[Callable[[float], object]]) -> None:
    """Send at ``rate`` messages per second for DURATION, round robin over ``senders``.

    Message k is due at ``start + k / rate``; each wake-up sends every message now due, and a
    sender stamps its message with that due time, not the time it actually left. So a load
    generator that falls behind makes the latency worse, never better (no coordinated
    omission), and one timer serves every connection (a coroutine and a sleep per message would
    cost the load more CPU than the server spends at these rates)."""
    start = time.perf_counter()
    total = int(rate * DURATION)
    interval = 1 / rate
    sent = 0
    while sent < total:
        due = min(total, int((time.perf_counter() - start) / interval) + 1)
        while sent < due:
            senders[sent % len(senders)](start + sent * interval)
            sent += 1
        await asyncio.sleep(max(0.0, start + sent * interval - time.perf_counter()))


async def _gather_bounded(factories: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run coroutine factories with at most CONNECT_CONCURRENCY at once, results in order."""
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(factory: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await factory()

    return list(await asyncio.gather(*(one(f) for f in factories)))


# CPU shares over the last closed loop's measured seconds: this load generator's ("load") and
# those of the processes a caller named (``relay_saturation(..., others=...)``).
SHARES: dict[str, float] = {}


async def _measure(
    server: Relay, counts: list[int], others: Mapping[str, Callable[[], float]] | None = None
) -> tuple[float, float]:
    """Messages per second over DURATION, and the server's CPU seconds per second meanwhile.

    The CPU share tells a reader whether the server was the bottleneck (near 1.0: one core busy)
    or the client load was (well below 1.0), which the rate alone cannot say. The load's own
    share and those of ``others`` (name: CPU seconds so far) over the same seconds go to
    ``SHARES``.
    """
    probes = {"load": time.process_time, **(others or {})}
    start_count, start, start_cpu = sum(counts), time.perf_counter(), server.cpu_seconds()
    before = {name: probe() for name, probe in probes.items()}
    await asyncio.sleep(DURATION)
    elapsed = time.perf_counter() - start
    busy = (server.cpu_seconds() - start_cpu) / elapsed
    SHARES.clear()
    SHARES.update({name: (probe() - before[name]) / elapsed for name, probe in probes.items()})
    return (sum(counts) - start_count) / elapsed, busy


def p99_ms(samples: list[float]) -> float:
    """The 99th percentile in milliseconds (nearest rank); 0.0 with no samples."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000


# -- the echo baseline ----------------------------------------------------------------------------


async def _echo_connect(url: str) -> SinkConnection:
    ws = await connect(url, compression=None, max_size=2**20, create_connection=SinkConnection)
    return cast(SinkConnection, ws)  # what create_connection builds


async def echo_saturation(server: Server) -> tuple[float, float]:
    """Closed loop: WINDOW messages in flight per connection.

    Returns:
        echoed messages per second, and the share of one core the server used meanwhile.
    """
    conns = [await _echo_connect(server.url) for _ in range(PAIRS)]
    stopped = [False]
    counts = [0] * PAIRS

    def pump(index: int, ws: SinkConnection) -> Callable[[bytes], object]:
        def echoed(_: bytes) -> None:
            counts[index] += 1
            if not stopped[0]:
                ws.send_now(_payload())

        return echoed

    for index, ws in enumerate(conns):
        ws.sink = pump(index, ws)
        for _ in range(WINDOW):
            ws.send_now(_payload())
    await asyncio.sleep(DURATION / 4)  # warm-up
    rate, busy = await _measure(server, counts)
    stopped[0] = True
    _raise_sink_errors(conns)
    for ws in conns:
        await ws.close()
    return rate, busy


async def echo_latency(url: str, rate: float) -> list[float]:
    """Open loop at ``rate`` messages per second spread over the connections; latencies in s."""
    conns = [await _echo_connect(url) for _ in range(PAIRS)]
    samples: list[float] = []

    def echoed(message: bytes) -> None:
        samples.append(_latency(message))

    for ws in conns:
        ws.sink = echoed
    await _open_loop(rate, [partial(_send_stamped, ws) for ws in conns])
    await asyncio.sleep(0.2)  # the last messages in flight
    _raise_sink_errors(conns)
    for ws in conns:
        await ws.close()
    return samples


async def idle_connections(
    server: Server,
    opener: Callable[[], Awaitable[T]],
    close: Callable[[T], Awaitable[None]],
    count: int = IDLE,
) -> float:
    """RSS growth of ``server`` per idle connection, after opening ``count`` with ``opener``."""
    await asyncio.sleep(0.2)
    before = server.rss_bytes()
    conns = await _gather_bounded([opener] * count)
    await asyncio.sleep(0.5)  # let the server settle (handshake buffers released)
    after = server.rss_bytes()
    await asyncio.gather(*(close(conn) for conn in conns))
    return max(after - before, 1) / count


async def _close_ws(ws: ClientConnection) -> None:
    await ws.close()


async def _close_relay(conn: RelayConn) -> None:
    await conn.ws.close()


async def _echo_idle_open(url: str) -> ClientConnection:
    ws = await _echo_connect(url)
    await ws.send(b"x")  # one round trip, as the relay's authentication makes
    await ws.recv()
    return ws


async def run_echo(server: Server) -> dict[str, float]:
    url = server.url
    saturation, busy = await echo_saturation(server)
    latencies = await echo_latency(url, saturation / 2)
    return {
        "echo_msgs_per_s": saturation,
        "echo_server_cpu": busy,
        "echo_p99_ms": p99_ms(latencies),
    }


# -- the relay ------------------------------------------------------------------------------------


class RelayConn:
    """A lean, hand-driven relay connection: the load must cost the client as little as echo's."""

    def __init__(self, ws: SinkConnection, account: bytes) -> None:
        self.ws = ws
        self.account = account
        self._next = 0
        self._acks: list[bytes] = []

    @classmethod
    async def login(cls, url: str, key: SigningKey | None = None) -> RelayConn:
        key = key or SigningKey.generate()
        ws = cast(
            SinkConnection,
            await connect(
                url, compression=None, max_size=wire.MAX_FRAME, create_connection=SinkConnection
            ),
        )
        challenge = wire.decode_server_frame(_bytes(await ws.recv()))
        if not isinstance(challenge, wire.Challenge):
            raise RuntimeError(f"expected a challenge, got {challenge!r}")
        signed = key.sign(wire.auth_message(challenge.relay, challenge.nonce)).signature
        account = bytes(key.verify_key)
        caps = (wire.CAP_BATCH, wire.CAP_DELIVER_BATCH)
        await ws.send(wire.encode(wire.Auth(1, account, bytes(signed), caps=caps)))
        welcome = wire.decode_server_frame(_bytes(await ws.recv()))
        if not isinstance(welcome, wire.Welcome):
            raise RuntimeError(f"login refused: {welcome!r}")
        return cls(ws, account)

    def send_frame(self, recipient: bytes, payload: bytes) -> bytes:
        """A ``send`` frame, packed straight from its fields: the bytes ``wire.encode`` makes
        (tests/test_bench_relay.py checks), without a frame object per message."""
        self._next += 1
        message_id = self._next.to_bytes(8, "big") + self.account[:8]
        FRAMES[0] += 1
        return _pack(
            {
                "type": "send",
                "id": self._next & 0xFFFFFFFF,
                "to": recipient,
                "message_id": message_id,
                "payload": payload,
            }
        )

    def ack_soon(self, message_id: bytes) -> None:
        """Acknowledge at the end of this loop turn, with the turn's other acks, as RelayClient
        does (its ``_ack_soon``); the relay's Welcome to this bench always announces batching."""
        if not self._acks:
            self.ws.before_flush = self._frame_acks
            self.ws.schedule_flush()
        self._acks.append(message_id)

    def _frame_acks(self) -> None:
        """The turn's acks as Ack frames, written with the connection's other frames."""
        ready, self._acks = self._acks, []
        for start in range(0, len(ready), wire.MAX_ACK_BATCH):
            chunk = ready[start : start + wire.MAX_ACK_BATCH]
            FRAMES[0] += 1
            self.ws.queue_frame(wire.encode(wire.Ack(chunk[0], tuple(chunk[1:]))))


_pack = msgpack.Packer(use_bin_type=True, autoreset=True).pack


def _bytes(message: str | bytes) -> bytes:
    if isinstance(message, str):
        raise RuntimeError("the relay sent a text frame")
    return message


def _server_map(message: bytes) -> dict[str, Any]:
    """A server frame as its msgpack map. The load checks each frame's type, not every field
    as RelayClient does (net/wire.py): its CPU is taken from the relay it measures, and the
    relay's frames are checked by the wire tests."""
    FRAMES[0] += 1
    frame = msgpack.unpackb(message)
    if type(frame) is not dict:
        raise RuntimeError(f"not a relay frame: {message[:40]!r}")
    return frame


def _receipts(message: bytes) -> int:
    """How many sends one receipt frame confirms (a refusal is a bench failure)."""
    frame = _server_map(message)
    kind = frame.get("type")
    if kind == "sent_batch":
        return len(frame["receipts"])
    if kind == "sent":
        return 1
    raise RuntimeError(f"the relay refused a send: {wire.decode_server_frame(message)!r}")


def _deliveries(conn: RelayConn, message: bytes) -> list[bytes]:
    """The payloads of the deliveries in one frame, each acknowledged (at the end of this loop
    turn)."""
    frame = _server_map(message)
    kind = frame.get("type")
    if kind == "deliver_batch":
        entries = frame["messages"]
        for entry in entries:
            conn.ack_soon(entry[1])
        return [entry[2] for entry in entries]
    if kind == "deliver":
        conn.ack_soon(frame["message_id"])
        return [frame["payload"]]
    raise RuntimeError(f"unexpected frame {wire.decode_server_frame(message)!r}")


async def _drain_receipts(conn: RelayConn, stored: list[int] | None = None) -> None:
    """Read the sender's ``sent`` receipts (counting them) so its socket never backs up."""
    with contextlib.suppress(ConnectionClosed):
        async for message in conn.ws:
            count = _receipts(_bytes(message))
            if stored is not None:
                stored[0] += count


async def _receive(conn: RelayConn, on_message: Callable[[bytes], Awaitable[bool]]) -> None:
    """Acknowledge each delivery, then hand its payload over; stop when told to."""
    with contextlib.suppress(ConnectionClosed):
        async for message in conn.ws:
            for payload in _deliveries(conn, _bytes(message)):
                if not await on_message(payload):
                    return


async def _pairs(
    url: str, keys: Sequence[SigningKey] | None = None
) -> list[tuple[RelayConn, RelayConn]]:
    """PAIRS pairs of logged-in connections (fresh accounts, or these 2 * PAIRS keys)."""
    chosen = keys or [SigningKey.generate() for _ in range(2 * PAIRS)]
    conns = await _gather_bounded([partial(RelayConn.login, url, key) for key in chosen])
    return list(zip(conns[::2], conns[1::2], strict=True))


async def _close_all(
    pairs: Sequence[tuple[RelayConn, RelayConn]], tasks: list[asyncio.Task[None]]
) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for a, b in pairs:
        await a.ws.close()
        await b.ws.close()


async def relay_saturation(
    server: Relay,
    keys: Sequence[SigningKey] | None = None,
    pairs: list[tuple[RelayConn, RelayConn]] | None = None,
    others: Mapping[str, Callable[[], float]] | None = None,
) -> tuple[float, float, float]:
    """Closed loop as for echo, but A's message goes through the relay to B, who acknowledges.
    ``keys``: the accounts of the pairs (bench/warrant.py names a target among them); ``pairs``:
    logged-in pairs to use instead (bench/relay_scale.py puts A and B on different relays);
    ``others``: more processes whose CPU share to put in ``SHARES`` (see ``_measure``).

    Returns:
        delivered messages per second, the share of one core the relay used meanwhile, and the
        WebSocket frames per delivered message (both directions, both clients).
    """
    pairs = pairs or await _pairs(server.url, keys)
    stopped = [False]
    counts = [0] * PAIRS
    payload = bytes(MESSAGE_SIZE)

    def pump(index: int, a: RelayConn, b: RelayConn) -> Callable[[bytes], object]:
        def delivered(message: bytes) -> None:
            for _ in _deliveries(b, message):
                counts[index] += 1
                if not stopped[0]:
                    a.ws.send_now(a.send_frame(b.account, payload))

        return delivered

    for index, (a, b) in enumerate(pairs):
        a.ws.sink = _receipts
        b.ws.sink = pump(index, a, b)
    for a, b in pairs:
        for _ in range(WINDOW):
            a.ws.send_now(a.send_frame(b.account, payload))
    await asyncio.sleep(DURATION / 4)  # warm-up
    frames, messages = FRAMES[0], sum(counts)
    rate, busy = await _measure(server, counts, others)
    frames_per_msg = (FRAMES[0] - frames) / max(sum(counts) - messages, 1)
    stopped[0] = True
    _raise_sink_errors([conn.ws for pair in pairs for conn in pair])
    await _close_all(pairs, [])
    return rate, busy, frames_per_msg


async def relay_durable(url: str) -> tuple[float, float, float]:
    """B offline: A queues DURABLE messages (each stored before its receipt); then B drains.

    Returns:
        messages per second over both phases, the queueing seconds, the draining seconds.
    """
    keys = [SigningKey.generate() for _ in range(PAIRS)]
    recipients = await _gather_bounded([partial(RelayConn.login, url, k) for k in keys])
    accounts = [c.account for c in recipients]
    for conn in recipients:
        await conn.ws.close()  # registered, now offline
    senders = await _gather_bounded([lambda: RelayConn.login(url)] * PAIRS)
    payload = bytes(MESSAGE_SIZE)
    total = PAIRS * DURABLE

    start = time.perf_counter()
    stored = [0]
    drains = [asyncio.create_task(_drain_receipts(a, stored)) for a in senders]
    for a, account in zip(senders, accounts, strict=True):
        for _ in range(DURABLE):
            await a.ws.send(a.send_frame(account, payload))
    while stored[0] < total:
        await asyncio.sleep(0.001)
    queued_at = time.perf_counter()

    received = [0]
    finished = asyncio.Event()

    async def on_message(_: bytes) -> bool:
        received[0] += 1
        if received[0] >= total:
            finished.set()
        return True

    bobs = await _gather_bounded([partial(RelayConn.login, url, k) for k in keys])
    readers = [asyncio.create_task(_receive(b, on_message)) for b in bobs]
    await finished.wait()
    elapsed = time.perf_counter() - start
    for task in [*drains, *readers]:
        task.cancel()
    await asyncio.gather(*drains, *readers, return_exceptions=True)
    for conn in [*senders, *bobs]:
        await conn.ws.close()
    return total / elapsed, queued_at - start, elapsed - (queued_at - start)


async def relay_latency(
    url: str, rate: float, pairs: list[tuple[RelayConn, RelayConn]] | None = None
) -> list[float]:
    """Open loop at ``rate`` messages per second through the relay; latencies in seconds. The
    same machinery as ``echo_latency``: one timer sends, sinks read."""
    pairs = pairs or await _pairs(url)
    samples: list[float] = []

    def receiver(b: RelayConn) -> Callable[[bytes], None]:
        def delivered(message: bytes) -> None:
            for payload in _deliveries(b, message):
                samples.append(_latency(payload))

        return delivered

    for a, b in pairs:
        a.ws.sink = _receipts
        b.ws.sink = receiver(b)
    await _open_loop(rate, [partial(_send_to, a, b) for a, b in pairs])
    await asyncio.sleep(0.2)  # the last messages in flight
    _raise_sink_errors([conn.ws for pair in pairs for conn in pair])
    await _close_all(pairs, [])
    return samples


async def run_relay(server: Server, echo_rate: float) -> dict[str, float]:
    url = server.url
    saturation, busy, frames_per_msg = await relay_saturation(server)
    durable, queue_s, drain_s = await relay_durable(url)
    latencies = await relay_latency(url, echo_rate / 2)
    unloaded = await relay_latency(url, saturation / 2)
    return {
        "relay_msgs_per_s": saturation,
        "relay_server_cpu": busy,
        "relay_frames_per_msg": frames_per_msg,
        "durable_msgs_per_s": durable,
        "durable_queue_s": queue_s,
        "durable_drain_s": drain_s,
        "relay_p99_ms": p99_ms(latencies),
        "relay_p99_ms_at_half_relay": p99_ms(unloaded),
    }


async def idle_memory(data_dir: Path) -> dict[str, float]:
    """RSS per idle connection, each server in a fresh process.

    Fresh, because RSS growth in a process that has already run the load phases depends on how
    much freed memory the allocator can reuse, which varied the figure by a factor of two.
    """
    echo = start_echo()
    try:
        echo_url = echo.url
        echo_bytes = await idle_connections(echo, lambda: _echo_idle_open(echo_url), _close_ws)
    finally:
        echo.stop()
    relay = start_relay(data_dir)
    try:
        url = relay.url
        relay_bytes = await idle_connections(relay, lambda: RelayConn.login(url), _close_relay)
    finally:
        relay.stop()
    return {"echo_idle_conn_bytes": echo_bytes, "relay_idle_conn_bytes": relay_bytes}


# -- main -----------------------------------------------------------------------------------------


async def bench(data_dir: Path) -> dict[str, float | int | str]:
    echo = start_echo()
    try:
        figures: dict[str, float | int | str] = dict(await run_echo(echo))
    finally:
        echo.stop()
    relay = start_relay(data_dir)
    try:
        figures.update(await run_relay(relay, float(figures["echo_msgs_per_s"])))
    finally:
        relay.stop()
    figures.update(await idle_memory(data_dir / "idle"))
    echo_rate = float(figures["echo_msgs_per_s"])
    figures.update(
        live_ratio=float(figures["relay_msgs_per_s"]) / echo_rate,
        live_frames_ratio=float(figures["relay_msgs_per_s"])
        * float(figures["relay_frames_per_msg"])
        / (echo_rate * FRAMES_PER_ECHO),
        durable_ratio=float(figures["durable_msgs_per_s"]) / echo_rate,
        idle_conn_memory_ratio=float(figures["relay_idle_conn_bytes"])
        / float(figures["echo_idle_conn_bytes"]),
        pairs=PAIRS,
        window=WINDOW,
        message_bytes=MESSAGE_SIZE,
        durable_messages=PAIRS * DURABLE,
        idle_connections=IDLE,
        quick=int(QUICK),
        echo_load_bound=int(float(figures["echo_server_cpu"]) < LOAD_BOUND_SHARE),
    )
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--serve-echo", action="store_true", help="run the bare echo server")
    args = parser.parse_args(argv)
    if args.serve_echo:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve_echo())
        return 0
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as data_dir:
        figures = asyncio.run(bench(Path(data_dir)))
    if figures["echo_load_bound"]:
        print(
            f"note: the echo server used {float(figures['echo_server_cpu']):.0%} of a core: the "
            "load generator (or another job), not echo, set the baseline; "
            "the ratios flatter the relay"
        )
    emit(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
