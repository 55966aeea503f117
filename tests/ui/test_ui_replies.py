"""Replies and reactions in the desktop app, used as people use them: a right click on a bubble
and the real menu, the quick-reaction buttons, the shortcuts, Escape, a click on a quote or a chip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import shiboken6
from parley.app.events import ReactionView
from parley.ui.picture_preview import PicturePreview
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QStyleOptionViewItem
from pytestqt.qtbot import QtBot

from tests.ui.ui_driver import (
    HEART,
    THUMBS,
    WAIT_MS,
    bubble_point,
    choose_in_menu,
    click,
    last_message,
    message_menu,
    paste_file,
    press,
    reaction_button,
    reactions_of,
    send,
    shortcut,
    talking,
    type_text,
    wait_for_last,
    wait_for_window,
)

pytest_plugins = ["ui_fixtures"]  # the fixtures: real core, real relay (see ui_fixtures.py)


def test_reply_from_the_bubble_menu_quotes_and_a_click_on_the_quote_finds_it(
    qtbot: QtBot, pair: tuple[Any, Any]
) -> None:
    alice, bob, question = talking(qtbot, pair)
    choose_in_menu(qtbot, message_menu(qtbot, bob, question.id), "Reply")
    bar = bob.pane.composer.reply_bar
    assert bar.isVisible() and bar.label.full_text() == "Replying to Alice: lunch at noon?"
    assert bar.label.text() == bar.label.full_text()  # room enough: not shortened
    assert bob.pane.composer.edit.hasFocus()
    type_text(bob.pane.composer.edit, "yes, at the usual place")
    press(bob.pane.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not bar.isVisible(), timeout=WAIT_MS)
    answer = wait_for_last(qtbot, alice, "yes, at the usual place")
    assert answer.reply is not None
    assert (answer.reply.message_id, answer.reply.author, answer.reply.text) == (
        question.id,
        "You",
        "lunch at noon?",
    )
    assert answer.reply.found
    # The quote is drawn inside the bubble: a click on it selects the quoted message.
    for _ in range(3):
        send(alice, "filler so the question is not the selected row")
    wait_for_last(qtbot, alice, "filler so the question is not the selected row")
    view = alice.pane.view
    click(view.viewport(), bubble_point(qtbot, alice, answer.id, "top"))
    qtbot.waitUntil(
        lambda: (m := alice.pane.current_message()) is not None and m.body == "lunch at noon?",
        timeout=WAIT_MS,
    )


def test_the_reply_shortcut_and_escape_and_the_cancel_button(
    qtbot: QtBot, pair: tuple[Any, Any]
) -> None:
    alice, bob, question = talking(qtbot, pair)
    bar = bob.pane.composer.reply_bar
    click(bob.pane.view.viewport(), bubble_point(qtbot, bob, question.id))  # select it
    shortcut(qtbot, bob, "Ctrl+Shift+R")
    qtbot.waitUntil(bar.isVisible, timeout=WAIT_MS)
    press(bob.pane.composer.edit, Qt.Key.Key_Escape)
    assert not bar.isVisible()
    shortcut(qtbot, bob, "Ctrl+Shift+R")
    qtbot.waitUntil(bar.isVisible, timeout=WAIT_MS)
    click(bar.cancel)
    assert not bar.isVisible()
    send(bob, "no quote here")
    plain = wait_for_last(qtbot, alice, "no quote here")
    assert plain.reply is None


def test_reactions_from_the_quick_picker_chips_and_removal(
    qtbot: QtBot, pair: tuple[Any, Any]
) -> None:
    alice, bob, question = talking(qtbot, pair)
    # Bob reacts from the picker at the top of the bubble's menu.
    menu = message_menu(qtbot, bob, question.id)
    click(reaction_button(menu, THUMBS))
    qtbot.waitUntil(lambda: not shiboken6.isValid(menu) or not menu.isVisible(), timeout=WAIT_MS)
    qtbot.waitUntil(
        lambda: reactions_of(alice, question.id) == (ReactionView(THUMBS, 1, False),),
        timeout=WAIT_MS,
    )
    assert reactions_of(bob, question.id) == (ReactionView(THUMBS, 1, True),)
    # Alice adds a heart to her own message, by keyboard (Ctrl+Shift+E opens the same menu).
    shortcut(qtbot, alice, "Ctrl+Shift+E")
    qtbot.waitUntil(lambda: alice.pane.menu is not None and alice.pane.menu.isVisible())
    click(reaction_button(alice.pane.menu, HEART))
    qtbot.waitUntil(
        lambda: (
            reactions_of(bob, question.id)
            == (ReactionView(THUMBS, 1, True), ReactionView(HEART, 1, False))
        ),
        timeout=WAIT_MS,
    )
    # Bob clicks Alice's heart chip under the bubble: his thumbs up becomes a heart (one each).
    view = bob.pane.view
    row = bob.pane.model.row_of_message(question.id)
    assert row is not None
    option = QStyleOptionViewItem()
    view.initViewItemOption(option)
    option.rect = view.visualRect(bob.pane.model.index(row))
    chips = dict(
        (r.emoji, rect)
        for r, rect in bob.pane.delegate.chip_rects(option, bob.pane.model.index(row))
    )
    click(view.viewport(), chips[HEART].center())
    qtbot.waitUntil(
        lambda: reactions_of(alice, question.id) == (ReactionView(HEART, 2, True),),
        timeout=WAIT_MS,
    )
    # "Remove my reaction" takes Bob's back.
    choose_in_menu(qtbot, message_menu(qtbot, bob, question.id), f"Remove my reaction {HEART}")
    qtbot.waitUntil(
        lambda: reactions_of(alice, question.id) == (ReactionView(HEART, 1, True),),
        timeout=WAIT_MS,
    )
    assert reactions_of(bob, question.id) == (ReactionView(HEART, 1, False),)
    QTest.qWait(0)


def test_a_reply_can_be_a_picture(qtbot: QtBot, pair: tuple[Any, Any], tmp_path: Path) -> None:
    alice, bob, question = talking(qtbot, pair)
    choose_in_menu(qtbot, message_menu(qtbot, bob, question.id), "Reply")
    bar = bob.pane.composer.reply_bar
    assert bar.isVisible()
    image = QImage(60, 40, QImage.Format.Format_RGB32)
    image.fill(QColor("#3366cc"))
    path = tmp_path / "the-place.png"
    assert image.save(str(path))
    paste_file(bob, path)
    preview = wait_for_window(qtbot, PicturePreview, bob)
    qtbot.waitUntil(preview.send.isEnabled, timeout=WAIT_MS)
    click(preview.send)
    qtbot.waitUntil(lambda: not bar.isVisible(), timeout=WAIT_MS)
    qtbot.waitUntil(
        lambda: (m := last_message(alice)) is not None and m.attachment is not None,
        timeout=WAIT_MS,
    )
    picture = last_message(alice)
    assert picture is not None and picture.reply is not None
    assert (picture.reply.message_id, picture.reply.text, picture.reply.found) == (
        question.id,
        "lunch at noon?",
        True,
    )
