"""Using the app as a person does: mouse clicks on real buttons, menus, shortcuts and typing.

No test calls a slot that a button would call. These helpers refuse to act on a control the person
could not use (hidden, disabled, or outside its window), so a test through them fails where a
person would be stuck.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import shiboken6
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QCheckBox,
    QFileDialog,
    QLineEdit,
    QMainWindow,
    QMenu,
    QRadioButton,
    QToolButton,
    QWidget,
)
from pytestqt.qtbot import QtBot

if TYPE_CHECKING:
    from parley.app.events import MessageView, ReactionView
    from parley.ui.main_window import MainWindow

WAIT_MS = 30_000
THUMBS = "\U0001f44d"  # the reactions the tests put on messages
HEART = "\u2764\ufe0f"
W = TypeVar("W", bound=QWidget)


def _usable(widget: QWidget) -> None:
    name = widget.accessibleName() or type(widget).__name__
    assert widget.isVisible(), f"{name} is not on screen"
    assert widget.isEnabled(), f"{name} is disabled"
    window = widget.window()
    corner = widget.mapTo(window, QPoint(0, 0))
    assert window.rect().contains(corner), f"{name} lies outside its window"


def click(widget: QWidget, pos: QPoint | None = None) -> None:
    """A left click in the middle of ``widget`` (or at ``pos``), as the mouse would do it."""
    _usable(widget)
    if pos is None:
        pos = widget.rect().center()
        if isinstance(widget, QCheckBox | QRadioButton):
            # Qt takes clicks on the indicator and text only, not on the empty rest of the row.
            pos = QPoint(min(8, widget.width() - 1), widget.height() // 2)
    if isinstance(widget.window(), QMenu) and widget is not widget.window():
        # A button inside a popup (the quick reactions), through the popup's window as the
        # platform delivers it, so that Qt's popup handling sees the click: sent to the button
        # itself, the popup it closed left Qt waiting to swallow the next press (in the next
        # test, which then never got its context menu).
        _through_window(widget, pos, Qt.MouseButton.LeftButton)
        return
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)


def _through_window(widget: QWidget, pos: QPoint, button: Qt.MouseButton) -> None:
    window = widget.window()
    handle = window.windowHandle()
    assert handle is not None, "the window is not shown"
    QTest.mouseClick(handle, button, Qt.KeyboardModifier.NoModifier, widget.mapTo(window, pos))


def type_text(widget: QWidget, text: str) -> None:
    """Type ``text`` key by key; characters beyond ASCII (é, emoji) arrive as a keyboard layout
    or input method delivers them: a key event carrying the text (QTest.keyClicks takes ASCII)."""
    for char in text:
        if char.isascii():
            QTest.keyClicks(widget, char)
        else:
            QTest.sendKeyEvent(
                QTest.KeyAction.Click,
                widget,
                Qt.Key.Key_unknown,
                char,
                Qt.KeyboardModifier.NoModifier,
            )


def type_into(widget: QWidget, text: str) -> None:
    """Give ``widget`` the keyboard focus by clicking it, then type ``text`` key by key."""
    click(widget)
    type_text(widget, text)


def press(widget: QWidget, key: Qt.Key, modifier: Qt.KeyboardModifier | None = None) -> None:
    QTest.keyClick(widget, key, modifier or Qt.KeyboardModifier.NoModifier)


def _plain(text: str) -> str:
    return text.replace("&", "").replace("…", "").replace("...", "").strip()


def menu_item(qtbot: QtBot, window: QMainWindow, menu: str, item: str) -> None:
    """Open ``menu`` in the menu bar with the mouse, then click ``item`` in it."""
    bar = window.menuBar()
    top = next((a for a in bar.actions() if _plain(a.text()) == menu), None)
    assert top is not None, f"no menu {menu!r} in the menu bar"
    click(bar, bar.actionGeometry(top).center())
    popup = top.menu()
    assert isinstance(popup, QMenu)
    qtbot.waitUntil(popup.isVisible, timeout=WAIT_MS)
    action = next((a for a in popup.actions() if _plain(a.text()) == _plain(item)), None)
    assert action is not None, f"no item {item!r} in the {menu} menu"
    click(popup, popup.actionGeometry(action).center())


def focus_window(qtbot: QtBot, window: QWidget) -> None:
    """Bring ``window`` to the keyboard as a person does: raise it and point at it (window
    managers such as twm give focus to the window under the pointer; others honour the request)."""
    window.raise_()
    window.activateWindow()
    QTest.mouseMove(window, window.rect().center())
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT_MS)


def shortcut(qtbot: QtBot, window: QWidget, keys: str) -> None:
    """Press a key sequence with ``window`` active, as typed on the keyboard."""
    focus_window(qtbot, window)
    target = QApplication.focusWidget() or window
    QTest.keySequence(target, QKeySequence(keys))


def _owned_by(widget: QWidget, window: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None:
        if parent is window:
            return True
        parent = parent.parentWidget()
    return False


def wait_for_window(qtbot: QtBot, kind: type[W], owner: QWidget, timeout: int = WAIT_MS) -> W:
    """The visible window of ``kind`` that the last input opened over ``owner``'s window.

    Only ``owner``'s own dialogs count: another test's window left open must not be taken.
    """
    found: list[W] = []

    def shown() -> bool:
        found[:] = [
            w
            for w in QApplication.topLevelWidgets()
            if isinstance(w, kind) and w.isVisible() and _owned_by(w, owner.window())
        ]
        return bool(found)

    qtbot.waitUntil(shown, timeout=timeout)
    return found[-1]


def close_window(qtbot: QtBot, window: QWidget) -> None:
    """Escape closes a dialog, as a person would leave it."""
    QTest.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=WAIT_MS)


def replace_text(field: QWidget, text: str) -> None:
    """Click a text field, select all it holds, and type ``text`` over it."""
    click(field)
    QTest.keyClick(field, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(field, Qt.Key.Key_Delete)
    QTest.keyClicks(field, text)


def set_checked(box: QAbstractButton, checked: bool) -> None:
    """Click a check box or radio button unless it already shows ``checked``."""
    if box.isChecked() != checked:
        click(box)
    assert box.isChecked() == checked, f"{box.accessibleName()} did not change"


def open_chat(window: MainWindow, row: int = 0) -> None:
    """Click a conversation in the list."""
    index = window.conversations.index(row)
    window.list.scrollTo(index)
    click(window.list.viewport(), window.list.visualRect(index).center())


def send(window: MainWindow, text: str) -> None:
    """Type ``text`` into the open conversation's composer and press Return."""
    edit = window.pane.composer.edit
    click(edit)
    type_text(edit, text)
    QTest.keyClick(edit, Qt.Key.Key_Return)


