"""One Redis connection driven by callbacks, for the relay's two hot paths over a Redis store:
the batch writer (``RedisStore.write_batch_async``) and the wake-up subscriptions
(``wakeups.py``). Everything else goes through redis-py.

Why not redis-py's asyncio client here: each of its round trips checks a connection out of a pool
and back in, enters a timeout context and runs as a task's steps over several loop turns. That
cost 160-190 us of the relay's CPU per round trip, against about 70 us for the same pipelined
``EVALSHA`` over this link (bench: bench/redis_link.py), and a relay process over Redis makes a
round trip per loop turn that writes. Its pub/sub reader cost 15-20 us per wake-up the same way.
Here commands are packed by hiredis and written at once, and replies are parsed by a hiredis
``Reader`` in ``data_received`` and handed, in order, to the callback of the call they answer,
in the same loop turn. Several calls may be in flight on one link: Redis answers them in order.

What it shares with redis-py: the URL (host, port, database, user, password, ``rediss://`` with
its ``ssl_*`` query options) is parsed by redis-py and the TLS context built by it, so a URL
means the same to both.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

try:
    import hiredis
    import redis.asyncio as aioredis
except ImportError:  # pragma: no cover - the optional dependency is part of the dev install
    aioredis = None  # type: ignore[assignment]

REPLY_TIMEOUT = 5.0  # seconds a call may wait for its replies (redis-py's socket_timeout here)
CONNECT_TIMEOUT = 5.0

Command = Sequence[Any]  # a command and its arguments: str, bytes, int or float
Done = Callable[[list[Any] | BaseException], None]
Push = Callable[[Any], None]
Lost = Callable[[BaseException | None], None]


class RedisLinkError(ConnectionError):
    """The link is closed, lost, timed out, or Redis refused the handshake."""


@dataclass(eq=False)
class _Call:
    count: int  # how many replies answer it
    done: Done
    sent_at: float
    replies: list[Any] = field(default_factory=list)


class RedisLink(asyncio.Protocol):
    """A connected link; make one with :func:`open_link`.

    ``call`` sends commands and calls ``done`` with their replies (a list, in order; an error
    reply is a ``hiredis.ReplyError`` in its place) or, if the link fails first, with the
    exception. ``push`` mode (``on_push``) is for a subscribed connection: every reply goes to
    ``on_push`` as it arrives, and ``send`` writes without waiting for anything.
    """

    def __init__(self, on_lost: Lost | None) -> None:
        self._reader = hiredis.Reader()
        self._calls: deque[_Call] = deque()
        self._transport: asyncio.Transport | None = None
        self._on_push: Push | None = None
        self._on_lost = on_lost
        self._timer: asyncio.TimerHandle | None = None
        self._failure: BaseException | None = None
        self.closed = False

    # --- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # (uvloop's is not a subclass)

    def data_received(self, data: bytes) -> None:
        reader = self._reader
        reader.feed(data)
        try:
            while (reply := reader.gets()) is not False:
                if self._on_push is not None:
                    self._on_push(reply)
                    continue
                if not self._calls:
                    raise RedisLinkError("Redis sent a reply nobody asked for")
                call = self._calls[0]
                call.replies.append(reply)
                if len(call.replies) == call.count:
                    self._calls.popleft()
                    call.done(call.replies)
        except (hiredis.ProtocolError, RedisLinkError) as exc:
            self._fail(RedisLinkError(f"the Redis link broke: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(self._failure or RedisLinkError(f"the Redis connection was lost: {exc}"))

    # --- use --------------------------------------------------------------------------------

    def call(self, commands: Sequence[Command], done: Done) -> None:
        """Send ``commands`` at once; ``done`` gets their replies, or the failure. It is never
        called from inside ``call`` (a failure is reported on the next loop turn)."""
        if self.closed or self._transport is None:
            failure = self._failure or RedisLinkError("the Redis link is closed")
            asyncio.get_running_loop().call_soon(done, failure)
            return
        self._calls.append(_Call(len(commands), done, time.monotonic()))
        self._transport.write(_pack(commands))
        if self._timer is None:
            self._arm_timer()

    def send(self, commands: Sequence[Command]) -> None:
        """Write ``commands`` and expect no call's reply (push mode: subscriptions)."""
        if not self.closed and self._transport is not None:
            self._transport.write(_pack(commands))

    async def request(self, commands: Sequence[Command]) -> list[Any]:
        """``call``, awaited (the handshake and tests; the hot paths use callbacks)."""
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()

        def done(outcome: list[Any] | BaseException) -> None:
            if future.done():
                return
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

        self.call(commands, done)
        return await future

    def push_mode(self, on_push: Push) -> None:
        """From now on every reply goes to ``on_push`` (after SUBSCRIBE, Redis only pushes)."""
        self._on_push = on_push

    def close(self) -> None:
        self._fail(RedisLinkError("the Redis link was closed"), report=False)

    # --- failure ----------------------------------------------------------------------------

    def _arm_timer(self) -> None:
        oldest = self._calls[0].sent_at if self._calls else time.monotonic()
        delay = max(0.0, oldest + REPLY_TIMEOUT - time.monotonic())
        self._timer = asyncio.get_running_loop().call_later(delay, self._check_timeout)

    def _check_timeout(self) -> None:
        """One timer watches the oldest call: a reply overdue means Redis is stalled or the
        network is gone, and the replies of later calls cannot be told apart any more."""
        self._timer = None
        if not self._calls or self.closed:
            return
        if time.monotonic() - self._calls[0].sent_at >= REPLY_TIMEOUT:
            self._fail(RedisLinkError(f"Redis did not answer within {REPLY_TIMEOUT:.0f} s"))
        else:
            self._arm_timer()

    def _fail(self, failure: BaseException, *, report: bool = True) -> None:
        first = not self.closed
        self.closed = True
        self._failure = self._failure or failure
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._transport is not None:
            self._transport.abort()
        calls, self._calls = self._calls, deque()
        for call in calls:
            call.done(self._failure)
        if first and report and self._on_lost is not None:
            self._on_lost(self._failure)


