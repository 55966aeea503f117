"""The processes of a comparison run: the relay and the users, each a program of one install.

Every process writes its own log under the run's ``logs/`` folder. A call that times out, a user
process that exits, or a relay that dies mid-run raises StepFailed naming the step and the log, so
that a broken run ends with a clear error instead of a report built on missing data.
"""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Any

from parley.app.compare.steps import StepFailed

STOP_TIMEOUT_S = 5.0
POLL_S = 0.2


def _spawn(command: list[str], log: Path, *, stdin: bool) -> subprocess.Popen[str]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"$ {' '.join(command)}\n")
    err = log.open("a", encoding="utf-8")
    try:
        proc = subprocess.Popen(  # noqa: S603 (our own installed programs)
            command,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            # Never the checkout: `python -m` puts the working folder first on sys.path, and a
            # checkout's parley/ would then shadow the install under test.
            cwd=log.parent,
            text=True,
            bufsize=1,
        )
    finally:
        err.close()
    with log.open("a", encoding="utf-8") as fh:  # O_APPEND: safe next to the child's lines
        fh.write(f"(pid {proc.pid})\n")
    return proc


def _lines(stream: IO[str], into: queue.Queue[str | None]) -> None:
    for line in stream:
        into.put(line)
    into.put(None)


def _stop(proc: subprocess.Popen[str]) -> int | None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT_S)
    return proc.returncode


class Relay:
    """One ``parley relay`` process on 127.0.0.1 and a free port."""

    def __init__(self, program: Path, data: Path, log: Path, extra: list[str]) -> None:
        self.log = log
        self.data = data
        command = [str(program), "relay", "--host", "127.0.0.1", "--port", "0"]
        command += ["--data", str(data), "--rate", "0", *extra]
        self.proc = _spawn(command, log, stdin=False)
        assert self.proc.stdout is not None
        self._out: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_lines, args=(self.proc.stdout, self._out), daemon=True).start()
        try:
            line = self._out.get(timeout=30)
        except queue.Empty:
            line = None
        if not line or not line.startswith("ws://"):
            _stop(self.proc)
            raise StepFailed("relay", log, "the relay did not start (no URL on its first line)")
        self.url = line.strip()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def check_alive(self, step: str) -> None:
        code = self.proc.poll()
        if code is not None:
            raise StepFailed(step, self.log, f"the relay exited mid-run (exit code {code})")

    def stop(self) -> int | None:
        return _stop(self.proc)


class AgentProc:
    """One user: ``python -m parley.app.compare.agent`` in the venv of the user's build."""

    def __init__(self, name: str, python: Path, profile: Path, log: Path, relay: Relay) -> None:
        self.name = name
        self.log = log
        self.relay = relay
        command = [str(python), "-m", "parley.app.compare.agent", "--profile", str(profile)]
        self.proc = _spawn(command, log, stdin=True)
        assert self.proc.stdout is not None
        self._out: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_lines, args=(self.proc.stdout, self._out), daemon=True).start()

    def call(self, step: str, op: str, timeout: float = 60.0, **args: Any) -> dict[str, Any]:
        """Send one request and wait for its answer; StepFailed on an error answer or no answer."""
        self.relay.check_alive(step)
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
            self.proc.stdin.flush()
        except OSError:
            raise StepFailed(step, self.log, f"user {self.name} has exited") from None
        deadline = time.monotonic() + timeout
        line: str | None = ""
        while line == "":
            try:
                line = self._out.get(timeout=POLL_S)
            except queue.Empty:
                self.relay.check_alive(step)  # a dead relay fails the step at once
                if time.monotonic() > deadline:
                    raise StepFailed(
                        step, self.log, f"user {self.name}: {op} took over {timeout:g} s"
                    ) from None
        if line is None:
            self.relay.check_alive(step)
            raise StepFailed(step, self.log, f"user {self.name} exited during {op}")
        answer: dict[str, Any] = json.loads(line)
        if not answer.get("ok"):
            self.relay.check_alive(step)
            raise StepFailed(step, self.log, f"user {self.name}: {op}: {answer.get('error')}")
        return answer

    def stop(self) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None:
            with contextlib.suppress(OSError, ValueError):
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(STOP_TIMEOUT_S)
        _stop(self.proc)
