"""The progress display of ``parley compare``: one bar per phase on standard error.

On a terminal the current phase's bar is redrawn in place and stays on its own line when the phase
ends; anywhere else (CI logs, a pipe) each phase prints plain lines: its start, then its end with
the time it took, so a log stays readable.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 28


class Phase:
    """One phase's bar; ``advance`` moves it, ``note`` says what it is doing."""

    def __init__(self, out: TextIO, tty: bool, name: str, total: int) -> None:
        self.out, self.tty, self.name, self.total = out, tty, name, max(total, 1)
        self.done = 0
        self.started = time.monotonic()
        self.detail = ""
        if tty:
            self._draw()
        else:
            print(f"compare: {name} ...", file=out, flush=True)

    def _draw(self) -> None:
        filled = round(WIDTH * min(self.done, self.total) / self.total)
        bar = "#" * filled + "-" * (WIDTH - filled)
        line = f"\r{self.name:<13} [{bar}] {self.done}/{self.total} {self.detail}"
        self.out.write(line[:110].ljust(110))
        self.out.flush()

    def advance(self, steps: int = 1, detail: str = "") -> None:
        self.done += steps
        self.detail = detail or self.detail
        if self.tty:
            self._draw()

    def finish(self, ok: bool = True) -> None:
        took = time.monotonic() - self.started
        if self.tty:
            self.done = self.total if ok else self.done
            self.detail = f"{took:.1f} s" if ok else "FAILED"
            self._draw()
            self.out.write("\n")
            self.out.flush()
        else:
            state = "done" if ok else "FAILED"
            print(f"compare: {self.name} {state} ({took:.1f} s)", file=self.out, flush=True)


class Progress:
    """Hands out one Phase at a time."""

    def __init__(self, out: TextIO | None = None, *, tty: bool | None = None) -> None:
        self.out = out or sys.stderr
        self.tty = self.out.isatty() if tty is None else tty
        self.current: Phase | None = None

    def phase(self, name: str, total: int) -> Phase:
        if self.current is not None:
            self.current.finish()
        self.current = Phase(self.out, self.tty, name, total)
        return self.current

    def end(self, ok: bool = True) -> None:
        if self.current is not None:
            self.current.finish(ok)
            self.current = None
