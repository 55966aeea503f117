"""Fixtures for the network tests: a real `parley relay` subprocess on 127.0.0.1, port 0, and a
relay served in the test's own event loop with a hand-driven clock.

The relay runs as its own process (not in the test's event loop) so that the tests exercise exactly
what an operator runs, and so that a test can SIGKILL it mid-flow and start it again on the same
data directory to check that nothing acknowledged is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

import pytest
from nacl.signing import SigningKey
from parley.net import wire
from parley.net.client import Delivery, RelayClient
from parley.net.client_backoff import Backoff
from parley.net.relay.limits import RelayConfig
from parley.net.relay.server import RelayServer, serve_relay
from websockets.asyncio.client import ClientConnection, connect

from tests.redis_server import RedisClusterServers, RedisServer
from tests.redis_server import available as redis_available


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server (AOF everysec) for the session; tests flush it before use."""
    if not redis_available():
        pytest.fail("redis-server is not installed: run scripts/setup.sh")
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServers]:
    """A real 3-node Redis Cluster (three redis-server processes) for the slow tests."""
    if not redis_available():
        pytest.fail("redis-server is not installed: run scripts/setup.sh")
    cluster = RedisClusterServers(tmp_path_factory.mktemp("redis-cluster")).start()
    yield cluster
    cluster.stop()


# How long a relay may take to print its URL (interpreter start-up and imports on a busy CI box).
STARTUP_TIMEOUT = 30.0


class RelayProcess:
    """One `parley relay` subprocess that can be killed and started again on the same data dir.

    The relay prints the URL it listens on as its first line of output; the rest of its output is
    drained by threads into ``lines`` (its stderr is the operator's log) so that a chatty relay
    never blocks on a full pipe, and so a test can read the log (for example, that no payload
    appears in it).
    """

    def __init__(self, data_dir: Path, extra_args: list[str] | None = None) -> None:
        self.data_dir = data_dir
        self.extra_args = list(extra_args or [])
        self.url = ""
        self.port = 0
        self.lines: list[str] = []
        self._proc: subprocess.Popen[str] | None = None
        self._drains: list[threading.Thread] = []

    @property
    def pid(self) -> int:
        """The process id of the running relay (for reading its RSS, or for signals)."""
        if self._proc is None:
            raise RuntimeError("the relay is not running")
        return self._proc.pid

    @property
    def http_url(self) -> str:
        """The same host and port as ``url`` with an http scheme (health and metrics endpoints)."""
        return "http" + self.url[2:] if self.url.startswith("ws") else self.url

    def start(self, *, port: int | None = None) -> str:
        """Start the relay on ``port`` (default: its previous port, else 0); return its URL."""
        if self._proc is not None:
            raise RuntimeError("the relay is already running")
        chosen = self.port if port is None else port
        cmd = [sys.executable, "-m", "parley", "relay", "--host", "127.0.0.1"]
        cmd += ["--port", str(chosen), "--data", str(self.data_dir), *self.extra_args]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        self._proc = proc
        # The operator's log (stderr) is drained from the start: the relay logs before it prints.
        self._drains = [threading.Thread(target=self._drain, args=(proc.stderr,), daemon=True)]
        self._drains[0].start()
        first = _readline_with_timeout(proc, STARTUP_TIMEOUT)
        url = first.strip()
        if not url.startswith("ws://"):
            self.kill()
            raise RuntimeError(f"the relay did not print its URL first; it printed {first!r}")
        self.url = url.rstrip("/")
        self.port = int(self.url.rsplit(":", 1)[1])
        self._drains.append(threading.Thread(target=self._drain, args=(proc.stdout,), daemon=True))
        self._drains[1].start()
        return self.url

    def _drain(self, stream: IO[str] | None) -> None:
        if stream is None:
            return
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def kill(self) -> None:
        """SIGKILL the relay: no shutdown handler runs, as after a power cut or an OOM kill."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=STARTUP_TIMEOUT)
        self._reap(proc)

    def terminate(self) -> int:
        """Ask the relay to stop (SIGTERM) and return its exit code."""
        proc, self._proc = self._proc, None
        if proc is None:
            return 0
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=STARTUP_TIMEOUT)
        self._reap(proc)
        return code

    def _reap(self, proc: subprocess.Popen[str]) -> None:
        for drain in self._drains:
            drain.join(timeout=STARTUP_TIMEOUT)
        self._drains = []
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    def alive(self) -> bool:
        """Whether the relay process is still running (a crash on bad input would end it)."""
        return self._proc is not None and self._proc.poll() is None


def _readline_with_timeout(proc: subprocess.Popen[str], timeout: float) -> str:
    """Read the first stdout line, failing clearly if the relay hangs or dies before printing it."""
    result: list[str] = []
    reader = threading.Thread(
        target=lambda: result.append(proc.stdout.readline() if proc.stdout else ""), daemon=True
    )
    reader.start()
    reader.join(timeout)
    if not result:
        proc.kill()
        raise RuntimeError(f"the relay printed nothing within {timeout} s")
    if not result[0]:
        code = proc.wait(timeout=timeout)
        raise RuntimeError(f"the relay exited with code {code} before printing its URL")
    return result[0]


RelayFactory = Callable[..., RelayProcess]


class ManualClock:
    """The in-process relay's clock, moved by hand: time-to-live tests without any waiting."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@dataclass
