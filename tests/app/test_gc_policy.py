"""app/gc_policy.py: the startup heap is frozen after one collection, the thresholds are set."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
from parley.app import gc_policy


class Node:
    """A container the collector tracks; two of them make a reference cycle."""

    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture(autouse=True)
def restore_gc() -> Iterator[None]:
    """Each test starts from an unfrozen heap and leaves the interpreter as it found it."""
    thresholds = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def _cycle() -> weakref.ref[Node]:
    """A reference cycle that nothing outside references: garbage only the collector can free."""
    first, second = Node(), Node()
    first.other, second.other = second, first
    return weakref.ref(first)


def _tracked(item: object) -> bool:
    return any(candidate is item for candidate in gc.get_objects())


def test_settle_freezes_what_is_alive_and_not_what_comes_later() -> None:
    before = Node()
    settled = gc_policy.settle()
    after = Node()
    assert settled.frozen > 0 and gc.get_freeze_count() > 0
    assert settled.pause_ms >= 0
    assert not _tracked(before)  # in the permanent generation: no collection walks it again
    assert _tracked(after)


def test_settle_collects_garbage_cycles_before_freezing_them() -> None:
    gc.disable()  # no automatic collection may free the cycle first
    try:
        garbage = _cycle()
        assert garbage() is not None
        gc_policy.settle()
        assert garbage() is None
    finally:
        gc.enable()


def test_settle_again_unfreezes_first_so_the_old_heap_can_be_collected() -> None:
    gc.disable()
    try:
        first, second = Node(), Node()
        first.other, second.other = second, first
        probe = weakref.ref(first)
        gc_policy.settle()  # the live cycle is frozen
        del first, second  # now garbage, but frozen: only an unfreeze lets a collection see it
        gc.collect()
        assert probe() is not None
        gc_policy.settle()
        assert probe() is None
    finally:
        gc.enable()


def test_settle_sets_the_policy_thresholds() -> None:
    gc.set_threshold(700, 10, 10)
    gc_policy.settle()
    default = gc_policy.GcPolicy()
    assert gc.get_threshold() == (default.young, default.middle, default.old)
    gc_policy.settle(gc_policy.GcPolicy(young=1234, middle=5, old=6))
    assert gc.get_threshold() == (1234, 5, 6)
