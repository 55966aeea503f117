"""bench/crypto.py in quick mode: it runs and its last line is the JSON the tools read."""

from __future__ import annotations

from tests.bench_quick import run_quick

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
    figures = run_quick("crypto.py")
    for key in KEYS:
        assert isinstance(figures[key], float) and figures[key] > 0, key
