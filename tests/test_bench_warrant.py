"""bench/warrant.py in quick mode: it runs and its last line is the JSON the tools read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_warrant_quick() -> None:
    env = dict(os.environ, PARLEY_BENCH_QUICK="1")
    env.pop("PARLEY_BUILD_CONFIG", None)
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "warrant.py")],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("pipeline_ratio", "seal_us", "check_us", "open_ms"):
        assert isinstance(figures[key], float) and figures[key] > 0, key
    assert figures["extra_bytes"] == 93  # the envelope; the length field exists in both builds
    assert (figures["open_k"], figures["open_n"], figures["quick"]) == (3, 5, 1)
    # Issue 10's figures (bench/warrant_intercept.py) on the same line.
    for key in (
        "capture_overhead_ratio",
        "capture_off_msgs_per_s",
        "capture_on_msgs_per_s",
        "request_to_open_ms",
        "log_append_us",
        "log_verify_ms_10k",
    ):
        assert isinstance(figures[key], float) and figures[key] > 0, key
    assert figures["capture_overhead_ratio"] == (
        figures["capture_on_msgs_per_s"] / figures["capture_off_msgs_per_s"]
    )
    assert figures["captured_records"] > 0  # the target's traffic really was captured
