"""`parley relay`: run a relay until SIGTERM or SIGINT.

The first line on stdout is the URL the relay listens on (flushed at once) so that scripts and tests
started with ``--port 0`` learn the port; the operator's log goes to stderr, one line per event.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from parley.net.errors import NetError
from parley.net.relay.limits import DAY, RelayConfig
from parley.net.relay.server import SLOW_TURN, TICK_INTERVAL, serve_relay


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="parley relay", description="Run a Parley relay server.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one")
    p.add_argument("--data", type=Path, help="directory for the SQLite relay database")
    p.add_argument(
        "--store",
        metavar="URL",
        help="keep queues, accounts and prekeys in Redis/Valkey instead of SQLite: "
        "redis://HOST:PORT/DB, rediss://... (TLS) or redis+cluster://HOST:PORT (docs/relay.md)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="relay processes sharing the port (SO_REUSEPORT); more than 1 needs --store",
    )
    p.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--public-url", help="the name clients sign (default: the listening URL)")
    p.add_argument("--invite-token", help="require this token for an account's first login")
    p.add_argument("--ttl-days", type=float, default=14.0, help="message time-to-live in days")
    p.add_argument("--quota-messages", type=int, default=5_000, help="queued messages per account")
    p.add_argument("--quota-bytes", type=int, default=64 << 20, help="queued bytes per account")
    p.add_argument("--rate", type=float, default=100.0, help="requests/s per account; 0 = off")
    p.add_argument("--burst", type=float, default=200.0, help="rate-limit burst per account")
    p.add_argument("--max-connections", type=int, default=4, help="connections per account")
    p.add_argument("--auth-timeout", type=float, default=10.0, help="seconds to authenticate")
    p.add_argument("--window", type=int, default=64, help="unacknowledged deliveries in flight")
    p.add_argument(
        "--commit-delay-ms",
        type=float,
        default=RelayConfig.commit_delay * 1000,
        help="write-behind window: a live message acknowledged by its recipient within this many "
        "ms is never stored; 0 stores every message before its receipt (default %(default)g)",
    )
    p.add_argument(
        "--otk-per-requester",
        type=float,
        default=RelayConfig.otk_per_requester,
        help="one-time prekeys one account may take per hour; 0 = no limit (default %(default)g)",
    )
    p.add_argument(
        "--otk-per-target",
        type=float,
        default=RelayConfig.otk_per_target,
        help="one-time prekeys handed out per hour from one account's stock; 0 = no limit "
        "(default %(default)g)",
    )
    p.add_argument(
        "--otk-pair-hours",
        type=float,
        default=RelayConfig.otk_pair_interval / 3600,
        help="hours before one account gets another one-time prekey of the same account; "
        "0 = no limit (default %(default)g)",
    )
    p.add_argument("--fsync", action="store_true", help="fsync each commit (power-loss safe)")
    p.add_argument(
        "--lawful-intercept",
        type=Path,
        metavar="FILE",
        help="the warrant authority's public parameters (authority.json): enables HI1 orders and "
        "capture of warranted targets (docs/warrant.md); without it there is no capture path",
    )
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.add_argument(
        "--test-clock-offset-file",
        type=Path,
        help="FOR TESTS ONLY: add the number of seconds in this file to the relay's clock "
        "(re-read every second), to exercise the time-to-live against a real process",
    )
    return p


class _OffsetClock:
    """time.time() plus an offset read from a file, for TTL tests against a real process."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = 0.0
        self._read_at = -1.0

    def __call__(self) -> float:
        now = time.monotonic()
        if now - self._read_at >= TICK_INTERVAL:
            self._read_at = now
            try:
                self._offset = float(self._path.read_text().strip() or 0)
            except (OSError, ValueError):
                self._offset = 0.0
        return time.time() + self._offset


async def _stop_when_orphaned(stop: asyncio.Event) -> None:
    """Stop once the supervisor is gone (even SIGKILLed): a worker re-parented to init would
    otherwise keep serving the port with nobody to stop it."""
    parent = os.getppid()
    while not stop.is_set():
        await asyncio.sleep(TICK_INTERVAL)
        if os.getppid() != parent:
            logging.getLogger("parley.relay").warning("the --workers supervisor is gone; stopping")
            stop.set()


async def _run(args: argparse.Namespace, config: RelayConfig) -> None:
    clock: Callable[[], float] = time.time
    if args.test_clock_offset_file is not None:
        clock = _OffsetClock(args.test_clock_offset_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    watch = None
    if args.reuse_port:  # a worker of `--workers N`: it must not outlive its supervisor
        watch = loop.create_task(_stop_when_orphaned(stop), name="orphan-watch")
    async with serve_relay(
        args.host,
        args.port,
        args.data or Path(),
        config,
        clock=clock,
        fsync=args.fsync,
        store_url=args.store,
        reuse_port=args.reuse_port,
        lawful_intercept=args.lawful_intercept,
    ) as relay:
        sys.stdout.write(relay.url + "\n")
        sys.stdout.flush()
        # The start-up heap (modules, classes) is never garbage: freeze it so that no full
        # collection walks it again while connections come and go (as the app does, gc_policy).
        gc.collect()
        gc.freeze()
        await stop.wait()
    if watch is not None:
        watch.cancel()


def _log_slow_collections() -> Callable[[str, dict[str, int]], None]:
    """Log a garbage collection that held the relay's loop longer than SLOW_TURN: with many
    connections a full collection walks them all, and the loop stands still meanwhile."""
    started = [0.0]

    def timer(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        took = time.perf_counter() - started[0]
        if took > SLOW_TURN:
            logging.getLogger("parley.relay").warning(
                "a garbage collection (generation %d) held the relay for %.0f ms",
                info.get("generation", -1),
                took * 1000,
            )

    gc.callbacks.append(timer)
    return timer


def main(argv: list[str]) -> int:
    """Parse the options, run the relay until a signal, return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.data is None and (args.store is None or args.lawful_intercept is not None):
        parser.error(
            "give --data DIR (SQLite, and the capture store of --lawful-intercept) "
            "or --store URL (Redis)"
        )
    if args.workers < 1 or (args.workers > 1 and args.store is None):
        parser.error("--workers N needs N >= 1, and a shared --store for N > 1")
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    # websockets logs every handshake failure at INFO; keep the operator's log to relay events.
    logging.getLogger("websockets").setLevel(
        max(logging.WARNING, logging.getLevelName(args.log_level))
    )
    gc_timer = _log_slow_collections()
    try:
        config = RelayConfig(
            ttl=args.ttl_days * DAY,
            quota_messages=args.quota_messages,
            quota_bytes=args.quota_bytes,
            invite_token=args.invite_token,
            rate_per_second=args.rate,
            rate_burst=args.burst,
            max_connections_per_account=args.max_connections,
            auth_timeout=args.auth_timeout,
            window=args.window,
            commit_delay=args.commit_delay_ms / 1000,
            otk_per_requester=args.otk_per_requester,
            otk_per_target=args.otk_per_target,
            otk_pair_interval=args.otk_pair_hours * 3600,
            **({"name": args.public_url} if args.public_url else {}),
        )
        if args.workers > 1:
            from parley.net.relay.workers import run_workers

            return run_workers(argv, args.host, args.port, args.workers, args.public_url)
        asyncio.run(_run(args, config))
    except NetError as exc:
        print(f"parley relay: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"parley relay: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    finally:
        gc.callbacks.remove(gc_timer)  # main() also runs inside tests' processes
    return 0
