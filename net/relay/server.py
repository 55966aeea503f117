"""The asyncio relay server: a thin pump between websockets and the sans-I/O core.

Why the pump looks like this:

- No handler loop per message. ``RelayConnection`` (connection.py) hands each complete message to
  the core from ``data_received``; the handler task only waits for the close.
- One end-of-turn callback. Replies that promise durability (``after_commit``) wait in ``_held``
  while the store has uncommitted writes; one ``loop.call_soon`` callback commits everything that
  arrived in that event-loop turn, releases the replies, and then writes each connection's frames
  of the turn with one ``transport.write``. Many senders share one WAL append, and a connection
  that got a burst of frames (receipts, deliveries) costs one system call, not one per frame.
- One receipt frame per connection and turn. For a client that announced ``CAP_BATCH``, the held
  receipts of the turn become one ``sent_batch`` frame (at the place of the first), because a
  relayed message's cost is mostly per frame, on both ends (docs/relay.md, "Throughput"); for a
  client that announced ``CAP_DELIVER_BATCH``, its deliveries of the turn become one
  ``deliver_batch`` frame the same way.
- Ordered, non-blocking sends. Frames are framed into the websockets protocol's buffer at once (in
  order) and written at the end of the turn. A connection whose transport is over its high-water
  mark gets an outbox (a deque) drained by a writer task that exists only while the outbox is
  non-empty, so one slow reader never stalls the commit or other connections, and an idle
  connection carries no extra task.
- Write-behind timer (``config.commit_delay``): while the core holds live messages in memory, one
  timer fires every commit delay and stores those held since the previous firing (so a message
  waits between one and two delays unless its recipient acknowledges it first); their receipts
  then wait for the commit like any other. Receipts are always held to the end of the turn, even
  when nothing is to be committed (an acknowledged held message), so they still travel batched.
- HTTP on the same port: ``GET /health`` and ``GET /metrics`` are answered in ``process_request``
  before any WebSocket upgrade.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import stat
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from functools import partial
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

from parley.net import wire
from parley.net.errors import RelayConfigError, StoreError
from parley.net.relay.connection import RelayConnection
from parley.net.relay.limits import RelayConfig
from parley.net.relay.protocol import Action, Close, RelayCore, StagedBatch, Transmit
from parley.net.relay.store import Queued, RelayStore, SqliteStore
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

if TYPE_CHECKING:  # the capture module is imported only with --lawful-intercept
    from parley.net.relay.capture import Capture

log = logging.getLogger("parley.relay")

DB_NAME = "relay.sqlite3"
DATA_DIR_MODE = 0o700
DB_FILE_MODE = 0o600
TICK_INTERVAL = 1.0
# Sends and acks gathered while a batch is written to a networked store: past this, every
# connection's reading pauses until the write is done and half of them have been written.
MAX_STAGED = 20_000
SLOW_TURN = 0.05  # seconds: a commit (or collection, command.py) longer than this is logged


@dataclass(eq=False)
class _Link:
    """The I/O side of one connection: its socket, its outbox and its writer task (if busy)."""

    ws: ServerConnection
    outbox: deque[bytes | Close] = field(default_factory=deque)
    writer: asyncio.Task[None] | None = None
    unwritten: bool = False  # frames framed this turn, written by the end-of-turn callback


class RelayServer:
    """A running relay: the core, its store and the websockets server around them.

    Use :func:`serve_relay` rather than constructing this directly.

    Attributes:
        core: the protocol core (its ``counters`` are the operator's metrics).
        url: ``ws://host:port`` as the relay listens (known once started).
    """

    def __init__(
        self,
        core: RelayCore,
        store: RelayStore,
        clock: Callable[[], float],
    ) -> None:
        self.core = core
        self.store = store
        core.stage_sends = store.pipelined  # a turn's sends in one round trip (see _flush)
        self._staging = store.pipelined  # (read per frame: a plain attribute is cheapest)
        self.url = ""
        self._clock = clock
        self._links: dict[int, _Link] = {}
        self._held: list[Action] = []
        self._held_conns: set[int] = set()
        self._unwritten: list[_Link] = []
        self._rollbacks_seen = store.rollbacks
        self._flush_handle: asyncio.Handle | None = None  # the end-of-turn flush, once scheduled
        self._deferred_timer: asyncio.TimerHandle | None = None
        self._deferred_mark = 0  # held messages up to this ticket are stored when the timer fires
        self._server: Server | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._wakeups: Any = None  # Wakeups, over a shared store only
        # Accounts woken in this loop turn, with the messages the wake-ups carried (None: read
        # the queue).
        self._woken: dict[bytes, list[Queued] | None] = {}
        self._writing: asyncio.Future[Any] | None = None
        self._reading_paused = False
        # Lawful interception's HI1 scan and store (only with --lawful-intercept).
        self.capture: Capture | None = None

    # --- HTTP -------------------------------------------------------------------------------

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Answer the operator's HTTP endpoints; let WebSocket upgrades through."""
        if request.path == "/health":
            return connection.respond(HTTPStatus.OK, "ok\n")
        if request.path == "/metrics":
            queued = self.store.queued + self.core.deferred_count
            return connection.respond(HTTPStatus.OK, self.core.counters.render(queued))
        return None

    # --- the pump ---------------------------------------------------------------------------

    async def handler(self, ws: ServerConnection) -> None:
        """Serve one WebSocket from its challenge to its close."""
        conn_id, actions = self.core.connect(self._clock())
        self._links[conn_id] = _Link(ws)
        self._apply(actions)
        try:
            if isinstance(ws, RelayConnection):
                ws.attach(partial(self._receive, conn_id))
                await ws.wait_closed()
            else:  # pragma: no cover - start() always creates RelayConnection
                async for message in ws:
                    self._receive(conn_id, message)
        except ConnectionClosed:
            pass
        finally:
            self.core.disconnect(conn_id)
            link = self._links.pop(conn_id, None)
            if link is not None and link.writer is not None:
                link.writer.cancel()

    def _receive(self, conn_id: int, message: bytes | str) -> None:
        self._apply(self.core.receive(conn_id, message, self._clock()))
        if self._staging and self.core.staged_count:
            self._schedule_flush()
            if (
                self.core.staged_count >= MAX_STAGED
                and self._writing is not None
                and not self._reading_paused
            ):
                log.warning("the store is behind (%d writes waiting): reading paused", MAX_STAGED)
                self._pause_reading(True)
        if self.capture is not None and self.capture.dirty:
            self._schedule_flush()  # the capture's records of this turn commit at its end
        if self._deferred_timer is None and self.core.deferred_count:
            self._arm_deferred_timer()

    def _apply(self, actions: list[Action]) -> None:
        held_conns = self._held_conns
        for action in actions:
            # Held to the end of the turn: replies that promise durability while the store has
            # uncommitted writes, and every receipt and batchable delivery (so that the turn's
            # receipts, and its deliveries, leave as one frame per connection). A frame for a
            # connection that already has a held frame is held too: frames on one connection
            # keep their order (a welcome precedes the backlog it announces).
            if action.conn in held_conns or (
                type(action) is Transmit
                and (
                    (action.after_commit and (self.store.dirty or action.receipt is not None))
                    or action.delivery is not None
                )
            ):
                self._held.append(action)
                held_conns.add(action.conn)
                self._schedule_flush()
            else:
                self._enqueue(action.conn, _frame(action))

    def _enqueue(self, conn_id: int, item: bytes | Close) -> None:
        link = self._links.get(conn_id)
        if link is None:
            return
        if link.writer is None and type(item) is bytes:
            ws = link.ws
            # Fast path: with nothing queued ahead and the transport below its high-water mark,
            # frame now (order is kept by the protocol's buffer) and write at the end of the turn.
            # This is what ``ws.send`` does, minus a coroutine and a drain that would not wait
            # anyway, and with every frame of the turn for this connection in one write.
            if ws.protocol.state is State.OPEN and not ws.paused:
                ws.protocol.send_binary(item)
                if not link.unwritten:
                    link.unwritten = True
                    self._unwritten.append(link)
                    self._schedule_flush()
                return
        link.outbox.append(item)
        if link.writer is None:
            link.writer = asyncio.get_running_loop().create_task(self._write(link))

    def _schedule_flush(self) -> None:
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        """End of turn: commit, release the held replies, write every connection's frames.

        Group commit makes every store write of this loop turn durable before any reply that
        promises it leaves. If the commit fails, or if a store failure rolled back part of this
        group earlier, the held durable replies become ``internal`` errors (the senders retry)
        and the core restarts its delivery streams.
        """
        if self.core.staged_count and self._writing is None:
            self._write_staged()
        if self._flush_handle is not None:  # a direct call (stop) makes the scheduled one moot
            self._flush_handle.cancel()
            self._flush_handle = None
        if self.capture is not None:
            self.capture.commit()
        held, self._held = self._held, []
        self._held_conns.clear()
        recovery: list[Action] = []
        if self.store.dirty:
            started = time.perf_counter()
            try:
                self.store.commit()
            except StoreError as exc:
                log.error("commit failed: %s", exc)
                recovery = self.core.recover(self._clock())
            took = time.perf_counter() - started
            if took > SLOW_TURN:  # the loop stood still meanwhile: an operator wants to know
                log.warning("a commit held the relay for %.0f ms", took * 1000)
        if self.store.rollbacks != self._rollbacks_seen:
            self._rollbacks_seen = self.store.rollbacks
            held = [
                _as_failure(a) if isinstance(a, Transmit) and a.after_commit else a for a in held
            ]
        for conn_id, item in _batch(held):
            self._enqueue(conn_id, item)
        self._apply(recovery)
        unwritten, self._unwritten = self._unwritten, []
        for link in unwritten:
            link.unwritten = False
            _write_now(link.ws)

    def _write_staged(self) -> None:
        """Write the turn's gathered sends and acks (a networked store) in a task of its own.

        The loop goes on meanwhile: a round trip to Redis is mostly waiting. (A writer thread
        did the same but fought the loop for the GIL: a handoff cost up to a switch interval,
        5 ms, which showed in the cross-process latency.) One batch is in flight at a time, so
        a recipient's messages are stored in arrival order; what arrives meanwhile forms the
        next batch. Receipts and deliveries follow when the write is done
        (``_staged_written``)."""
        batch = self.core.take_staged()
        self._writing = asyncio.ensure_future(self.store.write_batch_async(batch.acks, batch.sends))
        self._writing.add_done_callback(lambda done: self._staged_written(batch, done))

    def _staged_written(self, batch: StagedBatch, done: asyncio.Future[Any]) -> None:
        self._writing = None
        if done.cancelled():  # the loop is shutting down: the senders will resend
            return
        outcome = done.exception() or done.result()
        if isinstance(outcome, BaseException) and not isinstance(outcome, StoreError):
            outcome = StoreError(f"the store failed: {outcome!r}")
        self._apply(self.core.finish_staged(batch, outcome, self._clock()))
        if self._reading_paused and self.core.staged_count < MAX_STAGED // 2:
            self._pause_reading(False)
        if self.core.staged_count:
            self._schedule_flush()

    def _pause_reading(self, pause: bool) -> None:
        """Backpressure while the store is behind: the sockets' data waits in the kernel (and
        then in the senders) instead of piling up here as staged writes."""
        self._reading_paused = pause
        for link in self._links.values():
            transport = link.ws.transport
            if pause:
                transport.pause_reading()
            else:
                transport.resume_reading()

    def _arm_deferred_timer(self) -> None:
        """Store, one commit delay from now, what the core holds now (so each held message
        waits between one and two delays, and one timer serves them all)."""
        self._deferred_mark = self.core.deferred_ticket
        delay = self.core.config.commit_delay
        self._deferred_timer = asyncio.get_running_loop().call_later(delay, self._on_commit_delay)

    def _on_commit_delay(self) -> None:
        """The write-behind timer: store what has been held for a whole commit delay."""
        self._deferred_timer = None
        self._apply(self.core.commit_deferred(self._deferred_mark, self._clock()))
        if self.core.deferred_count:
            self._arm_deferred_timer()

    async def _write(self, link: _Link) -> None:
        try:
            while link.outbox:
                item = link.outbox.popleft()
                if isinstance(item, Close):
                    await link.ws.close(item.code, item.reason)
                    link.outbox.clear()
                    break
                await link.ws.send(item)
        except ConnectionClosed:
            link.outbox.clear()
        finally:
            link.writer = None

    async def _tick(self) -> None:
        """Once a second: auth timeouts, expiry sweep (at its own interval)."""
        while True:
            await asyncio.sleep(TICK_INTERVAL)
            try:
                if self.capture is not None:
                    self.capture.scan(self._clock())
                self._apply(self.core.tick(self._clock()))
                if self.store.dirty:
                    self.store.commit()
            except StoreError as exc:
                log.error("periodic work failed: %s", exc)

    # --- lifecycle --------------------------------------------------------------------------

    def _wake(self, account: bytes, fresh: list[Queued] | None) -> None:
        """Another relay process stored messages for ``account`` (``fresh``, when the wake-up
        carried them): forward them at the end of this loop turn, once however many wake-ups
        for it arrived in the turn (at most one store read for a burst)."""
        if not self._woken:
            asyncio.get_running_loop().call_soon(self._read_woken)
        if account not in self._woken:
            self._woken[account] = fresh
        else:
            known = self._woken[account]
            self._woken[account] = None if known is None or fresh is None else known + fresh

    def _read_woken(self) -> None:
        woken, self._woken = self._woken, {}
        now = self._clock()
        for account, fresh in woken.items():
            self._apply(self.core.wake(account, now, fresh))

    async def start(self, host: str, port: int, *, reuse_port: bool = False) -> None:
        """Listen on host:port (0 picks a free port) and start the periodic work.

        ``reuse_port`` lets several relay processes listen on one port (SO_REUSEPORT); the kernel
        spreads new connections over them (``parley relay --workers N``).
        """
        if self.store.shared:
            from parley.net.relay.store_redis import RedisStore
            from parley.net.relay.wakeups import Wakeups

            if isinstance(self.store, RedisStore):
                self._wakeups = Wakeups(self.store.url, self.store.publisher, self._wake)
                await self._wakeups.start()
                self.core.presence = self._wakeups.presence
        self._server = await serve(
            self.handler,
            host,
            port,
            process_request=self.process_request,
            create_connection=RelayConnection,
            compression=None,
            max_size=wire.MAX_FRAME,
            server_header=None,
            reuse_port=reuse_port,
        )
        sockname = next(iter(self._server.sockets)).getsockname()
        shown = f"[{host}]" if ":" in host else host
        self.url = f"ws://{shown}:{sockname[1]}"
        self._ticker = asyncio.get_running_loop().create_task(self._tick())
        log.info("listening on %s", self.url)

    async def stop(self) -> None:
        """Close every connection (1001 going away), commit, and close the store."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self._server is not None:
            self._server.close(close_connections=True)
            await self._server.wait_closed()
        if self._wakeups is not None:
            await self._wakeups.stop()
        if self._deferred_timer is not None:
            self._deferred_timer.cancel()
        if self._writing is not None:  # the batch in flight lands first
            with contextlib.suppress(Exception):
                await self._writing
        # Held messages are stored (their senders are gone and will resend; the store answers the
        # resend as a duplicate and the recipient gets each message at least once).
        self._apply(self.core.commit_deferred(None, self._clock()))
        self._apply(self.core.store_staged(self._clock()))
        # A flush still scheduled (the closing connections' last actions) runs now: after
        # store.close() it would fail on the closed database.
        if self._held or self.store.dirty or self._flush_handle is not None:
            self._flush()
        await self.store.aclose()
        self.store.close()
        if self.capture is not None:
            self.capture.close()
        log.info("stopped")


def _write_now(ws: ServerConnection) -> None:
    """Write the frames waiting in the protocol's buffer with one ``transport.write``.

    ``ws.send_data`` writes them one call each; the empty chunk that asks for a half-close (only
    after a closing handshake, which websockets flushes itself) is honoured the same way.
    """
    chunks = ws.protocol.data_to_send()
    data = b"".join(chunks)
    if data:
        ws.transport.write(data)
    if all(chunks):
        return
    if ws.transport.can_write_eof():
        ws.transport.write_eof()
    else:  # pragma: no cover - TLS transports; the relay listens in plain TCP behind a proxy
        ws.transport.close()


def _frame(action: Action) -> bytes | Close:
    """What to put on the wire for one action (a lone receipt or delivery goes as a plain frame)."""
    if isinstance(action, Close):
        return action
    if action.receipt is not None:
        return wire.encode_sent(*action.receipt)
    if action.delivery is not None:
        return wire.encode_deliver(*action.delivery)
    return action.data


_READY, _RECEIPTS, _DELIVERIES = 0, 1, 2  # what an entry of _batch's plan holds


def _batch(held: list[Action]) -> list[tuple[int, bytes | Close]]:
    """The held actions as frames in order, each connection's receipts packed into one frame and
    its deliveries into another (split at the batch limits).

    A batch takes the place of the first entry it packs. Receipts, deliveries and other frames are
    independent streams (matched by request id or message id), so only each stream's own order,
    which the batches keep, matters; ``welcome`` still precedes the backlog it announces, because
    it comes before the first delivery. (Plain lists and dicts: this runs once per turn over every
    held action.)
    """
    receipts: dict[int, list[wire.Receipt]] = {}
    deliveries: dict[int, list[wire.Delivery]] = {}
    sizes: dict[int, int] = {}
    plan: list[tuple[int, int, Any]] = []
    for action in held:
        conn = action.conn
        if isinstance(action, Close):
            plan.append((conn, _READY, action))
        elif (receipt := action.receipt) is not None:
            batch = receipts.get(conn)
            if batch is None or len(batch) >= wire.MAX_RECEIPT_BATCH:
                batch = receipts[conn] = []
                plan.append((conn, _RECEIPTS, batch))
            batch.append(receipt)
        elif (delivery := action.delivery) is not None:
            size = len(delivery[2])
            entries = deliveries.get(conn)
            if (
                entries is None
                or len(entries) >= wire.MAX_DELIVER_BATCH
                or sizes[conn] + size > wire.DELIVER_BATCH_BYTES
            ):
                entries = deliveries[conn] = []
                sizes[conn] = 0
                plan.append((conn, _DELIVERIES, entries))
            entries.append(delivery)
            sizes[conn] += size
        else:
            plan.append((conn, _READY, action.data))
    frames: list[tuple[int, bytes | Close]] = []
    for conn, kind, item in plan:
        if kind == _READY:
            frames.append((conn, item))
        elif kind == _RECEIPTS:
            one = len(item) == 1
            frames.append(
                (conn, wire.encode_sent(*item[0]) if one else wire.encode_sent_batch(item))
            )
        else:
            one = len(item) == 1
            frames.append(
                (conn, wire.encode_deliver(*item[0]) if one else wire.encode_deliver_batch(item))
            )
    return frames


def _as_failure(reply: Transmit) -> Transmit:
    """The ``internal`` error that replaces a durable reply whose writes may be lost."""
    request_id: int | None
    message_id: bytes | None
    if reply.receipt is not None:
        request_id, message_id = reply.receipt[0], reply.receipt[1]
    else:
        frame = wire.decode_server_frame(reply.data)
        request_id = getattr(frame, "request_id", None)
        message_id = frame.message_id if isinstance(frame, wire.Sent) else None
    error = wire.Error(
        "internal",
        "the relay could not store this; nothing was kept, try again",
        request_id,
        message_id,
    )
    return Transmit(reply.conn, wire.encode(error))


def _private_files(data_dir: Path) -> None:
    """The data folder 0700 and the database 0600 (its -wal and -shm files inherit the mode):
    the relay's database holds every account's queued messages and social graph."""
    data_dir.mkdir(mode=DATA_DIR_MODE, parents=True, exist_ok=True)
    if stat.S_IMODE(data_dir.stat().st_mode) != DATA_DIR_MODE:
        data_dir.chmod(DATA_DIR_MODE)
    db = data_dir / DB_NAME
    os.close(os.open(db, os.O_CREAT | os.O_WRONLY, DB_FILE_MODE))
    for path in (db, *(db.with_name(db.name + s) for s in ("-wal", "-shm"))):
        with contextlib.suppress(FileNotFoundError):
            if stat.S_IMODE(path.stat().st_mode) != DB_FILE_MODE:
                path.chmod(DB_FILE_MODE)


@contextlib.asynccontextmanager
async def serve_relay(
    host: str,
    port: int,
    data_dir: Path,
    config: RelayConfig | None = None,
    *,
    clock: Callable[[], float] = time.time,
    fsync: bool = False,
    store_url: str | None = None,
    reuse_port: bool = False,
    publisher: str = "",
    lawful_intercept: Path | None = None,
) -> AsyncIterator[RelayServer]:
    """Run a relay inside the current event loop (the demo and tests use this).

    Args:
        host: the address to listen on, e.g. ``127.0.0.1``.
        port: the port, 0 for any free one (read the result from ``relay.url``).
        data_dir: where the SQLite database lives (created if missing).
        config: limits; an empty ``config.name`` becomes the listening URL.
        clock: the relay's time source; tests inject one to exercise the time-to-live.
        fsync: fsync every group commit (survive power loss, not just a crash).
        store_url: a Redis/Valkey store (``redis://...``) instead of SQLite in ``data_dir``.
        reuse_port: share the port with other relay processes (SO_REUSEPORT).
        publisher: this process's id on a shared store (default: host name and process id).
        lawful_intercept: the authority's public parameters (authority.json); only then does a
            capture path exist (docs/warrant.md). None: the capture code is not even imported.

    Yields:
        The running server; ``relay.url`` is the address clients dial and sign.
    """
    config = config or RelayConfig()
    store = open_store(data_dir, config, fsync=fsync, url=store_url, publisher=publisher)
    server = RelayServer(RelayCore(config, store), store, clock)
    if lawful_intercept is not None:
        try:
            from parley.net.relay.capture import Capture, load_authority_key
        except ImportError as exc:  # the standard wheel leaves the capture code out
            store.close()
            raise RelayConfigError("this build has no lawful-interception support") from exc
        try:
            server.capture = Capture(data_dir, load_authority_key(lawful_intercept))
        except RelayConfigError:
            store.close()
            raise
        server.core.tap = server.capture.observe
        server.capture.scan(clock())
        log.warning("lawful interception is ON: HI1 orders are read from %s", server.capture.dir)
    try:
        await server.start(host, port, reuse_port=reuse_port)
    except (OSError, StoreError):
        await server.stop()
        raise
    # The name clients sign, normalised as they normalise it (wire.relay_name).
    server.core.config = replace(config, name=wire.relay_name(config.name or server.url))
    try:
        yield server
    finally:
        await server.stop()


def open_store(
    data_dir: Path,
    config: RelayConfig,
    *,
    fsync: bool = False,
    url: str | None = None,
    publisher: str = "",
) -> RelayStore:
    """The relay's store: SQLite in ``data_dir`` by default, or the Redis store ``url`` names."""
    if url:
        from parley.net.relay.store_redis import RedisStore, is_redis_url

        if not is_redis_url(url):
            raise RelayConfigError(
                f"unknown store {url!r}: use redis://HOST:PORT/DB, rediss://... (TLS) or "
                "redis+cluster://HOST:PORT"
            )
        return RedisStore(
            url,
            quota_messages=config.quota_messages,
            quota_bytes=config.quota_bytes,
            max_prekey_stock=config.max_prekey_stock,
            publisher=publisher or f"{socket.gethostname()}:{os.getpid()}",
        )
    try:
        _private_files(data_dir)
    except OSError as exc:
        raise RelayConfigError(f"cannot create the data directory {data_dir}: {exc}") from exc
    return SqliteStore(
        data_dir / DB_NAME,
        quota_messages=config.quota_messages,
        quota_bytes=config.quota_bytes,
        max_prekey_stock=config.max_prekey_stock,
        fsync=fsync,
    )