def open_from_menu(qtbot: QtBot, window: MainWindow, menu: str, item: str, kind: type[W]) -> W:
    """Choose a menu item and return the window it opened."""
    menu_item(qtbot, window, menu, item)
    return wait_for_window(qtbot, kind, window)


def right_click(widget: QWidget, pos: QPoint) -> None:
    """A right click at ``pos`` (widget coordinates), through the window as the platform
    delivers it: Qt turns the press into the context-menu event there (a click sent to the
    widget itself never opens a context menu)."""
    _usable(widget)
    _through_window(widget, pos, Qt.MouseButton.RightButton)


def bubble_point(
    qtbot: QtBot, window: MainWindow, message_id: str, where: str = "center"
) -> QPoint:
    """Where a message's bubble is drawn in the message list's viewport ("center", or "top":
    just inside its top edge, where a quoted block is), once the list has laid that row out
    (it lays rows out in batches) and scrolled it into view."""
    from PySide6.QtWidgets import QStyleOptionViewItem

    pane = window.pane
    row = pane.model.row_of_message(message_id)
    assert row is not None, f"message {message_id} is not loaded"
    index = pane.model.index(row)
    pane.view.scrollTo(index)
    point = QPoint()

    def placed() -> bool:
        nonlocal point
        option = QStyleOptionViewItem()
        pane.view.initViewItemOption(option)
        option.rect = pane.view.visualRect(index)
        found = pane.delegate.bubble_rect(option, index)
        if found is None:
            return False
        bubble = found[1]
        point = QPoint(bubble.left() + 20, bubble.top() + 14) if where == "top" else bubble.center()
        inside = pane.view.viewport().rect().contains(point)
        return inside and pane.view.indexAt(point).row() == row

    qtbot.waitUntil(placed, timeout=WAIT_MS)
    return point


