"""bench/relay.py in its quick mode: it runs end to end and prints the figures it promises.

Only the shape of the output is checked, never a timing: a loaded CI machine makes any threshold
flaky, and the figures are for people to read next to the same run's echo baseline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "relay.py"

RATES = ("echo_msgs_per_s", "relay_msgs_per_s", "durable_msgs_per_s")
RATIOS = ("live_ratio", "durable_ratio", "idle_conn_memory_ratio")
LATENCIES = ("echo_p99_ms", "relay_p99_ms")
MEMORY = ("echo_idle_conn_bytes", "relay_idle_conn_bytes")
PARAMETERS = ("pairs", "window", "message_bytes", "durable_messages", "idle_connections", "quick")


def test_quick_bench_prints_every_figure_as_one_json_line_last() -> None:
    env = dict(os.environ, PARLEY_BENCH_QUICK="1")
    done = subprocess.run(
        [sys.executable, str(BENCH)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    figures = json.loads(last)
    for key in (*RATES, *RATIOS, *LATENCIES, *MEMORY):
        assert isinstance(figures[key], float), key
        assert figures[key] > 0, key
    for key in PARAMETERS:
        assert isinstance(figures[key], int), key
    assert figures["quick"] == 1
    assert figures["live_ratio"] == figures["relay_msgs_per_s"] / figures["echo_msgs_per_s"]
    assert figures["durable_ratio"] == figures["durable_msgs_per_s"] / figures["echo_msgs_per_s"]
    assert figures["idle_conn_memory_ratio"] == (
        figures["relay_idle_conn_bytes"] / figures["echo_idle_conn_bytes"]
    )