class InProcessRelay:
    """A relay served by this test's own event loop, with its clock and store in reach."""

    url: str
    clock: ManualClock
    server: RelayServer


@pytest.fixture
async def inprocess_relay(tmp_path: Path) -> AsyncIterator[InProcessRelay]:
    """A relay in this event loop: a one-day TTL, no rate limit, and a hand-driven clock."""
    clock = ManualClock()
    config = RelayConfig(ttl=86_400.0, rate_per_second=0)
    async with serve_relay("127.0.0.1", 0, tmp_path / "inproc", config, clock=clock) as server:
        yield InProcessRelay(server.url, clock, server)


@pytest.fixture
def relay_factory(tmp_path: Path) -> Iterator[RelayFactory]:
    """Build relays with extra command-line options; every one built is killed at teardown."""
    built: list[RelayProcess] = []

    def make(extra_args: list[str] | None = None, data_dir: Path | None = None) -> RelayProcess:
        process = RelayProcess(data_dir or tmp_path / f"relay{len(built)}", extra_args)
        process.data_dir.mkdir(parents=True, exist_ok=True)
        built.append(process)
        return process

    yield make
    for process in built:
        process.kill()


@pytest.fixture
def relay(relay_factory: RelayFactory) -> RelayProcess:
    """A running relay with default settings and its own temporary data directory."""
    process = relay_factory()
    process.start()
    return process


class Peer:
    """A test account: an Ed25519 identity, its RelayClient, and what it has received.

    ``on_delivery`` here is the app's commit in miniature: it records the delivery (and, with
    ``dedupe``, drops a message id it has already stored, as the app's store does across restarts).
    """

    def __init__(self, url: str, key: SigningKey | None = None, **options: Any) -> None:
        self.key = key or SigningKey.generate()
        self.account = bytes(self.key.verify_key)
        self.received: list[Delivery] = []
        self.calls: list[bytes] = []  # every message id on_delivery was called with
        self.states: list[tuple[str, str]] = []
        self.fail_next = 0  # make on_delivery raise this many times (an app that cannot commit)
        self.after_commit: Callable[[Delivery], None] | None = None  # runs before the ack
        self._arrived = asyncio.Condition()
        options.setdefault("backoff", Backoff(base=0.05, maximum=0.5))
        options.setdefault("request_timeout", 10.0)
        options.setdefault("send_timeout", 20.0)
        self.client = RelayClient(
            url,
            self.account,
            self.sign,
            on_delivery=self._deliver,
            on_state=lambda state, detail: self.states.append((state, detail)),
            **options,
        )

    def sign(self, message: bytes) -> bytes:
        return bytes(self.key.sign(message).signature)

    async def _deliver(self, delivery: Delivery) -> None:
        self.calls.append(delivery.message_id)
        if self.fail_next > 0:
            self.fail_next -= 1
            raise RuntimeError("the test app refuses to commit this one")
        async with self._arrived:
            self.received.append(delivery)
            self._arrived.notify_all()
        if self.after_commit is not None:
            self.after_commit(delivery)

    async def wait_for(self, count: int, timeout: float = 15.0) -> list[Delivery]:
        """Wait until ``count`` messages in all have been committed; return them in order."""
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.received) >= count)
        return list(self.received)

    async def start(self, timeout: float = 15.0) -> Peer:
        await self.client.start()
        await self.client.wait_connected(timeout)
        return self

    def payloads(self) -> list[bytes]:
        return [delivery.payload for delivery in self.received]


PeerFactory = Callable[..., Peer]


@pytest.fixture
async def peers() -> AsyncIterator[PeerFactory]:
    """Build test accounts: ``peers(url, **client_options)``; all are closed at teardown."""
    made: list[Peer] = []

    def make(url: str, key: SigningKey | None = None, **options: Any) -> Peer:
        peer = Peer(url, key, **options)
        made.append(peer)
        return peer

    yield make
    for peer in made:
        await peer.client.close()


