"""What a garbage collection has to walk stays small: the startup heap is frozen before the
window shows (app/gc_policy.py, ui/session.py), and the bubble layouts cached during a catch-up
are bounded and hold no objects the collector tracks (ui/bubble_delegate.py).

Why it matters: a full garbage collection stops the GUI thread for as long as it takes to walk
every container object the process keeps.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nacl.pwhash
import pytest
from parley.app.events import MessageView
from parley.app.gc_policy import GcPolicy
from parley.ui.bubble_delegate import SIZE_CACHE
from parley.ui.embedded_relay import EmbeddedRelay
from parley.ui.main_window import MainWindow
from parley.ui.message_model import MESSAGE_ROLE
from PySide6.QtCore import QRect
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QStyleOptionViewItem

pytest_plugins = ["ui_fixtures"]  # the fixtures: real core, real relay (see ui_fixtures.py)

WAIT_MS = 30_000
PASSPHRASE = "dana's test passphrase"
FAST_ARGON2 = (nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN)


@pytest.fixture
def fresh_gc() -> Iterator[None]:
    """Start unfrozen with CPython's default thresholds; leave the interpreter as found."""
    thresholds = gc.get_threshold()
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.fixture
def session(runtime: Any, relay: EmbeddedRelay, tmp_path: Path, fresh_gc: None) -> Iterator[Any]:
    """An AccountSession of a fresh account, not adopted yet (the heap unfrozen)."""
    account = pytest.importorskip("parley.app.account")
    from parley.ui.session import AccountSession

    messenger = runtime.submit(
        account.create_account(
            tmp_path / "dana",
            "Dana",
            relay.url,
            key_storage="passphrase",
            passphrase=PASSPHRASE,
            argon2_limits=FAST_ARGON2,
        )
    ).result(timeout=WAIT_MS / 1000)
    opened = AccountSession(runtime, tmp_path / "dana")
    opened.messenger = messenger
    yield opened
    if opened.window is not None:
        opened.window.closed.disconnect()
        opened.window.close()
    opened.close()


def _message(number: int) -> MessageView:
    return MessageView(
        id=f"m{number}",
        conversation_id="c",
        seq=number,
        direction="in" if number % 2 else "out",
        sender_name="Eve",
        body=f"message {number} " + "with a few more words " * (number % 5),
        sent_at=1_700_000_000.0 + number,
        received_at=1_700_000_000.0 + number,
        status="delivered",
    )


def test_the_window_is_built_then_the_heap_frozen_before_it_shows(session: Any) -> None:
    at_show: list[int] = []
    session.window_ready.connect(lambda _window: at_show.append(gc.get_freeze_count()))
    assert gc.get_freeze_count() == 0
    session.adopt(session.messenger, online=True)
    window = session.window
    assert isinstance(window, MainWindow)
    assert at_show and at_show[0] > 0
    # The window's own Python objects were built before the freeze: no collection walks them.
    assert gc.is_tracked(window.pane)
    assert not any(item is window.pane for item in gc.get_objects())
    policy = GcPolicy()
    assert gc.get_threshold() == (policy.young, policy.middle, policy.old)


def test_bubble_layouts_are_bounded_and_untracked(session: Any) -> None:
    session.adopt(session.messenger, online=True)
    window = session.window
    assert isinstance(window, MainWindow)
    delegate = window.pane.delegate
    model = QStandardItemModel()
    option = QStyleOptionViewItem()
    option.rect = QRect(0, 0, 600, 40)
    option.font = window.pane.view.font()
    first_height = 0
    for number in range(SIZE_CACHE + 300):  # a catch-up's worth of rows laid out
        item = QStandardItem()
        item.setData(_message(number), MESSAGE_ROLE)
        model.appendRow(item)
        height = delegate.sizeHint(option, model.index(number, 0)).height()
        first_height = first_height or height
        assert height > 0
    assert delegate.cached_layouts == SIZE_CACHE
    gc.collect()  # the collector stops tracking tuples that hold only ints and strings
    assert not any(gc.is_tracked(value) for value in delegate._sizes.values())
    assert not any(gc.is_tracked(key) for key in delegate._sizes)
    # The oldest layout was evicted and is measured again, to the same size.
    assert delegate.sizeHint(option, model.index(0, 0)).height() == first_height