def message_menu(qtbot: QtBot, window: MainWindow, message_id: str) -> QMenu:
    """Right-click a message's bubble and return the menu that opened."""
    pane = window.pane
    before = pane.menu
    right_click(pane.view.viewport(), bubble_point(qtbot, window, message_id))
    qtbot.waitUntil(
        lambda: pane.menu is not None and pane.menu is not before and pane.menu.isVisible(),
        timeout=WAIT_MS,
    )
    assert pane.menu is not None
    return pane.menu


def choose_in_menu(qtbot: QtBot, menu: QMenu, item: str) -> None:
    """Click an item of an open menu with the mouse."""
    action = next((a for a in menu.actions() if _plain(a.text()) == _plain(item)), None)
    assert action is not None, f"no item {item!r} in the menu"
    _usable(menu)
    # Through the popup's window, as the platform delivers it: sent to the menu itself, the
    # click left Qt waiting to swallow the next press (the next right click opened no menu).
    _through_window(menu, menu.actionGeometry(action).center(), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not shiboken6.isValid(menu) or not menu.isVisible(), timeout=WAIT_MS)


def paste_file(window: MainWindow, path: Path) -> None:
    """Copy ``path`` (as a file manager does) and press Ctrl+V in the open chat's composer."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    QGuiApplication.clipboard().setMimeData(mime)
    click(window.pane.composer.edit)
    press(window.pane.composer.edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    # The clipboard owns the QMimeData: leaving it there until interpreter exit crashes PySide.
    QGuiApplication.clipboard().clear()


def choose_file(qtbot: QtBot, owner: QWidget, path: Path) -> None:
    """In the file dialog that the last input opened over ``owner`` (showing ``path``'s folder),
    type the file's name and press Return, as a person does in Qt's own file dialog.

    Tests point HOME at their own folder, where the app's dialogs start. (A whole path typed at
    once races the dialog's completion, which replaces the text with the name it selected in
    the folder it is reading.)"""
    dialog = wait_for_window(qtbot, QFileDialog, owner)
    assert Path(dialog.directory().absolutePath()) == path.parent, "the dialog is elsewhere"
    field = dialog.findChild(QLineEdit, "fileNameEdit")
    assert field is not None, "the file dialog has no file name field"
    replace_text(field, path.name)
    qtbot.wait(200)  # the completions appear once the dialog has read the folder
    completer = field.completer()
    popup = completer.popup() if completer is not None else None
    if popup is not None and popup.isVisible():
        QTest.keyClick(popup, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: not popup.isVisible(), timeout=WAIT_MS)
    QTest.keyClick(field, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: not shiboken6.isValid(dialog) or not dialog.isVisible(), timeout=WAIT_MS
    )


# ---- conversations, replies and reactions ------------------------------------------------------


def last_message(window: MainWindow) -> MessageView | None:
    """The newest message loaded in the open conversation."""
    model = window.pane.model
    return model.message_at(model.rowCount() - 1)


def loaded(window: MainWindow, message_id: str) -> MessageView | None:
    """A message as the open conversation's model has it now (None if not loaded)."""
    row = window.pane.model.row_of_message(message_id)
    return None if row is None else window.pane.model.message_at(row)


def wait_for_last(qtbot: QtBot, window: MainWindow, body: str) -> MessageView:
    """Wait until the open conversation's newest message says ``body``."""
    qtbot.waitUntil(
        lambda: (m := last_message(window)) is not None and m.body == body, timeout=WAIT_MS
    )
    message = last_message(window)
    assert message is not None
    return message


def talking(qtbot: QtBot, pair: tuple[Any, Any]) -> tuple[MainWindow, MainWindow, MessageView]:
    """Both conversations open; Alice asked something and Bob has it."""
    alice, bob = pair
    open_chat(alice)
    open_chat(bob)
    send(alice, "lunch at noon?")
    return alice, bob, wait_for_last(qtbot, bob, "lunch at noon?")


def reaction_button(menu: QMenu | None, emoji: str) -> QToolButton:
    """The quick-reaction button for ``emoji`` at the top of a message's menu."""
    assert menu is not None
    buttons = [
        b for b in menu.findChildren(QToolButton) if b.accessibleName() == f"React with {emoji}"
    ]
    assert len(buttons) == 1, [b.accessibleName() for b in menu.findChildren(QToolButton)]
    return buttons[0]


def reactions_of(window: MainWindow, message_id: str) -> tuple[ReactionView, ...] | None:
    """The reactions under a loaded message, as the window shows them."""
    message = loaded(window, message_id)
    return None if message is None else message.reactions
