"""The process's garbage-collection policy: short, rare pauses for an interactive app.

Why this exists: CPython's cyclic garbage collector runs while holding the GIL, so a collection
stops every thread, the GUI thread included. A full (generation 2) collection walks every
container object the process has ever kept: in the desktop app that is mostly the startup heap
(PySide6's wrappers, every imported module, class and function), which never becomes garbage.
During a 10k-message catch-up the core thread allocates enough to trigger a full collection every
few seconds; each took 41-43 ms in bench/ui.py (160-185 ms while the bench also ran the sender's
core and the relay in the window's process), and the window could not paint meanwhile.

The policy, applied once the main window is built (``settle``):

- collect once, then ``gc.freeze()``: everything alive at that point moves to the permanent
  generation, which later collections never walk. Objects there are still freed by reference
  counting; only a reference cycle among them would be kept, which is why the collection runs
  first. A full collection then walks only what the running app created since.
- raise the young generation's threshold (``GcPolicy``): collections of generation 0 become
  fewer, and generations 1 and 2 follow from it, so full collections are rarer as well.

Measured in bench/ui.py: ``settle`` freezes ~50,000 objects in one collection of 15-22 ms, before
the window shows; during the catch-up that follows no full collection runs, and the two or three
young ones take under 5 ms.

Calling ``settle`` again (after a lock and unlock, a new window) unfreezes first, so that the
previous window's cycles can be collected, then freezes the new startup heap.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass

#: Gen-0 collections happen after this many net allocations of container objects (CPython: 700).
#: Young objects are cheap to walk; 10x fewer collections for about 10x the (still short) walk.
YOUNG_THRESHOLD = 7_000


@dataclass(frozen=True)
class GcPolicy:
    """The three collection thresholds (``gc.set_threshold``); the defaults are this app's."""

    young: int = YOUNG_THRESHOLD
    middle: int = 10
    old: int = 10


@dataclass(frozen=True)
class Settled:
    """What ``settle`` did: the objects it froze and how long its one collection took."""

    frozen: int
    pause_ms: float


def settle(policy: GcPolicy | None = None) -> Settled:
    """Collect once, freeze what survives and set the thresholds (see the module docstring).

    Call it on the GUI thread when the startup heap is complete (the window built), before the
    window shows: the one full collection here is the only one that walks the startup heap.
    """
    chosen = policy or GcPolicy()
    started = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    pause_ms = (time.perf_counter() - started) * 1000
    gc.set_threshold(chosen.young, chosen.middle, chosen.old)
    return Settled(gc.get_freeze_count(), pause_ms)
