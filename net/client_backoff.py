"""Reconnection delays: exponential backoff with full jitter.

Why jitter: after a relay restart every client reconnects at once; randomising each delay over
``[0, cap]`` (AWS's "full jitter") spreads them out so the relay is not hit by a synchronised wave,
while the exponential cap keeps a long outage from turning into a busy loop.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """The delay before the next reconnection attempt; ``reset`` after a successful login.

    Attributes:
        base: the cap of the first delay, in seconds.
        maximum: the largest cap, reached after a few failures in a row.
        uniform: the source of jitter, ``uniform(a, b)``; a parameter so tests can fix it.
    """

    base: float = 0.5
    maximum: float = 30.0
    uniform: Callable[[float, float], float] = field(default=random.uniform, repr=False)
    failures: int = 0

    def next_delay(self) -> float:
        """Count one failure and return how long to wait before trying again."""
        cap = min(self.maximum, self.base * 2.0 ** min(self.failures, 32))
        self.failures += 1
        return self.uniform(0.0, cap)

    def reset(self) -> None:
        """Forget past failures: the next outage starts again from ``base``."""
        self.failures = 0
