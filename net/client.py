"""The asyncio relay client the app uses: stay connected, send, receive, acknowledge.

One background task keeps a WebSocket connection to the relay: connect, answer the relay's
challenge with the caller's ``sign`` callback, then pump frames until the connection drops, then
wait (exponential backoff with full jitter, see client_backoff.py) and start again. The public
coroutines never own the socket; they queue work that survives a reconnection:

- ``send`` keeps the message in an outbox until the relay's ``sent`` says it is stored durably, and
  sends it again (same message id, which the relay treats idempotently) after every reconnection.
- Deliveries go through one in-order queue to ``on_delivery``; only after the app's callback returns
  (the app has committed the message) does the client acknowledge it ("commit, then act"). A message
  id the client has already committed, or is committing, is acknowledged without calling the app
  again: delivery is at-least-once and duplicates stop here (the app's store, keyed by message id,
  is the second line across restarts).
- Acks and receipts are batched (docs/protocol.md s7): the client announces ``CAP_BATCH`` at login
  and understands the relay's ``sent_batch`` frames; the acks of a burst of deliveries leave as
  one Ack frame once the burst is committed (see ``_ack_soon``), if the relay's Welcome announced
  the capability too (an older relay would read only the first id of a multi-id Ack). It also
  announces ``CAP_DELIVER_BATCH`` and reads ``deliver_batch`` frames, each entry one delivery.
- Requests (prekeys, bundles) wait for a connection and a reply, retried across reconnections, all
  bounded by one timeout.

net/ never imports parley.crypto: the caller passes its identity public key and a signing callback.

Errors: ``ClientError`` and its subclasses ``RequestTimeout`` and ``ClientClosed`` live in the one
tree in errors.py; they are re-exported here because callers naturally import them with the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from parley.net import wire
from parley.net.client_backoff import Backoff
from parley.net.client_ledger import DeliveryLedger, Verdict
from parley.net.client_types import Delivery, FetchedBundle, SendReceipt
from parley.net.errors import (
    ClientClosed,
    ClientError,
    RelayRefused,
    RequestTimeout,
    WireError,
)
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.protocol import State

__all__ = [
    "ClientClosed",
    "ClientError",
    "Delivery",
    "FetchedBundle",
    "RelayClient",
    "RequestTimeout",
    "SendReceipt",
]

log = logging.getLogger("parley.net.client")

StateCallback = Callable[[str, str], None]
DeliveryCallback = Callable[[Delivery], Awaitable[None]]
PrekeysLowCallback = Callable[[int], Awaitable[None]]

# How often a request re-checks a connection that is closing (the runner will replace it soon).
CLOSING_POLL = 0.01
# How long ``close`` waits for the acks already committed to leave (they are not lost otherwise:
# the relay delivers those messages again and the app's store drops them, but that costs a trip).
ACK_FLUSH_ON_CLOSE = 1.0
# Refusals at login that a retry cannot fix: the client stops reconnecting and reports them.
FATAL_AUTH_CODES = frozenset({"bad_signature", "invite_required", "unsupported_version"})
# Send refusals that a later retry can fix; every other refusal fails the send at once.
RETRYABLE_SEND_CODES = frozenset({"rate_limited", "internal"})
# While throttled, resent messages go out this many at a time, each group answered before the
# next: a token that refills in the middle of a group lets a later message overtake at most this
# many (far below the ratchet's skipped-key bound), instead of anything queued meanwhile.
RESEND_GROUP = 16


class _Dropped(Exception):
    """Internal: the connection carrying a request went away; the request is tried again."""


@dataclass
class _Outgoing:
    """A message in the outbox, kept until the relay has stored it."""

    recipient: bytes
    message_id: bytes
    payload: bytes = field(repr=False)
    done: asyncio.Future[SendReceipt]
    frame: bytes = field(default=b"", repr=False)
    waiters: int = 0  # send() calls awaiting it: the last one to give up retires it
    order: int = 0  # the order in which the app sent it: retries keep it


class RelayClient:
    """One account's connection to one relay, kept alive until ``close``.

    Args:
        url: the relay's WebSocket URL, for example ``ws://127.0.0.1:43121``.
        account: our identity public key (32 bytes), which is our account on the relay.
        sign: signs bytes with the identity private key (Ed25519, 64-byte signature); called once
            per login with the challenge message of docs/protocol.md s7.
        invite_token: the operator's invite token, needed for the very first login on relays that
            require one.
        on_delivery: awaited for each delivered message; it must commit the message (decrypt and
            store) before returning, because the client acknowledges it right after. If it raises,
            the message is not acknowledged and the relay delivers it again after a reconnection.
        on_state: told about every connection state change: ``("connecting", url)``,
            ``("online", "")``, ``("offline", reason)``. Called on the event loop; must not block.
        on_prekeys_low: awaited with our remaining one-time prekey stock when the relay says it is
            low (or when a login shows it below ``prekey_threshold``); should publish more.
        relay_name: the relay name we sign (docs/protocol.md s7); default: ``url``.
        request_timeout: seconds a request (prekeys, bundle, ack) may wait, reconnections included.
        send_timeout: seconds ``send`` may keep retrying before it gives up.
        connect_timeout: seconds for one connection attempt, login included.
        backoff: the reconnection delays (a parameter so tests can make them short).
        delivery_concurrency: how many ``on_delivery`` calls may run at once; they start in
            delivery order. 1 (the default) commits strictly in order.
        dedupe_window: how many committed message ids are remembered to drop duplicates.
        prekey_threshold: below this stock at login, ``on_prekeys_low`` is called.
        proxy: the proxy to reach the relay through, as ``websockets.connect`` takes it: ``True``
            for the system's settings (proxy environment variables), ``None`` for none, or a
            ``socks5h://``, ``socks5://``, ``socks4a://``, ``socks4://``, ``http://`` or
            ``https://`` URL (SOCKS needs python-socks, a dependency of Parley).
    """

    def __init__(
        self,
        url: str,
        account: bytes,
        sign: Callable[[bytes], bytes],
        *,
        invite_token: str | None = None,
        on_delivery: DeliveryCallback,
        on_state: StateCallback | None = None,
        on_prekeys_low: PrekeysLowCallback | None = None,
        relay_name: str | None = None,
        request_timeout: float = 15.0,
        send_timeout: float = 60.0,
        connect_timeout: float = 10.0,
        backoff: Backoff | None = None,
        delivery_concurrency: int = 1,
        dedupe_window: int = 10_000,
        prekey_threshold: int = 10,
        proxy: str | Literal[True] | None = True,
    ) -> None:
        if len(account) != wire.ACCOUNT_LEN:
            raise ValueError(f"an account is a {wire.ACCOUNT_LEN}-byte identity public key")
        if delivery_concurrency < 1 or dedupe_window < 1:
            raise ValueError("delivery_concurrency and dedupe_window must be at least 1")
        self.url = url.rstrip("/")
        self.account = account
        self._sign = sign
        self._invite = invite_token
        self._on_delivery = on_delivery
        self._on_state = on_state
        self._on_prekeys_low = on_prekeys_low
        # Both sides sign the normalised name (wire.relay_name): a trailing slash or a path in
        # the URL the user typed must not make every login fail as bad_signature.
        self._relay_name = wire.relay_name(relay_name or self.url)
        self._request_timeout = request_timeout
        self._send_timeout = send_timeout
        self._connect_timeout = connect_timeout
        self._backoff = backoff or Backoff()
        self._prekey_threshold = prekey_threshold
        self._proxy = proxy

        self.state = "offline"
        self.prekey_stock: int | None = None
        self._ws: ClientConnection | None = None
        self._online = asyncio.Event()
        self._wake = asyncio.Event()  # cut a backoff sleep short (close)
        self._closing = False
        self._fatal: RelayRefused | None = None
        self.last_error = ""  # why the last connection attempt failed, for a person
        self.retry_delay: float | None = None  # seconds until the next attempt, while offline
        self._runner: asyncio.Task[None] | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._next_id = 0
        self._requests: dict[int, asyncio.Future[wire.ServerFrame]] = {}
        self._outbox: dict[bytes, _Outgoing] = {}
        self._send_ids: dict[int, bytes] = {}  # request id -> message id, for refusals
        self._sent_count = 0  # numbers each new outbox entry (``_Outgoing.order``)
        # While the relay throttles us (a retryable refusal), refused and new sends wait here in
        # the order the app sent them, and go out together after the backoff (``_drain_held``).
        self._throttled = False
        self._held_back: dict[bytes, _Outgoing] = {}  # by message id; sorted when drained
        self._awaiting: set[bytes] = set()  # the drained batch's ids without an answer yet
        self._settled = asyncio.Event()  # the whole drained batch was answered (or went offline)
        self._inbox: asyncio.Queue[Delivery] = asyncio.Queue()
        self._ledger = DeliveryLedger(dedupe_window)
        self._unsent_acks: dict[bytes, None] = {}  # committed while offline, in order
        self._ready_acks: dict[bytes, None] = {}  # committed this loop turn, sent at its end
        self._acks_scheduled = False
        self._ack_senders: set[asyncio.Task[None]] = set()
        self._batch = False  # the relay understands multi-id Acks
        self._slots = asyncio.Semaphore(delivery_concurrency)

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether ``close`` has been called (a closed client cannot be started again)."""
        return self._closing

    async def start(self) -> None:
        """Start connecting in the background and keep connected until ``close``; idempotent.

        Returns at once: the app works offline too. Use ``wait_connected`` to wait for a login.
        """
        if self._closing:
            raise ClientClosed("this relay client has been closed; create a new one")
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="relay-client")
            self._consumer = asyncio.create_task(self._consume(), name="relay-deliveries")

    async def wait_connected(self, timeout: float) -> None:
        """Wait until the client is logged in to the relay.

        Raises:
            RelayRefused: the relay refused our login for a reason a retry cannot fix.
            RequestTimeout: not logged in within ``timeout`` seconds.
            ClientClosed: the client is closed.
        """
        await self._await_online(time.monotonic() + timeout)

    async def close(self) -> None:
        """Disconnect and stop; waiting sends and requests fail with ClientClosed. Idempotent."""
        if self._closing:
            return
        self._closing = True
        self._wake.set()
        self._online.set()  # release waiters so they see _closing
        self._flush_acks()
        if self._ack_senders:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(ACK_FLUSH_ON_CLOSE):
                    await asyncio.wait(list(self._ack_senders))
        tasks = [t for t in (self._runner, self._consumer, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        closed = ClientClosed("the relay client was closed")
        for fut in self._requests.values():
            if not fut.done():
                fut.set_exception(closed)
        for entry in self._outbox.values():
            if not entry.done.done():
                entry.done.set_exception(closed)
                entry.done.exception()  # mark retrieved: nobody may be awaiting it
        self._requests.clear()
        self._outbox.clear()
        self._set_state("offline", "closed")

    # -- requests ----------------------------------------------------------------------------

    async def publish_prekeys(self, signed_prekey: bytes, one_time_prekeys: list[bytes]) -> None:
        """Replace our signed prekey and add one-time prekeys to our stock on the relay.

        Batches larger than the wire's limit are split into several publishes.

        Raises:
            RelayRefused: the relay refused (for example ``quota_exceeded`` when the stock is full).
            RequestTimeout, ClientClosed: see ``wait_connected``.
        """
        batches = [
            tuple(one_time_prekeys[i : i + wire.MAX_PREKEY_BATCH])
            for i in range(0, len(one_time_prekeys), wire.MAX_PREKEY_BATCH)
        ] or [()]
        for batch in batches:

            def publish(rid: int, batch: tuple[bytes, ...] = batch) -> wire.ClientFrame:
                return wire.Publish(rid, signed_prekey, batch)

            reply = await self._request(publish)
            if isinstance(reply, wire.Published):
                self.prekey_stock = reply.prekeys

    async def fetch_bundle(self, account: bytes) -> FetchedBundle:
        """Fetch another account's prekey bundle (the relay hands its one-time prekey to us only).

        Raises:
            RelayRefused: ``unknown_account`` when the account never published prekeys.
            RequestTimeout, ClientClosed: see ``wait_connected``.
        """
        reply = await self._request(lambda rid: wire.Fetch(rid, account))
        if not isinstance(reply, wire.Bundle):
            raise ClientError(f"the relay answered a bundle request with {type(reply).__name__}")
        return FetchedBundle(reply.identity_key, reply.signed_prekey, reply.one_time_prekey)

    async def send(self, recipient: bytes, message_id: bytes, payload: bytes) -> SendReceipt:
        """Send ``payload`` to ``recipient``; return once the relay has stored it durably.

        The message stays in the client's outbox, and is sent again with the same ``message_id``
        after every reconnection, until the relay's receipt arrives or ``send_timeout`` passes.
        Calling ``send`` again with a message id that is still waiting joins the first call.

        Raises:
            RelayRefused: the relay refused it for good (``quota_exceeded``, ``unknown_account``,
                ``too_large``, ``message_id_conflict``).
            RequestTimeout: not stored within ``send_timeout``; the relay may still have it, so
                send again with the same id.
            ClientClosed: the client was closed meanwhile.
        """
        if self._closing:
            raise ClientClosed("the relay client was closed")
        if len(message_id) != wire.MESSAGE_ID_LEN or len(recipient) != wire.ACCOUNT_LEN:
            raise ValueError("a message id is 16 bytes and an account 32 bytes")
        if len(payload) > wire.MAX_PAYLOAD:
            raise ValueError(f"a payload is at most {wire.MAX_PAYLOAD} bytes")
        entry = self._outbox.get(message_id)
        if entry is None:
            done = asyncio.get_running_loop().create_future()
            self._sent_count += 1
            entry = _Outgoing(recipient, message_id, payload, done, order=self._sent_count)
            self._outbox[message_id] = entry
            if self._throttled:
                self._hold_back(entry)
            elif self._ws is not None:
                await self._transmit(entry)
        entry.waiters += 1
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # races with the result, and the caller's task would then never stop.
            async with asyncio.timeout(self._send_timeout):
                return await asyncio.shield(entry.done)
        except TimeoutError:
            raise RequestTimeout(
                f"the relay did not store the message within {self._send_timeout:g} s"
            ) from None
        finally:
            entry.waiters -= 1
            finished = entry.done.done() or entry.waiters == 0
            if finished and self._outbox.get(message_id) is entry:
                del self._outbox[message_id]  # stored, refused or given up: stop retrying
                entry.done.cancel()  # no-op when it has a result

    async def ack(self, message_ids: Sequence[bytes]) -> None:
        """Tell the relay these messages are committed, so that it deletes them.

        The client acknowledges every message ``on_delivery`` committed by itself; this is for
        messages the app committed otherwise. The ids are also remembered as duplicates.

        Raises:
            RequestTimeout, ClientClosed: see ``wait_connected``.
        """
        for message_id in message_ids:
            self._ledger.committed(message_id)
        deadline = time.monotonic() + self._request_timeout
        pending = list(dict.fromkeys(message_ids))
        while pending:
            ws = await self._await_online(deadline)
            try:
                while pending:
                    count, frame = self._ack_frame(pending)
                    await ws.send(frame)
                    del pending[:count]
            except ConnectionClosed:
                continue

    async def release(self, message_ids: Sequence[bytes]) -> None:
        """Acknowledge messages the app dropped without keeping them, and forget them.

        A later delivery under the same id then reaches the app instead of being dropped as a
        duplicate: the app asked the sender to send it again (a "cannot decrypt" notice), and the
        sender resends it under its own id. The ack goes first, so that the relay no longer holds
        the dropped copy when the resend arrives (it would answer it as a duplicate).

        Raises:
            RequestTimeout, ClientClosed: see ``wait_connected``.
        """
        await self.ack(message_ids)
        for message_id in message_ids:
            self._ledger.forget(message_id)

    # -- the connection ----------------------------------------------------------------------

    async def _run(self) -> None:
        """Connect, log in, pump frames; after a drop wait (backoff) and do it again."""
        while not self._closing:
            self._set_state("connecting", self.url)
            reason = "connection closed"
            try:
                async with asyncio.timeout(self._connect_timeout):
                    ws = await connect(
                        self.url,
                        proxy=self._proxy,
                        compression=None,
                        max_size=wire.MAX_FRAME,
                        open_timeout=None,
                        close_timeout=2,
                    )
                try:
                    async with asyncio.timeout(self._connect_timeout):
                        welcome = await self._login(ws)
                    self._went_online(ws, welcome)
                    await self._pump(ws)
                    reason = _close_reason(ws)
                finally:
                    self._went_offline()
                    await ws.close()
            except RelayRefused as exc:
                reason = exc.reason
                if exc.code in FATAL_AUTH_CODES:
                    self._fatal = exc
                    self._online.set()  # release waiters so they see the refusal
                    self._set_state("offline", str(exc))
                    log.warning("the relay refused our login (%s); not retrying", exc.code)
                    return
            except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake, WireError) as exc:
                reason = _describe(exc, self._connect_timeout)
            except (InvalidURI, ValueError) as exc:  # ValueError: a port out of range
                self._fatal = RelayRefused("bad_url", f"{self.url} is not a relay URL ({exc})")
                self._online.set()
                self._set_state("offline", f"not a relay URL: {self.url}")
                return
            except Exception as exc:  # a bug or a failing sign(): keep the client alive, retry
                log.exception("unexpected failure in the relay connection")
                reason = f"unexpected failure: {type(exc).__name__}"
            if self.closed:  # close() ran while we were connected
                return
            self.last_error = reason
            delay = self._backoff.next_delay()
            self.retry_delay = delay  # known before the state change, so the app can say when
            self._set_state("offline", reason)
            self.retry_delay = None
            log.info("relay connection lost (%s); retrying in %.1f s", reason, delay)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    async def _login(self, ws: ClientConnection) -> wire.Welcome:
        """Answer the relay's challenge; return its welcome or raise its refusal."""
        challenge = wire.decode_server_frame(_binary(await ws.recv()))
        if not isinstance(challenge, wire.Challenge):
            raise RelayRefused("bad_frame", "the relay did not open with a challenge")
        if challenge.version != wire.PROTOCOL_VERSION:
            raise RelayRefused(
                "unsupported_version",
                f"the relay speaks protocol version {challenge.version}, "
                f"this client {wire.PROTOCOL_VERSION}",
            )
        if challenge.relay != self._relay_name:
            raise RelayRefused(
                "bad_signature",
                f"the relay calls itself {challenge.relay!r}, not {self._relay_name!r}; "
                "refusing to sign for another relay",
            )
        signature = self._sign(wire.auth_message(self._relay_name, challenge.nonce))
        rid = self._request_id()
        caps = (wire.CAP_BATCH, wire.CAP_DELIVER_BATCH)
        auth = wire.Auth(rid, self.account, signature, invite=self._invite, caps=caps)
        await ws.send(wire.encode(auth))
        reply = wire.decode_server_frame(_binary(await ws.recv()))
        if isinstance(reply, wire.Error):
            raise RelayRefused(reply.code, reply.reason, reply.request_id)
        if not isinstance(reply, wire.Welcome) or reply.account != self.account:
            raise RelayRefused("bad_frame", "the relay answered our login with a wrong frame")
        return reply

    def _went_online(self, ws: ClientConnection, welcome: wire.Welcome) -> None:
        self._ws = ws
        self._batch = wire.CAP_BATCH in welcome.caps
        self._backoff.reset()
        self.prekey_stock = welcome.prekeys
        self._online.set()
        self._set_state("online", "")
        if self._outbox:
            self._spawn(self._resend(list(self._outbox.values())))
        if self._unsent_acks:
            acks, self._unsent_acks = list(self._unsent_acks), {}
            self._spawn(self._send_acks(acks))
        if welcome.prekeys < self._prekey_threshold and self._on_prekeys_low is not None:
            self._spawn(self._on_prekeys_low(welcome.prekeys))

    def _went_offline(self) -> None:
        self._ws = None
        self._settled.set()  # a drain waiting for receipts stops: the reconnection resends
        if not self._closing:
            self._online.clear()
        for fut in self._requests.values():
            if not fut.done():
                fut.set_exception(_Dropped())
        self._requests.clear()
        self._send_ids.clear()

    async def _pump(self, ws: ClientConnection) -> None:
        """Read frames until the connection closes, dispatching each one."""
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                try:
                    frame = wire.decode_server_frame(_binary(message))
                except (WireError, RelayRefused) as exc:
                    log.warning("ignoring a frame the relay should not have sent: %s", exc)
                    continue
                self._dispatch(frame)

    def _dispatch(self, frame: wire.ServerFrame) -> None:
        if isinstance(frame, wire.Deliver):
            self._received(frame)
        elif isinstance(frame, wire.DeliverBatch):
            for delivery in frame.deliveries:
                self._received(delivery)
        elif isinstance(frame, wire.Sent):
            self._stored(frame)
        elif isinstance(frame, wire.SentBatch):
            for receipt in frame.receipts:
                self._stored(receipt)
        elif isinstance(frame, wire.Error):
            self._refused(frame)
        elif isinstance(frame, wire.PrekeysLow):
            self.prekey_stock = frame.remaining
            if self._on_prekeys_low is not None:
                self._spawn(self._on_prekeys_low(frame.remaining))
        elif isinstance(frame, wire.Published | wire.Bundle | wire.Pong):
            fut = self._requests.pop(frame.request_id, None)
            if fut is not None and not fut.done():
                fut.set_result(frame)
        else:
            log.warning("ignoring an unexpected %s frame from the relay", type(frame).__name__)

    # -- sending -----------------------------------------------------------------------------

    async def _transmit(self, entry: _Outgoing) -> None:
        """Put one outbox entry on the current connection (a drop is repaired by resending)."""
        ws = self._ws
        if ws is None or entry.done.done():
            return
        rid = self._request_id()
        entry.frame = wire.encode(wire.Send(rid, entry.recipient, entry.message_id, entry.payload))
        self._send_ids[rid] = entry.message_id
        with contextlib.suppress(ConnectionClosed):
            await ws.send(entry.frame)

    async def _resend(self, entries: list[_Outgoing]) -> None:
        """Resend what the relay had not acknowledged, one by one in the original order, so the
        relay queues them for each recipient in the order the app sent them."""
        for entry in entries:
            await self._transmit(entry)

    def _stored(self, frame: wire.Sent) -> None:
        self._answered(frame.message_id)
        self._send_ids.pop(frame.request_id, None)
        entry = self._outbox.get(frame.message_id)
        if entry is not None and not entry.done.done():
            receipt = SendReceipt(frame.message_id, frame.stored_at, frame.expires_at, entry.frame)
            entry.done.set_result(receipt)

    def _refused(self, frame: wire.Error) -> None:
        if frame.request_id is None:
            log.warning("the relay reports %s: %s", frame.code, frame.reason)
            return
        message_id = self._send_ids.pop(frame.request_id, None) or frame.message_id
        entry = self._outbox.get(message_id) if message_id is not None else None
        if entry is not None:
            self._answered(entry.message_id)
            if frame.code in RETRYABLE_SEND_CODES:
                self._hold_back(entry)
                if not self._throttled:
                    self._throttled = True
                    self._spawn(self._drain_held())
            elif not entry.done.done():
                entry.done.set_exception(RelayRefused(frame.code, frame.reason, frame.request_id))
            return
        fut = self._requests.pop(frame.request_id, None)
        if fut is not None and not fut.done():
            fut.set_exception(RelayRefused(frame.code, frame.reason, frame.request_id))

    def _hold_back(self, entry: _Outgoing) -> None:
        """Queue ``entry`` for the next drain (which sends in the order the app sent)."""
        self._held_back[entry.message_id] = entry

    async def _resend_group(self, group: list[_Outgoing]) -> bool:
        """Send ``group`` and wait until each is answered; False if the connection went away."""
        self._awaiting = {e.message_id for e in group if not e.done.done()}
        self._settled.clear()
        for entry in group:
            await self._transmit(entry)
        if self._awaiting and self._ws is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._request_timeout):
                    await self._settled.wait()
        return self._ws is not None

    def _answered(self, message_id: bytes) -> None:
        awaiting = self._awaiting
        if awaiting:
            awaiting.discard(message_id)
            if not awaiting:
                self._settled.set()

    async def _drain_held(self) -> None:
        """Resend what the relay refused for now, and what was sent since, in the app's order.

        Why not retry each refused send on its own timer: newer sends would keep going out
        meanwhile, so the relay would queue messages out of order, and a recipient whose ratchet
        is more than its skipped-key bound ahead drops the older ones as undecryptable. So while
        throttled, new sends wait behind the refused ones; after the backoff they go out in
        order, ``RESEND_GROUP`` at a time, each group answered (receipt or refusal) before the
        next. Once one is refused again, the rest wait another backoff; the gate opens when
        nothing is left. A lost connection ends the drain: the reconnection resends the whole
        outbox in order anyway.
        """
        try:
            while self._held_back and not self._closing:
                await asyncio.sleep(self._backoff.base)
                batch = sorted(self._held_back.values(), key=lambda e: e.order)
                self._held_back = {}
                for start in range(0, len(batch), RESEND_GROUP):
                    if self._held_back:  # refused again: the rest waits for the next round
                        for entry in batch[start:]:
                            self._hold_back(entry)
                        break
                    if not await self._resend_group(batch[start : start + RESEND_GROUP]):
                        return
        finally:
            self._held_back.clear()
            self._awaiting.clear()
            self._throttled = False

    # -- requests ----------------------------------------------------------------------------

    async def _request(self, build: Callable[[int], wire.ClientFrame]) -> wire.ServerFrame:
        """Send a request and await its reply, retrying across reconnections until the timeout."""
        deadline = time.monotonic() + self._request_timeout
        while True:
            ws = await self._await_online(deadline)
            rid = self._request_id()
            fut: asyncio.Future[wire.ServerFrame] = asyncio.get_running_loop().create_future()
            self._requests[rid] = fut
            try:
                await ws.send(wire.encode(build(rid)))
                async with asyncio.timeout_at(_loop_deadline(deadline)):
                    return await fut
            except (_Dropped, ConnectionClosed):
                continue
            except TimeoutError:
                raise RequestTimeout(
                    f"the relay did not answer within {self._request_timeout:g} s"
                ) from None
            finally:
                self._requests.pop(rid, None)

    async def _await_online(self, deadline: float) -> ClientConnection:
        """The live connection, waiting for one until ``deadline`` (time.monotonic)."""
        while True:
            if self._closing:
                raise ClientClosed("the relay client was closed")
            if self._fatal is not None:
                raise self._fatal
            ws = self._ws
            if ws is not None and ws.state is State.OPEN:
                return ws
            if ws is not None:  # closing: the runner is about to notice and reconnect
                await asyncio.sleep(CLOSING_POLL)
                continue
            if self._runner is None:
                raise ClientError("the relay client is not started; call start() first")
            try:
                async with asyncio.timeout_at(_loop_deadline(deadline)):
                    await self._online.wait()
            except TimeoutError:
                raise RequestTimeout(self.last_error or "no connection in time") from None

    def _request_id(self) -> int:
        self._next_id = (self._next_id + 1) % (wire.MAX_REQUEST_ID + 1)
        return self._next_id

    # -- receiving ---------------------------------------------------------------------------

    def _received(self, frame: wire.Deliver) -> None:
        verdict = self._ledger.receive(frame.message_id)
        if verdict is Verdict.DUPLICATE:
            log.debug("dropping a duplicate delivery")
            self._ack_soon(frame.message_id)
        elif verdict is Verdict.NEW:
            delivery = Delivery(frame.message_id, frame.sender, frame.payload, frame.received_at)
            self._inbox.put_nowait(delivery)
        # IN_PROGRESS: already queued from an earlier connection; its commit will ack it.

    async def _consume(self) -> None:
        """Hand deliveries to the app in order, at most ``delivery_concurrency`` at a time."""
        while True:
            delivery = await self._inbox.get()
            await self._slots.acquire()
            self._spawn(self._commit(delivery))

    async def _commit(self, delivery: Delivery) -> None:
        try:
            await self._on_delivery(delivery)
        except Exception:  # the app's failure must not stop the client; the relay redelivers
            log.exception("on_delivery failed; the message stays on the relay")
            self._ledger.failed(delivery.message_id)
            self._ack_soon(None)  # acks held for this burst must not wait for another commit
            return
        finally:
            self._slots.release()
        self._ledger.committed(delivery.message_id)
        self._ack_soon(delivery.message_id)

    def _ack_soon(self, message_id: bytes | None) -> None:
        """Acknowledge ``message_id`` (None: nothing new) with the other acks that are ready.

        The ready acks leave as one frame at the end of the loop turn in which the inbox runs
        empty (or a full batch is ready). Why wait for the inbox: deliveries arrive in bursts (the
        relay writes a connection's frames of a turn at once) but the app commits them one at a
        time, each in a turn of its own; acking per turn would still cost a frame per message.
        Holding acks until the burst is committed delays no delivery: the relay's window (64)
        bounds a burst, and it refills once half of the window is acknowledged.
        """
        if message_id is not None:
            self._ready_acks[message_id] = None
        burst_done = self._inbox.empty() or len(self._ready_acks) >= wire.MAX_ACK_BATCH
        if self._ready_acks and burst_done and not self._acks_scheduled:
            self._acks_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_acks)

    def _flush_acks(self) -> None:
        self._acks_scheduled = False
        ready, self._ready_acks = list(self._ready_acks), {}
        if ready:
            task = asyncio.get_running_loop().create_task(self._send_acks(ready))
            self._ack_senders.add(task)
            task.add_done_callback(self._ack_senders.discard)

    def _ack_frame(self, message_ids: Sequence[bytes]) -> tuple[int, bytes]:
        """The next Ack frame for the front of ``message_ids`` (distinct): (ids it covers, frame).

        Several ids go in one frame only to a relay that announced ``CAP_BATCH``.
        """
        if not self._batch:
            return 1, wire.encode(wire.Ack(message_ids[0]))
        chunk = message_ids[: wire.MAX_ACK_BATCH]
        return len(chunk), wire.encode(wire.Ack(chunk[0], tuple(chunk[1:])))

    async def _send_acks(self, message_ids: Iterable[bytes]) -> None:
        """Acknowledge now if online; otherwise keep the ids for the next login."""
        pending = list(message_ids)
        while pending:
            ws = self._ws
            if ws is None:
                break
            count, frame = self._ack_frame(pending)
            try:
                await ws.send(frame)
            except ConnectionClosed:
                break
            del pending[:count]
        for message_id in pending:
            self._unsent_acks[message_id] = None

    # -- helpers -----------------------------------------------------------------------------

    def _spawn(self, coro: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("a relay client callback failed")

        def finished(task: asyncio.Task[None]) -> None:
            self._tasks.discard(task)
            # A task cancelled before its first step (close() right after a login) never
            # started ``run``, so ``coro`` was never awaited: close it rather than leave it to
            # the garbage collector's "never awaited" warning. A no-op once it has run.
            if asyncio.iscoroutine(coro):
                coro.close()

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(finished)

    def _set_state(self, state: str, detail: str) -> None:
        if state == self.state and state != "offline":
            return
        self.state = state
        if self._on_state is not None:
            try:
                self._on_state(state, detail)
            except Exception:
                log.exception("on_state failed")


def _binary(message: str | bytes) -> bytes:
    if isinstance(message, str):
        raise RelayRefused("bad_frame", "the relay sent a text frame")
    return message


def _loop_deadline(deadline: float) -> float:
    """Convert a time.monotonic deadline to the event loop's clock."""
    return asyncio.get_running_loop().time() + (deadline - time.monotonic())


def _close_reason(ws: ClientConnection) -> str:
    if ws.close_code is None:
        return "connection lost"
    reason = ws.close_reason or "no reason given"
    return f"closed by the relay ({ws.close_code}: {reason})"


def _describe(exc: BaseException, connect_timeout: float) -> str:
    """Why a connection attempt failed, in words that tell the cases apart."""
    reasons: list[tuple[type[BaseException], Callable[[], str]]] = [
        (TimeoutError, lambda: f"no answer within {connect_timeout:g} s"),
        (ConnectionClosed, lambda: "the connection closed during login"),
        (ConnectionRefusedError, lambda: "nothing is listening there (connection refused)"),
        (socket.gaierror, lambda: f"the host name cannot be resolved ({_strerror(exc)})"),
        (OSError, lambda: _strerror(exc)),
        (InvalidStatus, lambda: f"the server there is not a Parley relay ({_status(exc)})"),
        (InvalidHandshake, lambda: f"the server there is not a Parley relay ({_strerror(exc)})"),
    ]
    for kind, reason in reasons:
        if isinstance(exc, kind):
            return reason()
    return _strerror(exc)


def _strerror(exc: BaseException) -> str:
    text = exc.strerror if isinstance(exc, OSError) else None
    return text or str(exc) or type(exc).__name__


def _status(exc: BaseException) -> str:
    code = exc.response.status_code if isinstance(exc, InvalidStatus) else "?"
    return f"it answered HTTP {code}"
