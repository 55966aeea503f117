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

The subscriptions live on one ``RedisLink`` in push mode (redis_link.py): a wake-up is parsed
and handed to the core in the loop turn that reads it (redis-py's pub/sub reader cost 15-20 us
of CPU per wake-up, a hot path when the recipients are on another process). Subscribing and
unsubscribing are plain writes on that link, so Redis applies them in the order the core asked.

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

from parley.net.relay.redis_link import RedisLink, RedisLinkError, open_link
from parley.net.relay.store import Queued
from parley.net.relay.store_redis import WAKE_CHANNEL, decode_wake

log = logging.getLogger("parley.relay.wakeups")
RECONNECT_DELAY = 0.5
_SUBSCRIBED, _MESSAGE = b"subscribe", b"message"


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
        self._link: RedisLink | None = None
        self._reconnect: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        """Connect (a Redis that cannot be reached fails the relay's start, as the store does)."""
        await self._connect()

    async def stop(self) -> None:
        self._stopping = True
        if self._reconnect is not None:
            self._reconnect.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnect
        if self._link is not None:
            self._link.close()

    def presence(self, account: bytes, online: bool) -> None:
        """The core's presence hook: an account's first local login, or its last disconnect."""
        channel = WAKE_CHANNEL + account.hex()
        if online:
            self._wanted.add(channel)
        else:
            self._wanted.discard(channel)
        if self._link is not None:  # else the reconnection subscribes to what is wanted then
            self._link.send([("SUBSCRIBE" if online else "UNSUBSCRIBE", channel)])

    async def _connect(self) -> None:
        link = await open_link(self._url, on_lost=self._lost)
        link.push_mode(self._pushed)
        # A placeholder keeps the connection subscribed (pushes only) while nobody is online.
        link.send([("SUBSCRIBE", WAKE_CHANNEL + "-", *sorted(self._wanted))])
        self._link = link

    def _lost(self, failure: BaseException | None) -> None:
        self._link = None
        if self._stopping:
            return
        log.error("wake-up subscription lost (%s); resubscribing", failure)
        if self._reconnect is None or self._reconnect.done():
            self._reconnect = asyncio.get_running_loop().create_task(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        """Until Redis answers again; then every wanted account is subscribed anew, and each
        confirmation wakes it (what was stored meanwhile is read from its queue)."""
        while not self._stopping:
            await asyncio.sleep(RECONNECT_DELAY)
            try:
                await self._connect()
                return
            except RedisLinkError as exc:
                log.debug("wake-up subscription: still no Redis (%s)", exc)

    def _pushed(self, push: Any) -> None:
        """One pushed reply: ``[kind, channel, data]``; anything else is not ours to read."""
        if not isinstance(push, list) or len(push) != 3:
            return
        kind, channel, data = push
        if not isinstance(channel, bytes) or not channel.startswith(_CHANNEL_PREFIX):
            return
        try:
            account = bytes.fromhex(channel[len(_CHANNEL_PREFIX) :].decode())
        except (ValueError, UnicodeDecodeError):
            return  # the placeholder, or a channel no account has
        if kind == _SUBSCRIBED:  # a confirmed subscription wakes too: see the module doc
            self._on_wake(account, None)
        elif kind == _MESSAGE and isinstance(data, bytes):
            publisher, fresh = decode_wake(data)
            if publisher != self._publisher:
                self._on_wake(account, fresh)


_CHANNEL_PREFIX = WAKE_CHANNEL.encode()
