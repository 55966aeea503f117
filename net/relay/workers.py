"""`parley relay --workers N`: N relay processes on one port over one shared store.

The supervisor reserves the port (a socket bound with SO_REUSEPORT but never listening, so the
kernel hands it no connection), starts N children that each listen on that port with
SO_REUSEPORT, prints the URL once, and restarts a child that dies (a SIGKILLed relay loses no
stored message: the store is Redis; its clients reconnect and land on a live process). SIGTERM or
SIGINT stops every child and then the supervisor.

Why processes and not threads: the relay is CPU-bound Python; only processes use more cores.
"""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

log = logging.getLogger("parley.relay.workers")
RESTART_DELAY = 0.5
START_TIMEOUT = 30.0


def _child_argv(argv: Sequence[str], port: int) -> list[str]:
    """The command line of one worker: the same options, one process, the reserved port."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in ("--workers", "--port"):
            skip = True
            continue
        if arg.startswith(("--workers=", "--port=")):
            continue
        out.append(arg)
    return [sys.executable, "-m", "parley", "relay", *out, "--port", str(port), "--reuse-port"]


def _reserve(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


class _Worker:
    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> str:
        """Start the process and wait for the URL it prints first."""
        # The command line is our own interpreter and our own options (see _child_argv).
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, text=True)  # noqa: S603
        stdout = self.proc.stdout
        line = stdout.readline().strip() if stdout is not None else ""
        if not line:
            code = self.proc.wait()
            raise RuntimeError(f"a relay worker exited before listening (exit code {code})")
        self.url = line
        # Keep reading so the child never blocks on a full pipe; it writes nothing more.
        threading.Thread(target=stdout.read, daemon=True).start()  # type: ignore[union-attr]
        return line


def run_workers(
    argv: Sequence[str], host: str, port: int, count: int, public_url: str | None
) -> int:
    """Run ``count`` workers until SIGTERM/SIGINT; returns the exit code."""
    try:
        reserved = _reserve(host, port)
    except OSError as exc:
        print(f"parley relay: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    port = reserved.getsockname()[1]
    workers = [_Worker(_child_argv(argv, port)) for _ in range(count)]
    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        urls = {worker.start() for worker in workers}
    except RuntimeError as exc:
        print(f"parley relay: {exc}", file=sys.stderr)
        _stop_all(workers)
        return 1
    sys.stdout.write((public_url or min(urls)) + "\n")
    sys.stdout.flush()
    log.info("%d relay workers on port %d", count, port)
    while not stopping.wait(0.2):
        for worker in workers:
            if worker.proc is not None and worker.proc.poll() is not None:
                log.error(
                    "relay worker %d exited with %s; restarting", worker.proc.pid,
                    worker.proc.returncode,
                )  # fmt: skip
                time.sleep(RESTART_DELAY)
                try:
                    worker.start()
                except RuntimeError as exc:
                    log.error("%s", exc)
    _stop_all(workers)
    reserved.close()
    return 0


def _stop_all(workers: list[_Worker]) -> None:
    for worker in workers:
        if worker.proc is not None and worker.proc.poll() is None:
            worker.proc.terminate()
    for worker in workers:
        if worker.proc is not None:
            try:
                worker.proc.wait(START_TIMEOUT)
            except subprocess.TimeoutExpired:
                worker.proc.kill()
                worker.proc.wait()
