"""bench/crypto.py in quick mode: it runs and its last line is the JSON the tools read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEYS = (
    "steady_encrypt_ratio",
    "steady_decrypt_ratio",
    "dh_step_ratio",
    "x3dh_ratio",
    "encrypt_256_us",
    "decrypt_256_us",
    "encrypt_1k_us",
    "decrypt_1k_us",
    "dh_step_us",
    "x3dh_us",
    "raw_aead_256_us",
    "jump_max_ms",
    "jump_ratio",
    "jump_1000_ms",
)


def test_bench_crypto_quick() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "crypto.py")],
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
    for key in KEYS:
        assert isinstance(figures[key], float) and figures[key] > 0, key
    assert figures["quick"] == 1
