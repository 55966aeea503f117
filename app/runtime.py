"""The core's event loop: one asyncio loop on a dedicated daemon thread.

The desktop app must never block its GUI thread on the network, the store or Argon2, and Qt's own
asyncio integration cannot open sockets (see docs/ARCHITECTURE.md); so the core owns a plain
asyncio loop on its own thread, and callers hand it coroutines with ``submit`` (thread-safe,
returns a concurrent Future) or, from synchronous scripts such as the CLI, ``call``. Exceptions
raised by a coroutine always surface in its future; nothing is swallowed here.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from parley.app.errors import AppError

T = TypeVar("T")

STOP_TIMEOUT_S = 10.0


class CoreRuntime:
    """Owns the core thread and its event loop; ``start`` before use, ``stop`` at the end."""

    def __init__(self, name: str = "parley-core") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    def __repr__(self) -> str:
        return f"CoreRuntime({self._name!r}, running={self.running})"

    @property
    def running(self) -> bool:
        """Whether the loop is running and accepts work."""
        return self._loop is not None and self._loop.is_running()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The core's loop (for code that already runs on it)."""
        if self._loop is None:
            raise AppError("The core runtime has not been started.")
        return self._loop

    def start(self) -> None:
        """Start the thread and wait until its loop runs; idempotent while running."""
        if self._thread is not None:
            return
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(
            target=self._run, args=(loop,), name=self._name, daemon=True
        )
        self._thread.start()
        self._ready.wait()

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(self._ready.set)
        try:
            loop.run_forever()
        finally:
            self._cancel_leftovers(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    @staticmethod
    def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
        tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the core loop from any thread; its outcome lands in the future."""
        if not self.running:
            coro.close()
            raise AppError("The core runtime is not running.")
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the core loop and wait for its result (for synchronous callers).

        Raises:
            TimeoutError: not finished within ``timeout`` seconds (the coroutine is cancelled).
            Exception: whatever the coroutine raised.
        """
        if threading.current_thread() is self._thread:
            coro.close()
            raise AppError("CoreRuntime.call would deadlock on the core thread; await instead.")
        future = self.submit(coro)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"The core did not finish within {timeout} s.") from None

    def stop(self) -> None:
        """Cancel what still runs, stop the loop and join the thread; idempotent."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(STOP_TIMEOUT_S)
        self._thread = None
        self._loop = None
        self._ready.clear()
