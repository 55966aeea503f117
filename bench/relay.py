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
- ``echo_p99_ms`` and ``relay_p99_ms``: open-loop at half of echo's saturation rate.
- ``idle_conn_memory_ratio``: RSS growth per idle (authenticated) relay connection over a bare
  websockets server's, ``IDLE`` connections, compression off on both.

PARLEY_BENCH_QUICK=1 shrinks every count so the test suite can check the output's shape quickly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from _common import emit
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve

QUICK = os.environ.get("PARLEY_BENCH_QUICK") == "1"
PAIRS = 4 if QUICK else 100
WINDOW = 4  # messages in flight per pair in the closed-loop phases
DURATION = 0.4 if QUICK else 5.0  # seconds per closed-loop or open-loop phase
DURABLE = 5 if QUICK else 50  # messages queued per pair for an offline recipient
IDLE = 20 if QUICK else 2000  # idle connections for the memory comparison
MESSAGE_SIZE = 256
CONNECT_CONCURRENCY = 50  # below asyncio's default listen backlog of 100
STAMP = struct.Struct("<d")  # perf_counter of the send, at the start of each payload


# -- servers, each in its own subprocess ---------------------------------------------------------


async def _echo_handler(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


async def _serve_echo() -> None:
    async with serve(_echo_handler, "127.0.0.1", 0, compression=None, max_size=2**20) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"ws://127.0.0.1:{port}", flush=True)
        await asyncio.Future()


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

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


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


def start_relay(data_dir: Path) -> Server:
    cmd = [sys.executable, "-m", "parley", "relay", "--host", "127.0.0.1", "--port", "0"]
    return _start([*cmd, "--data", str(data_dir)])


# -- load helpers ---------------------------------------------------------------------------------


def _payload() -> bytes:
    return STAMP.pack(time.perf_counter()).ljust(MESSAGE_SIZE, b"\x00")


def _latency(payload: bytes) -> float:
    return time.perf_counter() - STAMP.unpack_from(payload)[0]


async def _gather_bounded(factories: Sequence[Callable[[], Awaitable[object]]]) -> list[object]:
    """Run coroutine factories with at most CONNECT_CONCURRENCY at once, results in order."""
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(factory: Callable[[], Awaitable[object]]) -> object:
        async with gate:
            return await factory()

    return list(await asyncio.gather(*(one(f) for f in factories)))


def p99_ms(samples: list[float]) -> float:
    """The 99th percentile in milliseconds (nearest rank); 0.0 with no samples."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000


# -- the echo baseline ----------------------------------------------------------------------------


async def _echo_connect(url: str) -> ClientConnection:
    return await connect(url, compression=None, max_size=2**20)


async def echo_saturation(url: str) -> float:
    """Closed loop: WINDOW messages in flight per connection; echoed messages per second."""
    conns = [await _echo_connect(url) for _ in range(PAIRS)]
    stop = asyncio.Event()
    counts = [0] * PAIRS

    async def pump(index: int, ws: ClientConnection) -> None:
        for _ in range(WINDOW):
            await ws.send(_payload())
        while True:
            await ws.recv()
            counts[index] += 1
            if stop.is_set():
                return
            await ws.send(_payload())

    tasks = [asyncio.create_task(pump(i, ws)) for i, ws in enumerate(conns)]
    await asyncio.sleep(DURATION / 4)  # warm-up
    start_count, start = sum(counts), time.perf_counter()
    await asyncio.sleep(DURATION)
    rate = (sum(counts) - start_count) / (time.perf_counter() - start)
    stop.set()
    await asyncio.wait(tasks, timeout=5)
    for ws in conns:
        await ws.close()
    return rate


async def echo_latency(url: str, rate: float) -> list[float]:
    """Open loop at ``rate`` messages per second spread over the connections; latencies in s."""
    conns = [await _echo_connect(url) for _ in range(PAIRS)]
    samples: list[float] = []
    interval = PAIRS / rate

    async def sender(ws: ClientConnection, offset: float) -> None:
        deadline = time.perf_counter() + DURATION
        next_at = time.perf_counter() + offset
        while next_at < deadline:
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            await ws.send(_payload())
            next_at += interval

    async def receiver(ws: ClientConnection) -> None:
        with contextlib.suppress(Exception):
            async for message in ws:
                samples.append(_latency(message if isinstance(message, bytes) else b""))

    readers = [asyncio.create_task(receiver(ws)) for ws in conns]
    await asyncio.gather(*(sender(ws, i * interval / PAIRS) for i, ws in enumerate(conns)))
    await asyncio.sleep(0.2)  # the last messages in flight
    for ws in conns:
        await ws.close()
    await asyncio.gather(*readers)
    return samples


async def idle_connections(
    url: str, server: Server, opener: Callable[[], Awaitable[object]]
) -> float:
    """RSS growth of ``server`` per idle connection, after opening IDLE of them with ``opener``."""
    await asyncio.sleep(0.2)
    before = server.rss_bytes()
    conns = await _gather_bounded([opener] * IDLE)
    await asyncio.sleep(0.5)  # let the server settle (handshake buffers released)
    after = server.rss_bytes()
    for conn in conns:
        if isinstance(conn, ClientConnection):
            await conn.close()
    return max(after - before, 1) / IDLE


async def _echo_idle_open(url: str) -> ClientConnection:
    ws = await _echo_connect(url)
    await ws.send(b"x")  # one round trip, as the relay's authentication makes
    await ws.recv()
    return ws


async def run_echo(server: Server) -> dict[str, float]:
    url = server.url
    saturation = await echo_saturation(url)
    latencies = await echo_latency(url, saturation / 2)
    per_conn = await idle_connections(url, server, lambda: _echo_idle_open(url))
    return {
        "echo_msgs_per_s": saturation,
        "echo_p99_ms": p99_ms(latencies),
        "echo_idle_conn_bytes": per_conn,
    }


# -- main -----------------------------------------------------------------------------------------


async def bench() -> dict[str, float | int | str]:
    echo = start_echo()
    try:
        figures: dict[str, float | int | str] = dict(await run_echo(echo))
    finally:
        echo.stop()
    figures.update(pairs=PAIRS, message_bytes=MESSAGE_SIZE, idle_connections=IDLE)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--serve-echo", action="store_true", help="run the bare echo server")
    args = parser.parse_args(argv)
    if args.serve_echo:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve_echo())
        return 0
    with tempfile.TemporaryDirectory(prefix="parley-bench-"):
        emit(asyncio.run(bench()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
