"""bench/ui.py runs end to end in quick mode and prints its figures as one JSON line last."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KEYS = {
    "cold_start_s",
    "open_100k_ms",
    "open_messages",
    "max_gui_stall_ms",
    "catch_up_messages",
    "catch_up_msgs_per_s",
    "add_contact_to_first_message_ms",
}


def test_bench_ui_quick_prints_its_figures() -> None:
    pytest.importorskip("parley.app.runtime", reason="the core has not landed")
    env = {**os.environ, "PARLEY_BENCH_QUICK": "1", "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "ui.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(figures) == KEYS
    assert all(isinstance(value, int | float) and value >= 0 for value in figures.values())
