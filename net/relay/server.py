"""The asyncio relay server: a thin pump between websockets and the sans-I/O core.

Why the pump looks like this:

- Group commit. Replies that promise durability (``after_commit``) wait in ``_held`` while the
  store has uncommitted writes; one ``loop.call_soon`` callback commits everything that arrived in
  that event-loop turn and then releases the replies. Many senders share one WAL append.
- Ordered, non-blocking sends. Each connection has an outbox (a deque) drained by a writer task
  that exists only while the outbox is non-empty, so one slow reader never stalls the commit
  callback or other connections, and an idle connection carries no extra task.
- HTTP on the same port: ``GET /health`` and ``GET /metrics`` are answered in ``process_request``
  before any WebSocket upgrade.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from pathlib import Path

from parley.net import wire
from parley.net.errors import RelayConfigError, StoreError
from parley.net.relay.limits import RelayConfig
from parley.net.relay.protocol import Action, Close, RelayCore, Transmit
from parley.net.relay.store import SqliteStore
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

log = logging.getLogger("parley.relay")

DB_NAME = "relay.sqlite3"
TICK_INTERVAL = 1.0


@dataclass(eq=False)
class _Link:
    """The I/O side of one connection: its socket, its outbox and its writer task (if busy)."""

    ws: ServerConnection
    outbox: deque[bytes | Close] = field(default_factory=deque)
    writer: asyncio.Task[None] | None = None


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
        store: SqliteStore,
        clock: Callable[[], float],
    ) -> None:
        self.core = core
        self.store = store
        self.url = ""
        self._clock = clock
        self._links: dict[int, _Link] = {}
        self._held: list[Action] = []
        self._held_conns: set[int] = set()
        self._rollbacks_seen = store.rollbacks
        self._flush_scheduled = False
        self._server: Server | None = None
        self._ticker: asyncio.Task[None] | None = None

    # --- HTTP -------------------------------------------------------------------------------

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Answer the operator's HTTP endpoints; let WebSocket upgrades through."""
        if request.path == "/health":
            return connection.respond(HTTPStatus.OK, "ok\n")
        if request.path == "/metrics":
            return connection.respond(HTTPStatus.OK, self.core.counters.render(self.store.queued))
        return None

    # --- the pump ---------------------------------------------------------------------------

    async def handler(self, ws: ServerConnection) -> None:
        """Serve one WebSocket from its challenge to its close."""
        conn_id, actions = self.core.connect(self._clock())
        self._links[conn_id] = _Link(ws)
        self._apply(actions)
        try:
            async for message in ws:
                self._apply(self.core.receive(conn_id, message, self._clock()))
        except ConnectionClosed:
            pass
        finally:
            self.core.disconnect(conn_id)
            link = self._links.pop(conn_id, None)
            if link is not None and link.writer is not None:
                link.writer.cancel()

    def _apply(self, actions: list[Action]) -> None:
        held_conns = self._held_conns
        for action in actions:
            # A frame for a connection that already has a held frame is held too: frames on one
            # connection keep their order (a welcome precedes the backlog it announces).
            if action.conn in held_conns or (
                type(action) is Transmit and action.after_commit and self.store.dirty
            ):
                self._held.append(action)
                held_conns.add(action.conn)
                if not self._flush_scheduled:
                    self._flush_scheduled = True
                    asyncio.get_running_loop().call_soon(self._flush)
            else:
                self._enqueue(action.conn, action.data if isinstance(action, Transmit) else action)

    def _enqueue(self, conn_id: int, item: bytes | Close) -> None:
        link = self._links.get(conn_id)
        if link is None:
            return
        if link.writer is None and type(item) is bytes:
            ws = link.ws
            # Fast path: with nothing queued ahead and the transport below its high-water mark,
            # frame and write synchronously. This is what ``ws.send`` does inside its context
            # manager, minus a coroutine, a task and a drain that would not wait anyway; it keeps
            # the per-frame cost of forwarding close to a bare echo server's.
            if ws.protocol.state is State.OPEN and not ws.paused:
                ws.protocol.send_binary(item)
                ws.send_data()
                return
        link.outbox.append(item)
        if link.writer is None:
            link.writer = asyncio.get_running_loop().create_task(self._write(link))

    def _flush(self) -> None:
        """Group commit: make every write of this loop turn durable, then release the replies.

        If the commit fails, or if a store failure rolled back part of this group earlier, the
        held durable replies become ``internal`` errors (the senders retry) and the core restarts
        its delivery streams.
        """
        self._flush_scheduled = False
        held, self._held = self._held, []
        self._held_conns.clear()
        recovery: list[Action] = []
        try:
            self.store.commit()
        except StoreError as exc:
            log.error("commit failed: %s", exc)
            recovery = self.core.recover(self._clock())
        if self.store.rollbacks != self._rollbacks_seen:
            self._rollbacks_seen = self.store.rollbacks
            held = [
                _as_failure(a) if isinstance(a, Transmit) and a.after_commit else a for a in held
            ]
        for action in held:
            self._enqueue(action.conn, action.data if isinstance(action, Transmit) else action)
        self._apply(recovery)

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
                self._apply(self.core.tick(self._clock()))
                if self.store.dirty:
                    self.store.commit()
            except StoreError as exc:
                log.error("periodic work failed: %s", exc)

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self, host: str, port: int) -> None:
        """Listen on host:port (0 picks a free port) and start the periodic work."""
        self._server = await serve(
            self.handler,
            host,
            port,
            process_request=self.process_request,
            compression=None,
            max_size=wire.MAX_FRAME,
            server_header=None,
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
        if self._held or self.store.dirty:
            self._flush()
        self.store.close()
        log.info("stopped")


def _as_failure(reply: Transmit) -> Transmit:
    """The ``internal`` error that replaces a durable reply whose writes may be lost."""
    frame = wire.decode_server_frame(reply.data)
    error = wire.Error(
        "internal",
        "the relay could not store this; nothing was kept, try again",
        getattr(frame, "request_id", None),
        frame.message_id if isinstance(frame, wire.Sent) else None,
    )
    return Transmit(reply.conn, wire.encode(error))


@contextlib.asynccontextmanager
async def serve_relay(
    host: str,
    port: int,
    data_dir: Path,
    config: RelayConfig | None = None,
    *,
    clock: Callable[[], float] = time.time,
    fsync: bool = False,
) -> AsyncIterator[RelayServer]:
    """Run a relay inside the current event loop (the demo and tests use this).

    Args:
        host: the address to listen on, e.g. ``127.0.0.1``.
        port: the port, 0 for any free one (read the result from ``relay.url``).
        data_dir: where the SQLite database lives (created if missing).
        config: limits; an empty ``config.name`` becomes the listening URL.
        clock: the relay's time source; tests inject one to exercise the time-to-live.
        fsync: fsync every group commit (survive power loss, not just a crash).

    Yields:
        The running server; ``relay.url`` is the address clients dial and sign.
    """
    config = config or RelayConfig()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RelayConfigError(f"cannot create the data directory {data_dir}: {exc}") from exc
    store = SqliteStore(
        data_dir / DB_NAME,
        quota_messages=config.quota_messages,
        quota_bytes=config.quota_bytes,
        max_prekey_stock=config.max_prekey_stock,
        fsync=fsync,
    )
    server = RelayServer(RelayCore(config, store), store, clock)
    try:
        await server.start(host, port)
    except OSError:
        store.close()
        raise
    if not config.name:
        server.core.config = replace(config, name=server.url)
    try:
        yield server
    finally:
        await server.stop()
