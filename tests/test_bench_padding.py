"""bench/padding.py in quick mode: it runs, its last line is the JSON the tools read, and the
chosen rule keeps receipts and short texts at one size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_padding_quick() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "padding.py")],
        capture_output=True,
        text=True,
        env=dict(os.environ, PARLEY_BENCH_QUICK="1"),
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) > 1, "human-readable lines come before the JSON"
    figures = json.loads(lines[-1])
    for scheme in ("parley", "block160", "padme"):
        assert isinstance(figures[f"overhead_{scheme}_pct"], float)
        assert isinstance(figures[f"picture_sizes_{scheme}"], int)
    assert figures["sizes_small_parley"] == 1 < figures["sizes_small_unpadded"]
    assert figures["quick"] == 1
