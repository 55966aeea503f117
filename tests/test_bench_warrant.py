"""bench/warrant.py in its quick mode: it runs end to end and prints the lawful-interception
figures it promises (the shape only, never a timing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "warrant.py"

INTERCEPT = (
    "capture_overhead_ratio",
    "capture_off_msgs_per_s",
    "capture_on_msgs_per_s",
    "request_to_open_ms",
    "log_append_us",
    "log_verify_ms_10k",
)


def test_quick_bench_prints_the_interception_figures_as_one_json_line_last() -> None:
    env = dict(os.environ, PARLEY_BENCH_QUICK="1")
    done = subprocess.run(
        [sys.executable, str(BENCH)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    for key in INTERCEPT:
        assert isinstance(figures[key], float) and figures[key] > 0, key
    assert figures["capture_overhead_ratio"] == (
        figures["capture_on_msgs_per_s"] / figures["capture_off_msgs_per_s"]
    )
    assert figures["captured_records"] > 0  # the target's traffic really was captured
    assert figures["quick"] == 1
