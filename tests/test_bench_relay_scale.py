"""bench/relay_scale.py, bench/wire_msgspec.py and bench/redis_link.py in their quick mode: each
runs end to end (against a real redis-server where it needs one) and prints its figures (for
relay_scale.py, those issue 13 names) as one JSON line last.
Only the shape is checked, never a timing (a loaded CI machine makes any threshold flaky)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.redis_server import RedisServer

BENCH = Path(__file__).resolve().parent.parent / "bench"


def run_quick(script: str, timeout: float, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        check=False,
        capture_output=True,
        text=True,
        env=dict(os.environ, PARLEY_BENCH_QUICK="1"),
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def test_the_scale_bench_prints_every_figure_as_one_json_line_last() -> None:
    figures = run_quick("relay_scale.py", 240)
    for key in (
        "redis_durable_ratio",
        "two_process_ratio",
        "cross_process_p99_ms",
        "idle_conn_kb",
        "idle_10k_rss_mb",
    ):
        assert isinstance(figures[key], float), key
        assert figures[key] > 0, key
    assert figures["redis_appendfsync"] == "everysec"
    assert figures["quick"] == 1
    # who used the cores: the relays, the load generator and redis-server, in both phases
    for phase in ("one_process", "two_process"):
        for who in ("cpu", "load_cpu", "redis_cpu", "machine_cpu"):
            assert figures[f"{phase}_{who}"] >= 0, (phase, who)
    assert figures["two_process_cpu"] > 0
    assert figures["two_process_ratio_ceiling"] > 0


def test_the_wire_decoding_bench_prints_its_figures() -> None:
    figures = run_quick("wire_msgspec.py", 120)
    for key in ("send_hand_us", "send_msgspec_us", "ack_hand_us", "ack_msgspec_us"):
        assert figures[key] > 0, key


def test_the_redis_link_bench_prints_its_figures() -> None:
    figures = run_quick("redis_link.py", 120)
    for side in ("redis_py", "link", "redis_py_sync", "blocking_link"):
        assert figures[f"{side}_round_trip_us"] > 0, side
    for side in ("redis_py", "link"):
        assert figures[f"{side}_wake_us"] > 0, side
    assert figures["quick"] == 1


def test_the_scale_bench_drives_relays_it_did_not_start(tmp_path: Path) -> None:
    # --remote: the two-process figures with the load on its own machine; here both "machines"
    # are this one, with the relays started the way the module doc tells an operator to.
    redis = RedisServer(tmp_path / "redis").start()
    relays: list[subprocess.Popen[str]] = []
    try:
        urls = []
        for extra in ([], ["--workers", "2"]):
            relay = subprocess.Popen(
                [sys.executable, "-m", "parley", "relay", "--host", "127.0.0.1", "--port", "0",
                 "--data", str(tmp_path / f"relay{len(relays)}"), "--rate", "0",
                 "--store", redis.url, *extra],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            )  # fmt: skip
            relays.append(relay)
            assert relay.stdout is not None
            urls.append(relay.stdout.readline().strip())
        figures = run_quick("relay_scale.py", 120, "--remote", *urls)
        assert figures["remote"] == 1
        for key in ("one_process_msgs_per_s", "two_process_msgs_per_s", "two_process_ratio"):
            assert figures[key] > 0, key
        for phase in ("one_process", "two_process"):
            assert figures[f"{phase}_load_machine_cpu"] > 0, phase
        assert "redis_durable_ratio" not in figures  # those need the processes started here
    finally:
        for relay in relays:
            relay.terminate()  # a `--workers` supervisor stops its workers on SIGTERM
            relay.wait(10)
        redis.stop()
