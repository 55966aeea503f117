"""Run one bench/ script in quick mode and return the figures of its last (JSON) line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_quick(script: str, timeout: float = 120) -> dict[str, Any]:
    """``bench/<script>`` with PARLEY_BENCH_QUICK=1: it must succeed, print human-readable lines
    first and one JSON line last, with ``quick`` = 1."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PARLEY_BENCH_QUICK="1"),
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) > 1, "human-readable lines come before the JSON"
    figures: dict[str, Any] = json.loads(lines[-1])
    assert figures["quick"] == 1
    return figures