def _pack(commands: Sequence[Command]) -> bytes:
    if len(commands) == 1:
        return cast(bytes, hiredis.pack_command(tuple(commands[0])))
    return b"".join(hiredis.pack_command(tuple(command)) for command in commands)


@dataclass(frozen=True)
class _Endpoint:
    """Where a URL points and how to log in, as redis-py reads the URL."""

    host: str
    port: int
    tls: ssl.SSLContext | None
    handshake: tuple[Command, ...]  # AUTH and SELECT, when the URL asks for them

    @classmethod
    def parse(cls, url: str) -> _Endpoint:
        if aioredis is None:  # pragma: no cover
            raise RedisLinkError("the redis and hiredis packages are not installed")
        pool = aioredis.ConnectionPool.from_url(url)
        options = pool.connection_kwargs
        tls = None
        if issubclass(pool.connection_class, aioredis.SSLConnection):
            tls = pool.connection_class(**options).ssl_context.get()
        handshake: list[Command] = []
        if options.get("password"):
            user, password = options.get("username"), options["password"]
            handshake.append(("AUTH", user, password) if user else ("AUTH", password))
        if int(options.get("db") or 0):
            handshake.append(("SELECT", int(options["db"])))
        host = str(options.get("host", "localhost"))
        return cls(host, int(options.get("port", 6379)), tls, tuple(handshake))

    def unreachable(self, exc: BaseException) -> RedisLinkError:
        return RedisLinkError(f"cannot connect to Redis at {self.host}:{self.port}: {exc}")


def _refusal(replies: Sequence[Any]) -> RedisLinkError | None:
    refused = [reply for reply in replies if isinstance(reply, hiredis.ReplyError)]
    return RedisLinkError(f"Redis refused the connection: {refused[0]}") if refused else None