def message_id(n: int) -> bytes:
    """A distinct, readable 16-byte message id."""
    return n.to_bytes(16, "big")


class RawConnection:
    """A WebSocket to the relay driven by hand, to send what a well-behaved client never would."""

    def __init__(self, ws: ClientConnection, challenge: wire.Challenge) -> None:
        self.ws = ws
        self.challenge = challenge
        self._next_id = 0

    @classmethod
    async def open(cls, url: str, **options: Any) -> RawConnection:
        """Connect and read the relay's challenge (always the first frame)."""
        ws = await connect(url, compression=None, max_size=None, **options)
        challenge = wire.decode_server_frame(await _recv_bytes(ws))
        if not isinstance(challenge, wire.Challenge):
            raise RuntimeError(f"the relay opened with {challenge!r}, not a challenge")
        return cls(ws, challenge)

    def request_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def signature(self, key: SigningKey) -> bytes:
        """The correct answer to this connection's challenge, signed by ``key``."""
        message = wire.auth_message(self.challenge.relay, self.challenge.nonce)
        return bytes(key.sign(message).signature)

    async def login(self, key: SigningKey, invite: str | None = None) -> wire.Welcome:
        auth = wire.Auth(self.request_id(), bytes(key.verify_key), self.signature(key))
        reply = await self.request(auth if invite is None else replace(auth, invite=invite))
        if not isinstance(reply, wire.Welcome):
            raise RuntimeError(f"login refused: {reply!r}")
        return reply

    async def request(self, frame: wire.ClientFrame) -> wire.ServerFrame:
        await self.ws.send(wire.encode(frame))
        return await self.frame()

    async def frame(self, timeout: float = 10.0) -> wire.ServerFrame:
        """The next frame from the relay, skipping nothing."""
        async with asyncio.timeout(timeout):
            return wire.decode_server_frame(await _recv_bytes(self.ws))

    async def error(self, timeout: float = 10.0) -> wire.Error:
        """The next frame, which must be an error frame."""
        frame = await self.frame(timeout)
        if not isinstance(frame, wire.Error):
            raise AssertionError(f"expected an error frame, got {frame!r}")
        return frame

    async def closed_with(self, timeout: float = 10.0) -> int | None:
        """Wait for the relay to close the connection; return its close code."""
        async with asyncio.timeout(timeout):
            await self.ws.wait_closed()
        return self.ws.close_code

    async def close(self) -> None:
        await self.ws.close()


async def _recv_bytes(ws: ClientConnection) -> bytes:
    message = await ws.recv()
    if isinstance(message, str):
        raise AssertionError(f"the relay sent a text frame: {message!r}")
    return message


class Chatter:
    """Two well-behaved clients exchanging messages the whole time a test misbehaves next to them.

    ``progressed`` proves the relay kept serving them: it waits for deliveries that were sent
    *after* the call, so a relay that stalled or crashed on someone else's bad input fails it.
    """

    def __init__(self, alice: Peer, bob: Peer) -> None:
        self.alice = alice
        self.bob = bob
        self.sent = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.sent += 1
            await self.alice.client.send(self.bob.account, message_id(self.sent), b"chat")
            await asyncio.sleep(0.02)  # 50/s, well under the per-account rate limit

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def progressed(self, count: int = 5) -> None:
        """Wait until ``count`` messages sent from now on have reached bob (in order)."""
        target = self.sent + count
        await self.bob.wait_for(target)
        ids = [d.message_id for d in self.bob.received[:target]]
        if ids != [message_id(n) for n in range(1, target + 1)]:
            raise AssertionError("the bystanders' messages arrived out of order or not at all")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._task is not None and not self._task.cancelled() and self._task.exception():
            raise AssertionError("the bystanders' exchange failed") from self._task.exception()


@pytest.fixture
async def chatter(relay: RelayProcess, peers: PeerFactory) -> AsyncIterator[Chatter]:
    """Bystanders alice and bob, chatting through ``relay`` for the whole test."""
    alice = await peers(relay.url).start()
    bob = await peers(relay.url).start()
    talk = Chatter(alice, bob)
    talk.start()
    await talk.progressed(3)
    yield talk
    await talk.progressed(5)  # still chatting after whatever the test did
    await talk.stop()


def _http_get_blocking(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode("utf-8")


async def http_get(url: str) -> tuple[int, str]:
    """GET ``url`` (a relay's /health or /metrics): the status and the body."""
    return await asyncio.to_thread(_http_get_blocking, url)


def metric(text: str, name: str) -> float:
    """One value from a relay's Prometheus text."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no metric {name} in {text!r}")
