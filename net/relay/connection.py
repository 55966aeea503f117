"""The relay's WebSocket connection: each complete message goes straight to the core.

Why not ``async for message in ws``: that path puts every frame into websockets' message queue,
wakes the handler task, and takes the frame out again, which costs more Python calls per message
than the relay's own work on a small forwarded message (a forward is two frames in and two out).
This subclass, passed to ``serve`` as its documented ``create_connection`` factory, receives the
parsed frames in ``process_event`` (called from ``data_received``) and hands each complete data
message to a sink synchronously, in arrival order. Control frames (ping, pong, close) and the
handshake keep websockets' own handling. Websockets still enforces ``max_size`` across fragments
and the fragment order, so the reassembly here only joins what it has already checked.

Reads go into one preallocated buffer per thread (``asyncio.BufferedProtocol``: the transport calls
``recv_into``), and only the bytes received are copied out. The default ``Protocol`` path calls
``recv(262144)`` instead, which allocates a 256 KiB object per read and shrinks it to the few
hundred bytes a relay frame has; on our CI machine that cost about 12 us more per read than
``recv_into`` plus the copy, more than the relay's own work on a forwarded message. One buffer
serves every connection of the thread because the transport hands it back (``buffer_updated``)
before it reads any other socket, and the data is copied before websockets sees it.

The relay attaches its sink as the first thing its handler does, and websockets (15) starts the
handler right after the handshake without yielding to the loop, so no frame can arrive before it.
Should a later websockets yield there, such frames wait in a list and are handed over, in order,
when the sink attaches: a guard, not a path the relay relies on.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.frames import Frame, Opcode
from websockets.protocol import Event

log = logging.getLogger("parley.relay")

Sink = Callable[[bytes | str], None]

_TEXT, _BINARY, _CONT = Opcode.TEXT, Opcode.BINARY, Opcode.CONT

# As much as asyncio's own transports read at once.
READ_BUFFER_SIZE = 256 * 1024
_local = threading.local()


def _read_buffer() -> memoryview:
    """This thread's read buffer (created on first use; event loops never share a thread)."""
    buffer: memoryview | None = getattr(_local, "buffer", None)
    if buffer is None:
        buffer = _local.buffer = memoryview(bytearray(READ_BUFFER_SIZE))
    return buffer


class RelayConnection(ServerConnection, asyncio.BufferedProtocol):
    """A ``ServerConnection`` that delivers whole data messages to a sink instead of a queue,
    and reads its socket into a shared buffer instead of a fresh 256 KiB object per read."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sink: Sink | None = None
        self._early: list[bytes | str] = []
        self._fragments: list[bytes] = []
        self._fragmented_text = False

    def get_buffer(self, sizehint: int) -> memoryview:
        """Where the transport's next ``recv_into`` goes (see the module doc)."""
        return _read_buffer()

    def buffer_updated(self, nbytes: int) -> None:
        """Copy out what was received and hand it to websockets as ``data_received`` would."""
        self.data_received(bytes(_read_buffer()[:nbytes]))

    def attach(self, sink: Sink) -> None:
        """Send every message from now on (and those that arrived before) to ``sink``."""
        self._sink = sink
        early, self._early = self._early, []
        for message in early:
            sink(message)

    def process_event(self, event: Event) -> None:
        """Hand complete data messages to the sink; leave everything else to websockets."""
        if type(event) is not Frame or self.request is None:
            super().process_event(event)
            return
        opcode = event.opcode
        if opcode is _BINARY and event.fin:
            message: bytes | str = bytes(event.data)  # the common case: one whole binary frame
        elif opcode is _BINARY or opcode is _TEXT or opcode is _CONT:
            assembled = self._assemble(event)
            if assembled is None:
                return
            message = assembled
        else:
            super().process_event(event)
            return
        sink = self._sink
        if sink is None:
            self._early.append(message)
            return
        try:
            sink(message)
        except Exception:  # a bug in the relay must end this connection, not the whole process
            log.exception("internal error while handling a frame; closing the connection")
            self.transport.abort()

    def _assemble(self, frame: Frame) -> bytes | str | None:
        """Join a fragmented message (websockets has checked its order and total size)."""
        if frame.opcode is not _CONT:
            self._fragments = []
            self._fragmented_text = frame.opcode is _TEXT
        self._fragments.append(bytes(frame.data))
        if not frame.fin:
            return None
        data, self._fragments = b"".join(self._fragments), []
        if self._fragmented_text:
            # The core refuses text frames with an error frame; invalid UTF-8 is refused the same.
            return data.decode("utf-8", "replace")
        return data
