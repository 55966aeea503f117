"""bench/padding.py in quick mode: it runs, its last line is the JSON the tools read, and the
chosen rule keeps receipts and short texts at one size."""

from __future__ import annotations

from tests.bench_quick import run_quick


def test_bench_padding_quick() -> None:
    figures = run_quick("padding.py")
    for scheme in ("parley", "block160", "padme"):
        assert isinstance(figures[f"overhead_{scheme}_pct"], float)
        assert isinstance(figures[f"picture_sizes_{scheme}"], int)
    assert figures["sizes_small_parley"] == 1 < figures["sizes_small_unpadded"]
