"""Wake-ups between relay processes that share a Redis store.

When a process stores messages, the store's enqueue script publishes on the recipient's channel
``parley:wake:<hex>`` the publishing process's id and the messages it stored (one ``PUBLISH``
inside the same atomic script; ``store_redis.decode_wake``), so that the process serving the
recipient forwards them without reading the queue back (it still reads the queue when it cannot
take them in order: ``RelayCore.wake``). Each process subscribes to the channels of the accounts
connected to it. Its own wake-ups are ignored: it delivered those messages itself.

Why one channel per account, not one per process: a process then hears only about accounts it
serves, and no presence table is needed to route a wake-up (Signal-Server keeps one; with pub/sub
channels Redis is that table). On Redis Cluster a plain ``PUBLISH`` reaches every node, so the
subscription may be held on any one node; this module holds it on the node the URL names.

Ordering against a login: a process subscribes when an account's first connection logs in, and
when the subscription is confirmed it wakes the account once more, so a message stored by another
process between the login's first read and the subscription is not left waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from parley.net.relay.store import Queued
from parley.net.relay.store_redis import WAKE_CHANNEL, decode_wake

try:
    import redis.asyncio as aioredis
    import redis.exceptions
except ImportError:  # pragma: no cover - the optional dependency is part of the dev install
    aioredis = None  # type: ignore[assignment]

log = logging.getLogger("parley.relay.wakeups")
RECONNECT_DELAY = 0.5
STOP_TIMEOUT = 2.0


class Wakeups:
    """This process's subscriptions to other processes' wake-ups.

    Args:
        url: the store's URL (a cluster URL subscribes on the node it names).
        publisher: this process's id (its own wake-ups are ignored).
        on_wake: called on the event loop with an account that another process stored for, and
            the messages it stored (None: read the queue to find them).
    """

    def __init__(
        self, url: str, publisher: str, on_wake: Callable[[bytes, list[Queued] | None], None]
    ) -> None:
        parts = urlsplit(url)
        self._url = urlunsplit((parts.scheme.replace("+cluster", ""), *parts[1:]))
        self._publisher = publisher.encode()
        self._on_wake = on_wake
        self._wanted: set[str] = set()
        self._client: Any = None
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._changes: asyncio.Queue[tuple[bool, str]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        self._client = aioredis.Redis.from_url(self._url)
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=False)
        # Subscribing to a placeholder opens the connection so that the reader has one to read.
        await self._pubsub.subscribe(WAKE_CHANNEL + "-")
        self._reader = asyncio.get_running_loop().create_task(self._read(), name="wakeups")
        self._worker = asyncio.get_running_loop().create_task(self._apply(), name="subscriber")

    async def stop(self) -> None:
        # redis-py may swallow a cancellation inside a read, so the loops also watch this flag,
        # and nothing here waits without a bound: stopping a relay must never hang on Redis.
        self._stopping = True
        tasks = [t for t in (self._worker, self._reader) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
        for closable in (self._pubsub, self._client):
            if closable is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(closable.aclose(), STOP_TIMEOUT)

    def presence(self, account: bytes, online: bool) -> None:
        """The core's presence hook: an account's first local login, or its last disconnect."""
        channel = WAKE_CHANNEL + account.hex()
        if online:
            self._wanted.add(channel)
        else:
            self._wanted.discard(channel)
        self._changes.put_nowait((online, channel))

    async def _apply(self) -> None:
        """Subscribe and unsubscribe in the order the core asked, one at a time."""
        while not self._stopping:
            online, channel = await self._changes.get()
            try:
                if online and channel in self._wanted:
                    await self._pubsub.subscribe(channel)
                elif not online and channel not in self._wanted:
                    await self._pubsub.unsubscribe(channel)
            except (redis.exceptions.RedisError, OSError) as exc:
                log.error("wake-up subscription failed: %s", exc)

    async def _read(self) -> None:
        while not self._stopping:
            try:
                message = await self._pubsub.get_message(timeout=None)
            except (redis.exceptions.RedisError, OSError) as exc:
                log.error("wake-up subscription lost (%s); resubscribing", exc)
                await asyncio.sleep(RECONNECT_DELAY)
                await self._resubscribe()
                continue
            if message is None:
                continue
            kind = message.get("type")
            channel = message.get("channel", b"")
            if isinstance(channel, bytes):
                channel = channel.decode()
            if not channel.startswith(WAKE_CHANNEL) or channel == WAKE_CHANNEL + "-":
                continue
            if kind == "subscribe":  # a confirmed subscription wakes too: see the module doc
                with contextlib.suppress(ValueError):
                    self._on_wake(bytes.fromhex(channel[len(WAKE_CHANNEL) :]), None)
            elif kind == "message":
                publisher, fresh = decode_wake(message["data"])
                if publisher != self._publisher:
                    with contextlib.suppress(ValueError):
                        self._on_wake(bytes.fromhex(channel[len(WAKE_CHANNEL) :]), fresh)

    async def _resubscribe(self) -> None:
        with contextlib.suppress(redis.exceptions.RedisError, OSError):
            await self._pubsub.subscribe(WAKE_CHANNEL + "-", *sorted(self._wanted))
            for channel in self._wanted:
                with contextlib.suppress(ValueError):
                    self._on_wake(bytes.fromhex(channel[len(WAKE_CHANNEL) :]), None)
