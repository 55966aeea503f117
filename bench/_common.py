"""Helpers shared by the benchmarks: timing with a same-run baseline, one JSON line last."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping


def best_of(func: Callable[[], object], *, repeat: int = 5, number: int = 1000) -> float:
    """Best mean seconds per call over ``repeat`` rounds of ``number`` calls ."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            func()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def emit(figures: Mapping[str, float | int | str | None]) -> None:
    """Print the benchmark's figures as the one JSON line other tools read (always last)."""
    print(json.dumps(figures, sort_keys=True), flush=True)
