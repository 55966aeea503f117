"""The relay's WebSocket connection: each complete message goes straight to the core.

Why not ``async for message in ws``: that path puts every frame into websockets' message queue,
wakes the handler task, and takes the frame out again, which costs more Python calls per message
than the relay's own work on a small forwarded message (a forward is two frames in and two out).
This subclass, passed to ``serve`` as its documented ``create_connection`` factory, receives the
parsed frames in ``process_event`` (called from ``data_received``) and hands each complete data
message to a sink synchronously, in arrival order. Control frames (ping, pong, close) and the
handshake keep websockets' own handling. Websockets still enforces ``max_size`` across fragments
and the fragment order, so the reassembly here only joins what it has already checked.

The relay attaches its sink as the first thing its handler does, and websockets (15) starts the
handler right after the handshake without yielding to the loop, so no frame can arrive before it.
Should a later websockets yield there, such frames wait in a list and are handed over, in order,
when the sink attaches: a guard, not a path the relay relies on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.frames import Frame, Opcode
from websockets.protocol import Event

log = logging.getLogger("parley.relay")

Sink = Callable[[bytes | str], None]

_TEXT, _BINARY, _CONT = Opcode.TEXT, Opcode.BINARY, Opcode.CONT


class RelayConnection(ServerConnection):
    """A ``ServerConnection`` that delivers whole data messages to a sink instead of a queue."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sink: Sink | None = None
        self._early: list[bytes | str] = []
        self._fragments: list[bytes] = []
        self._fragmented_text = False

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
