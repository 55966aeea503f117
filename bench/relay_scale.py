"""The relay past one process: over Redis against SQLite, two processes against one, and the
cost of a wake-up between processes. One JSON line last.

Same load generator as bench/relay.py (its ``RelayConn`` pairs, closed and open loops, 256-byte
payloads, ``--rate 0``), and a real redis-server (AOF on, ``appendfsync everysec``, in a temporary
directory) started here. Figures:

- ``redis_durable_ratio``: bench/relay.py's durable phase (recipients offline, every message
  stored before its receipt, then drained) through one relay over Redis, divided by the same
  phase through one relay over SQLite, in this run; each the median of ``DURABLE_RUNS`` phases
  on the same relay (a phase is short, and the first is cold).
- ``two_process_ratio``: closed-loop delivered messages per second through ``parley relay
  --workers 2`` over one Redis, divided by one relay process over the same Redis. The kernel
  spreads connections over the two processes (SO_REUSEPORT), so about half of the pairs are
  split across processes and each of their messages takes the cross-process path (stored, woken,
  read, deleted) instead of the live one; that is what scaling out costs and is counted in.
  On a 2-core machine the load generator and redis-server share the cores with both relays,
  so ``*_cpu`` (the relays'), ``*_load_cpu`` (the load generator's) and ``*_redis_cpu``
  (redis-server's) are printed, all over the same measured seconds, to show who was busy;
  ``*_machine_cpu`` is every process's (all cores): well above the three, other jobs ran.
- ``two_process_ratio_ceiling``: the most any number of relay processes could reach on this
  machine even if splitting cost nothing: the machine's cores over the cores the one-process
  closed loop used in all (relay, load and redis-server). ``two_process_ratio`` cannot exceed
  it whatever the relay does; when the load itself takes most of a core it is well under 2.
- ``cross_process_p99_ms``: sender on relay A, recipient on relay B (two relay processes over
  one Redis), open loop at half of that same setup's closed-loop saturation.
- ``idle_conn_kb``: RSS growth per idle authenticated connection of one relay over Redis, and
  ``idle_10k_rss_mb``: that relay's whole RSS with 10,000 idle connections open.

PARLEY_BENCH_QUICK=1 shrinks every count so the test suite can check the output's shape.

**Load from another machine** (``--remote ONE TWO``). On two cores the load generator takes 0.6-0.7
of a core that the relays would need (see ``two_process_ratio_ceiling``), so the two-process figure
wants the load on a machine of its own. Start both relays on the relay machine, over one Redis::

    parley relay --host 0.0.0.0 --port 8001 --rate 0 --store redis://REDIS:6379/0
    parley relay --host 0.0.0.0 --port 8002 --rate 0 --store redis://REDIS:6379/0 --workers 2

and on the load machine run ``bench/relay_scale.py --remote ws://RELAYHOST:8001
ws://RELAYHOST:8002``. It prints ``one_process_msgs_per_s``, ``two_process_msgs_per_s`` and
``two_process_ratio`` with the same closed loop, and ``*_load_machine_cpu``: this machine's CPU
share meanwhile (well under its cores: the load was not the limit). The relays' CPU is the relay
machine's to read. ``--rate 0`` because 100 senders each go well past the per-account limit.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import relay as load
from _common import emit
from nacl.signing import SigningKey

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.redis_server import RedisServer

QUICK = load.QUICK
IDLE_10K = 200 if QUICK else 10_000
DURABLE_RUNS = 1 if QUICK else 5


class Workers(load.Server):
    """``parley relay --workers N``: CPU and RSS are the workers' (the supervisor idles)."""

    def _children(self) -> list[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def stop(self) -> None:
        """SIGTERM: the supervisor stops its workers (a SIGKILL would orphan them)."""
        self.proc.terminate()
        self.proc.wait()

    def cpu_seconds(self) -> float:
        return sum(load.cpu_seconds(pid) for pid in self._children())


@dataclass
class RemoteRelay:
    """A relay another machine runs (``--remote``): here only its URL is known."""

    url: str

    def cpu_seconds(self) -> float:
        return 0.0  # that machine's to read; the remote figures leave the relays' CPU out


def start_relay(data_dir: Path, redis_url: str | None, workers: int = 1) -> load.Server:
    extra = ["--store", redis_url] if redis_url else []
    if workers > 1:
        server = load.start_relay(data_dir, [*extra, "--workers", str(workers)])
        return Workers(server.proc, server.url)
    return load.start_relay(data_dir, extra)


async def split_pairs(url_a: str, url_b: str) -> list[tuple[load.RelayConn, load.RelayConn]]:
    """PAIRS pairs, each sender on relay A and its recipient on relay B."""
    keys = [SigningKey.generate() for _ in range(2 * load.PAIRS)]
    senders = await load._gather_bounded(
        [partial(load.RelayConn.login, url_a, k) for k in keys[::2]]
    )
    recipients = await load._gather_bounded(
        [partial(load.RelayConn.login, url_b, k) for k in keys[1::2]]
    )
    return list(zip(senders, recipients, strict=True))


async def durable(data_dir: Path, redis_url: str | None) -> float:
    """The median of DURABLE_RUNS durable phases through one relay (fresh accounts each time):
    one phase is about 5,000 messages in a third of a second, and single phases of the same
    build swung from 10,000 to 20,000 messages a second, the first one slowest (cold)."""
    server = start_relay(data_dir, redis_url)
    try:
        rates = [(await load.relay_durable(server.url))[0] for _ in range(DURABLE_RUNS)]
        return statistics.median(rates)
    finally:
        server.stop()


async def saturation(
    data_dir: Path, redis: RedisServer, workers: int
) -> tuple[float, float, float, float, float]:
    """Closed-loop rate, and the CPU shares of the relay processes, of this load generator, of
    redis-server and of the whole machine over the same measured seconds. They say who used the
    machine's cores: when the three add up to the cores there are, no number of relay processes
    can raise the rate on this machine; a machine share well above the three means other jobs
    ran meanwhile."""
    assert redis.proc is not None
    pid = redis.proc.pid
    server = start_relay(data_dir, redis.url, workers)
    try:
        rate, busy, _ = await load.relay_saturation(
            server,
            others={"redis": partial(load.cpu_seconds, pid), "machine": load.machine_cpu_seconds},
        )
        shares = load.SHARES
        return rate, busy, shares["load"], shares["redis"], shares["machine"]
    finally:
        server.stop()


async def cross_process(data_dir: Path, redis_url: str) -> dict[str, float]:
    relay_a = start_relay(data_dir / "a", redis_url)
    relay_b = start_relay(data_dir / "b", redis_url)
    try:
        pairs = await split_pairs(relay_a.url, relay_b.url)
        rate, _, _ = await load.relay_saturation(relay_a, pairs=pairs)
        pairs = await split_pairs(relay_a.url, relay_b.url)
        samples = await load.relay_latency(relay_a.url, rate / 2, pairs=pairs)
        return {"cross_process_msgs_per_s": rate, "cross_process_p99_ms": load.p99_ms(samples)}
    finally:
        relay_a.stop()
        relay_b.stop()


async def idle(data_dir: Path, redis_url: str) -> dict[str, float]:
    server = start_relay(data_dir, redis_url)
    try:
        url = server.url
        per_conn = await load.idle_connections(
            server, lambda: load.RelayConn.login(url), load._close_relay
        )
        baseline = server.rss_bytes()
        conns = await load._gather_bounded([lambda: load.RelayConn.login(url)] * IDLE_10K)
        await asyncio.sleep(0.5)
        total = server.rss_bytes()
        await asyncio.gather(*(load._close_relay(conn) for conn in conns))
        return {
            "idle_conn_kb": per_conn / 1024,
            "idle_10k_rss_mb": total / 2**20,
            "idle_10k_growth_mb": (total - baseline) / 2**20,
        }
    finally:
        server.stop()


async def bench(data_dir: Path, redis: RedisServer) -> dict[str, float | int | str]:
    url = redis.url
    figures: dict[str, float | int | str] = {}
    sqlite_rate = await durable(data_dir / "sqlite", None)
    redis_rate = await durable(data_dir / "redis", url)
    one, one_cpu, one_load_cpu, one_redis_cpu, one_machine = await saturation(
        data_dir / "one", redis, 1
    )
    two, two_cpu, two_load_cpu, two_redis_cpu, two_machine = await saturation(
        data_dir / "two", redis, 2
    )
    figures.update(await cross_process(data_dir / "cross", url))
    figures.update(await idle(data_dir / "idle", url))
    figures.update(
        sqlite_durable_msgs_per_s=sqlite_rate,
        redis_durable_msgs_per_s=redis_rate,
        redis_durable_ratio=redis_rate / sqlite_rate,
        one_process_msgs_per_s=one,
        one_process_cpu=one_cpu,
        one_process_load_cpu=one_load_cpu,
        one_process_redis_cpu=one_redis_cpu,
        one_process_machine_cpu=one_machine,
        two_process_msgs_per_s=two,
        two_process_cpu=two_cpu,
        two_process_load_cpu=two_load_cpu,
        two_process_redis_cpu=two_redis_cpu,
        two_process_machine_cpu=two_machine,
        two_process_ratio=two / one,
        two_process_ratio_ceiling=(os.cpu_count() or 1) / (one_cpu + one_load_cpu + one_redis_cpu),
        idle_10k_connections=IDLE_10K,
        pairs=load.PAIRS,
        redis_appendfsync=redis.appendfsync,
        cores=os.cpu_count() or 0,
        quick=int(QUICK),
    )
    return figures


async def remote(one_url: str, two_url: str) -> dict[str, float | int | str]:
    """The two-process figures against relays another machine runs (see the module doc)."""
    figures: dict[str, float | int | str] = {}
    for phase, url in (("one_process", one_url), ("two_process", two_url)):
        rate, _, _ = await load.relay_saturation(
            RemoteRelay(url), others={"machine": load.machine_cpu_seconds}
        )
        figures[f"{phase}_msgs_per_s"] = rate
        figures[f"{phase}_load_cpu"] = load.SHARES["load"]
        figures[f"{phase}_load_machine_cpu"] = load.SHARES["machine"]
    figures.update(
        two_process_ratio=float(figures["two_process_msgs_per_s"])
        / float(figures["one_process_msgs_per_s"]),
        remote=1,
        load_cores=os.cpu_count() or 0,
        pairs=load.PAIRS,
        quick=int(QUICK),
    )
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Issue 13's scale-out figures, one JSON line last (the module doc says how)."
    )
    parser.add_argument(
        "--remote",
        nargs=2,
        metavar=("ONE", "TWO"),
        help="only the two-process figures, against relays another machine runs: ONE a single "
        "relay process, TWO `--workers 2`, both over the same Redis (see the module doc)",
    )
    args = parser.parse_args(argv)
    if args.remote:
        emit(asyncio.run(remote(*args.remote)))
        return 0
    with tempfile.TemporaryDirectory(prefix="parley-bench-scale-") as tmp:
        redis = RedisServer(Path(tmp) / "redis", appendfsync="everysec").start()
        try:
            figures = asyncio.run(bench(Path(tmp), redis))
        finally:
            redis.stop()
    emit(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
