"""bench/store.py in quick mode: it runs and its last line is the JSON the tools read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from parley.app.store.migrate import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parent.parent


def test_bench_store_quick(tmp_path: Path) -> None:
    env = dict(os.environ, PARLEY_BENCH_QUICK="1", PARLEY_BENCH_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "store.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    for key in (
        "store_vs_sqlite_ratio",
        "write_ratio",
        "read_ratio",
        "open_newest_50_ms",
        "open_db_ms",
        "search_p95_ms",
    ):
        assert isinstance(figures[key], float) and figures[key] > 0, key
    assert "catchup_msgs_per_s" in figures
    if figures["catchup_msgs_per_s"] is None:
        assert "catchup" in result.stderr
    else:
        assert figures["catchup_msgs_per_s"] > 0
    assert figures["quick"] == 1
    # The search corpus was cached where it was told to be, and only there.
    assert [p.name for p in tmp_path.iterdir()] == [f"search-v{SCHEMA_VERSION}-5000.db"]
