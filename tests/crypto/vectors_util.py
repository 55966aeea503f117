"""Shared helpers for vector tests: a fixed random source and golden JSON files in tests/vectors/.

Golden vectors pin Parley's own formats byte for byte: a test regenerates the values from fixed
randomness and compares them with the stored JSON, so any change to a format or a derivation shows
up as a failing test rather than as two clients that silently disagree. After an intended change,
rewrite the files with::

    PARLEY_REGEN_VECTORS=1 .venv/bin/pytest tests/crypto -k golden

and review the diff of tests/vectors/ like any other change to the protocol.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).parents[1] / "vectors"

FIXED_RNG_DESCRIPTION = (
    "fixed_rng(seed): the concatenation of SHA-256(seed || counter) for counter = 0, 1, 2, ... "
    "(8-byte big-endian), consumed in order across calls"
)


def fixed_rng(seed: bytes) -> Callable[[int], bytes]:
    """A deterministic random source (SHA-256 in counter mode), one stream across calls."""
    buffer = bytearray()
    counter = 0

    def rng(n: int) -> bytes:
        nonlocal counter
        while len(buffer) < n:
            buffer.extend(hashlib.sha256(seed + counter.to_bytes(8, "big")).digest())
            counter += 1
        out = bytes(buffer[:n])
        del buffer[:n]
        return out

    return rng


def counter_rng(seed: bytes) -> Callable[[int], bytes]:
    """A deterministic random source: each call returns SHA-256(seed || call number)[:n] (n <= 32).

    The ratchet and session golden vectors were made with it, so it must not change.
    """
    counter = 0

    def rng(n: int) -> bytes:
        nonlocal counter
        counter += 1
        return hashlib.sha256(seed + counter.to_bytes(8, "big")).digest()[:n]

    return rng


def load_vectors(name: str) -> Any:
    """Read tests/vectors/<name>."""
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


def check_golden(name: str, actual: dict[str, Any]) -> None:
    """Compare freshly computed values with tests/vectors/<name> (or rewrite it on request)."""
    path = VECTORS / name
    if os.environ.get("PARLEY_REGEN_VECTORS") == "1":
        path.write_text(json.dumps(actual, indent=2) + "\n", encoding="utf-8")
    expected = load_vectors(name)
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        assert actual[key] == value, f"{name}: {key} differs from the stored golden vector"
