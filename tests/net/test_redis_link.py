"""The relay's own Redis link (net/relay/redis_link.py) against a real redis-server: replies go
to the calls they answer, in order, with several in flight; a stalled, refusing or lying server
fails the link cleanly and says so, never a hang or a reply handed to the wrong call."""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hiredis
import pytest
from parley.net.relay import redis_link
from parley.net.relay.redis_link import BlockingRedisLink, RedisLinkError, open_link

from tests.redis_server import RedisServer


async def test_replies_reach_their_calls_in_order_with_many_in_flight(
    redis_server: RedisServer,
) -> None:
    link = await open_link(redis_server.url)
    try:
        answers: dict[int, list[Any] | BaseException] = {}

        def answered(n: int) -> Callable[[list[Any] | BaseException], None]:
            return lambda replies: answers.__setitem__(n, replies)

        for n in range(50):  # every call written before any reply is read
            commands = [("SET", f"link:{n}", n), ("GET", f"link:{n}"), ("INCRBY", "link:c", n)]
            link.call(commands, answered(n))
        done = await link.request([("GET", "link:c")])
        assert sorted(answers) == list(range(50))
        for n, replies in answers.items():
            assert isinstance(replies, list)
            assert replies[:2] == [b"OK", str(n).encode()]
            assert replies[2] == sum(range(n + 1))
        assert done == [str(sum(range(50))).encode()]
        # An error reply takes its own place, and the calls around it are unaffected.
        replies = await link.request([("SET", "link:x", 1), ("LPUSH", "link:x", 1), ("PING",)])
        assert replies[0] == b"OK" and replies[2] == b"PONG"
        assert isinstance(replies[1], hiredis.ReplyError) and "WRONGTYPE" in str(replies[1])
    finally:
        link.close()


async def test_a_stalled_redis_fails_the_waiting_calls_after_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_link, "REPLY_TIMEOUT", 0.5)
    server = RedisServer(tmp_path / "redis", appendfsync="no").start()
    lost: list[BaseException | None] = []
    try:
        link = await open_link(server.url, on_lost=lost.append)
        assert server.proc is not None
        server.proc.send_signal(signal.SIGSTOP)
        try:
            first = asyncio.ensure_future(link.request([("PING",)]))
            second = asyncio.ensure_future(link.request([("PING",)]))
            for waiting in (first, second):
                with pytest.raises(RedisLinkError, match="did not answer"):
                    await asyncio.wait_for(waiting, 5)
        finally:
            server.proc.send_signal(signal.SIGCONT)
        assert link.closed and len(lost) == 1
        with pytest.raises(RedisLinkError):  # a failed link stays failed: callers open another
            await link.request([("PING",)])
        again = await open_link(server.url)
        assert await again.request([("PING",)]) == [b"PONG"]
        again.close()
    finally:
        server.stop()


async def test_a_url_with_a_password_and_database_logs_in_and_selects(
    tmp_path: Path,
) -> None:
    server = RedisServer(tmp_path / "redis", appendfsync="no").start()
    try:
        server.cli("config", "set", "requirepass", "s3cret")
        base = f"redis://:s3cret@127.0.0.1:{server.port}"
        link = await open_link(base + "/3")
        try:
            await link.request([("SET", "where", "db3")])
        finally:
            link.close()
        zero = await open_link(base + "/0")
        try:
            assert await zero.request([("GET", "where")]) == [None]
        finally:
            zero.close()
        with pytest.raises(RedisLinkError, match="refused"):
            await open_link(f"redis://:wrong@127.0.0.1:{server.port}/0")
    finally:
        server.stop()


async def test_an_unreachable_redis_is_a_clear_error(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis", appendfsync="no").start()
    port = server.port
    server.stop()
    with pytest.raises(RedisLinkError, match=f"cannot connect to Redis at 127.0.0.1:{port}"):
        await open_link(f"redis://127.0.0.1:{port}/0")


@pytest.mark.parametrize(
    "lie",
    [
        b"+OK\r\n+OK\r\n",  # two replies to one command: the second answers nobody
        b"?garbage\r\n",  # not RESP at all
    ],
)
async def test_a_server_that_lies_fails_the_link_instead_of_misrouting_replies(
    lie: bytes,
) -> None:
    # Whoever answers on the Redis port is not trusted to answer in step: a reply that matches
    # no call (or bytes that are not RESP) must fail the link, never shift later replies onto
    # the wrong calls.
    async def liar(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.write(lie)
        await writer.drain()
        await reader.read(100)

    server = await asyncio.start_server(liar, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    lost: list[BaseException | None] = []
    try:
        link = await open_link(f"redis://127.0.0.1:{port}/0", on_lost=lost.append)
        outcome: list[Any] = await asyncio.wait_for(
            asyncio.gather(link.request([("PING",)]), return_exceptions=True), 5
        )
        if lie.startswith(b"+OK"):
            assert outcome == [[b"OK"]]  # the one call got its reply ...
            await asyncio.sleep(0.1)  # ... and the extra one broke the link
        else:
            assert isinstance(outcome[0], RedisLinkError)
        assert link.closed
        assert len(lost) == 1 and "broke" in str(lost[0])
    finally:
        server.close()


# --- the blocking link (the synchronous store's scripts) -------------------------------------


def test_the_blocking_link_answers_in_order_and_reconnects_after_a_restart(
    tmp_path: Path,
) -> None:
    server = RedisServer(tmp_path / "redis", appendfsync="no").start()
    link = BlockingRedisLink(server.url)
    try:
        replies = link.request([("SET", "k", "v"), ("LPUSH", "k", 1), ("GET", "k")])
        assert replies[0] == b"OK" and replies[2] == b"v"
        assert isinstance(replies[1], hiredis.ReplyError) and "WRONGTYPE" in str(replies[1])
        server.kill()
        with pytest.raises(RedisLinkError):
            link.request([("PING",)])
        server.start(port=server.port)
        assert link.request([("PING",)]) == [b"PONG"]  # a new connection, no restart needed
    finally:
        link.close()
        server.stop()


def test_the_blocking_link_gives_up_on_a_stalled_redis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_link, "REPLY_TIMEOUT", 0.5)
    server = RedisServer(tmp_path / "redis", appendfsync="no").start()
    link = BlockingRedisLink(server.url)
    try:
        assert link.request([("PING",)]) == [b"PONG"]
        assert server.proc is not None
        server.proc.send_signal(signal.SIGSTOP)
        try:
            with pytest.raises(RedisLinkError, match="timed out"):
                link.request([("PING",)])
        finally:
            server.proc.send_signal(signal.SIGCONT)
        # The late PONG went with the closed socket: the next call gets its own reply.
        assert link.request([("ECHO", "mine")]) == [b"mine"]
    finally:
        link.close()
        server.stop()


def test_the_blocking_link_refuses_a_reply_nobody_asked_for() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def liar() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(100)
            conn.sendall(b"+OK\r\n+OK\r\n")
            conn.recv(100)

    thread = threading.Thread(target=liar, daemon=True)
    thread.start()
    link = BlockingRedisLink(f"redis://127.0.0.1:{port}/0")
    try:
        with pytest.raises(RedisLinkError, match="nobody asked"):
            link.request([("PING",)])
    finally:
        link.close()
        listener.close()
        thread.join(5)
