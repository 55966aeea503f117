"""A relay inside the app, on 127.0.0.1 only: for `parley demo` and for trying Parley alone.

The relay runs as a task on the core's asyncio loop, so it needs no thread or process of its own;
it is a real relay (net/relay/) with its own store, reached over a real WebSocket on loopback.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from pathlib import Path
from urllib.parse import urlsplit

from parley.ui.bridge import Submitter
from parley.ui.errors import StartupFailed

log = logging.getLogger(__name__)

START_TIMEOUT_S = 20.0
LOOPBACK = "127.0.0.1"


def embedded_port(url: str) -> int | None:
    """The port when ``url`` is a ws:// URL on 127.0.0.1 (the embedded relay's), else None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != "ws" or parts.hostname != LOOPBACK or port is None:
        return None
    return port


class EmbeddedRelay:
    """Start and stop one relay on loopback; ``url`` once it listens."""

    def __init__(self, runtime: Submitter, data_dir: Path) -> None:
        self._runtime = runtime
        self._data_dir = data_dir
        self._stop: asyncio.Event | None = None
        self._task: concurrent.futures.Future[None] | None = None
        self.url: str | None = None

    def start_ephemeral(self) -> str:
        """Listen on a free port of 127.0.0.1 and return the relay's URL."""
        return self._start(0)

    def ensure(self, url: str) -> None:
        """Start the relay if ``url`` names an embedded one on 127.0.0.1 and none runs yet.

        A relay someone else already runs on that port is fine: the failure to bind is logged
        and the client connects to that one.
        """
        port = embedded_port(url)
        if port is None or self._task is not None:
            return
        try:
            self._start(port)
        except StartupFailed as error:
            log.warning("embedded relay not started: %s", error)

    def _start(self, port: int) -> str:
        bound: concurrent.futures.Future[str] = concurrent.futures.Future()
        self._task = self._runtime.submit(self._serve(port, bound))
        try:
            url = bound.result(timeout=START_TIMEOUT_S)
        except Exception as error:
            self._task = None
            raise StartupFailed(
                f"The local relay could not start on port {port}: {error}"
            ) from error
        self.url = url
        return url

    async def _serve(self, port: int, bound: concurrent.futures.Future[str]) -> None:
        from parley.net.relay.server import serve_relay

        self._stop = asyncio.Event()
        try:
            async with serve_relay(LOOPBACK, port, self._data_dir) as server:
                bound.set_result(server.url)
                await self._stop.wait()
        except BaseException as error:
            if not bound.done():
                bound.set_exception(error)
            raise

    def stop(self) -> None:
        """Stop listening (waits briefly for the relay to close its store)."""
        task, stop = self._task, self._stop
        self._task = None
        if task is None or stop is None:
            return

        async def signal() -> None:
            stop.set()

        self._runtime.submit(signal())
        try:
            task.result(timeout=10)
        except Exception:  # stopping is best effort on the way out
            log.exception("the embedded relay did not stop cleanly")