async def open_link(url: str, *, on_lost: Lost | None = None) -> RedisLink:
    """Connect to the Redis that ``url`` names (``redis://`` or ``rediss://``; a cluster URL's
    ``+cluster`` is for the caller to strip), log in and select the database.

    Raises:
        RedisLinkError: unreachable, TLS refused, or the handshake failed.
    """
    endpoint = _Endpoint.parse(url)
    loop = asyncio.get_running_loop()
    try:
        _, link = await asyncio.wait_for(
            loop.create_connection(
                lambda: RedisLink(on_lost),
                endpoint.host,
                endpoint.port,
                ssl=endpoint.tls,
                server_hostname=endpoint.host if endpoint.tls is not None else None,
            ),
            CONNECT_TIMEOUT,
        )
    except (OSError, TimeoutError) as exc:
        raise endpoint.unreachable(exc) from exc
    if endpoint.handshake:
        refused = _refusal(await link.request(endpoint.handshake))  # a lost link raises
        if refused is not None:
            link.close()
            raise refused
    return link


class BlockingRedisLink:
    """The same wire for the synchronous store: one blocking socket, commands packed by hiredis
    and replies parsed by a hiredis ``Reader``. redis-py's synchronous client cost about 85 us
    of CPU and 140 us of waiting per round trip here, this about 20-35 and 45-85 (one run; the
    relay's loop waits for these: a login, a queue read). It connects on first use and again
    after any failure; a failure or a reply overdue by ``REPLY_TIMEOUT`` closes the socket, so a
    late reply is never read as the next call's. Thread-safe (one call at a time)."""

    def __init__(self, url: str) -> None:
        self._endpoint = _Endpoint.parse(url)
        self._socket: socket.socket | None = None
        self._reader = hiredis.Reader()
        self._lock = threading.Lock()

    def request(self, commands: Sequence[Command]) -> list[Any]:
        """Send ``commands`` at once and return their replies in order (an error reply is a
        ``hiredis.ReplyError`` in its place).

        Raises:
            RedisLinkError: unreachable, lost, timed out, or not speaking RESP.
        """
        with self._lock:
            try:
                sock = self._socket or self._connect()
                return self._exchange(sock, commands)
            except (OSError, hiredis.ProtocolError, RedisLinkError) as exc:
                self.close()
                if isinstance(exc, RedisLinkError):
                    raise
                raise RedisLinkError(f"the Redis connection failed: {exc}") from exc

    def close(self) -> None:
        if self._socket is not None:
            sock, self._socket = self._socket, None
            sock.close()

    def _exchange(self, sock: socket.socket, commands: Sequence[Command]) -> list[Any]:
        sock.sendall(_pack(commands))
        replies: list[Any] = []
        reader = self._reader
        while len(replies) < len(commands):
            reply = reader.gets()
            if reply is False:
                data = sock.recv(1 << 16)
                if not data:
                    raise RedisLinkError("Redis closed the connection")
                reader.feed(data)
            else:
                replies.append(reply)
        if reader.gets() is not False:
            raise RedisLinkError("Redis sent a reply nobody asked for")
        return replies

    def _connect(self) -> socket.socket:
        endpoint = self._endpoint
        try:
            sock = socket.create_connection((endpoint.host, endpoint.port), CONNECT_TIMEOUT)
        except OSError as exc:
            raise endpoint.unreachable(exc) from exc
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(REPLY_TIMEOUT)
            if endpoint.tls is not None:
                sock = endpoint.tls.wrap_socket(sock, server_hostname=endpoint.host)
            self._reader = hiredis.Reader()
            if endpoint.handshake:
                refused = _refusal(self._exchange(sock, endpoint.handshake))
                if refused is not None:
                    raise refused
        except BaseException:
            sock.close()
            raise
        self._socket = sock
        return sock
