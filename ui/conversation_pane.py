"""The right-hand side of the main window: header, key-change banner, messages, composer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from parley.app.attachments import CheckedPicture
from parley.app.events import ConversationView, MessageView
from parley.app.peer_build import warrant_notice
from parley.ui.bridge import CoreBridge
from parley.ui.bubble_delegate import BubbleDelegate
from parley.ui.composer import Composer, image_paths, write_private_png
from parley.ui.errors import UiError
from parley.ui.message_model import MESSAGE_ROLE, PAGE, MessageListModel
from parley.ui.picture_preview import PicturePreview
from parley.ui.picture_viewer import PictureViewer, ask_where_to_save
from parley.ui.relay_record_dialog import RelayRecordDialog
from parley.ui.thumbnails import ThumbnailCache
from parley.ui.typing_indicator import TypingIndicator
from parley.ui.widgets import named
from PySide6.QtCore import QModelIndex, QPoint, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QKeySequence,
    QMouseEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWidgetAction,
)

from parley.variant import config as build_config

#: With the view at the bottom, live messages beyond this many rows push the oldest out of the
#: model (they load again when scrolled to), so that a catch-up costs the same at any length.
LIVE_WINDOW = 2 * PAGE
#: Rows laid out per event-loop turn (each asks the delegate, in Python, for its size).
LAYOUT_BATCH = 20
#: The quick reactions offered on a message (Signal's default set).
QUICK_REACTIONS = (
    "\U0001f44d",
    "\u2764\ufe0f",
    "\U0001f602",
    "\U0001f62e",
    "\U0001f622",
    "\U0001f64f",
)


class KeyChangeBanner(QFrame):
    """Shown when the contact's identity key changed: review the safety number, or accept."""

    review = Signal()
    accept_key = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("keyChangeBanner")
        self.text = named(QLabel(self), "Safety number changed")
        self.text.setWordWrap(True)
        self.review_button = named(
            QPushButton("Review safety number", self), "Review safety number"
        )
        self.accept_button = named(QPushButton("Accept new key", self), "Accept new key")
        layout = QHBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.review_button)
        layout.addWidget(self.accept_button)
        self.review_button.clicked.connect(self.review)
        self.accept_button.clicked.connect(self.accept_key)
        self.hide()

    def show_for(self, conversation: ConversationView) -> None:
        if conversation.verified:
            text = (
                f"{conversation.title}'s safety number has changed. Sending is paused because "
                "you had verified them: compare the new number, then accept it."
            )
        else:
            text = (
                f"{conversation.title}'s safety number has changed: they reinstalled Parley, or "
                "someone is trying to come between you. Compare the new number to be sure."
            )
        self.text.setText(text)
        self.text.setAccessibleDescription(text)
        self.show()


class MessageListView(QListView):
    """The message list: pixel scrolling, older pages when scrolled to the top."""

    link_clicked = Signal(str)
    quote_clicked = Signal(str)  # the quoted message's id
    chip_clicked = Signal(object, str)  # (MessageView, emoji): a reaction chip under a bubble

    def __init__(self, model: MessageListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self._model = model
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setWordWrap(True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        # Lay rows out a batch per event-loop turn: each row's size comes from Python (the
        # delegate), and the GUI must keep handling input while thousands arrive.
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(LAYOUT_BATCH)
        self.verticalScrollBar().valueChanged.connect(self._scrolled)

    def _scrolled(self, value: int) -> None:
        if value == self.verticalScrollBar().minimum() and self._model.rowCount() > 0:
            self._model.load_older()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        super().mouseReleaseEvent(event)
        if event.button() != Qt.MouseButton.LeftButton:
            return
        point = event.position().toPoint()
        index = self.indexAt(point)
        delegate = self.itemDelegate()
        if not index.isValid() or not isinstance(delegate, BubbleDelegate):
            return
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        option.rect = self.visualRect(index)
        quoted = delegate.quote_at(option, index, point)
        if quoted:
            self.quote_clicked.emit(quoted)
            return
        for reaction, rect in delegate.chip_rects(option, index):
            if rect.contains(point):
                self.chip_clicked.emit(index.data(MESSAGE_ROLE), reaction.emoji)
                return
        link = delegate.link_at(option, index, point)
        if link:
            self.link_clicked.emit(link)

    def at_bottom(self) -> bool:
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum() - 40


class ConversationPane(QWidget):
    """Everything about the open conversation; the main window only says which one."""

    safety_number_requested = Signal(str, str)  # contact id, title
    _unread_at_open = 0  # unread count when the conversation opened, until the marker is placed

    def __init__(self, bridge: CoreBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self.conversation: ConversationView | None = None
        self._jump_to: MessageView | None = None
        self._jump_to_id: str | None = None  # a quoted message, looked for in older pages
        self.menu: QMenu | None = None  # the open message menu (tests find it here)
        self.model = MessageListModel(bridge, self)
        self.thumbnails = ThumbnailCache(bridge, self)
        self.title = named(QLabel("", self), "Conversation with")
        self.title.setObjectName("conversationTitle")
        self.safety = named(
            QPushButton("Safety number", self), "Safety number", "Compare and verify keys"
        )
        self.badge = self._make_badge()
        self.notice: QMessageBox | None = None
        self._told: set[str] = set()  # told in this window, before the core has stored it
        self.preview: PicturePreview | None = None
        #: Pictures waiting for the preview: (file, name to show, what to do once it is read).
        self._offers: list[tuple[Path, str | None, Callable[[], None] | None]] = []
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.badge)
        header.addWidget(self.safety)
        self.banner = KeyChangeBanner(self)
        self.view = named(
            MessageListView(self.model, self),
            "Messages",
            "Arrow keys move between messages; the menu key shows what the relay saw",
        )
        self.delegate = BubbleDelegate(self.thumbnails, self.view)
        self.view.setItemDelegate(self.delegate)
        self.composer = Composer(self)
        self.status = named(QLabel("", self), "Sending problem")
        self.status.setWordWrap(True)
        self.status.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.banner)
        layout.addWidget(self.view, 1)
        self.typing = TypingIndicator(bridge, self.composer, self)
        layout.addWidget(self.typing.label)  # "Alice is typing…"
        layout.addWidget(self.status)
        layout.addWidget(self.composer)
        self.setAcceptDrops(True)
        self._connect_signals()
        self._was_at_bottom = True
        self._read_timer = self._make_read_timer()

    def _connect_signals(self) -> None:
        self.safety.clicked.connect(self._request_safety_number)
        self.banner.review.connect(self._request_safety_number)
        self.banner.accept_key.connect(self._accept_key)
        self.composer.send_text.connect(self.send_text)
        self.composer.send_picture.connect(self.send_picture)
        self.composer.send_pasted.connect(self._send_pasted)
        self.model.page_loaded.connect(self._page_loaded)
        self.model.rowsAboutToBeInserted.connect(self._remember_bottom)
        self.model.messages_appended.connect(self._appended)
        self.thumbnails.ready.connect(lambda _id: self.view.viewport().update())
        self._connect_view()

    def _make_read_timer(self) -> QTimer:
        """Marks the conversation read a moment after it is shown (coalescing bursts)."""
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(250)
        timer.timeout.connect(self._mark_read)
        return timer

    def _connect_view(self) -> None:
        """What clicks in the message list do."""
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.view.activated.connect(self._activated)
        # Only web links become anchors (bubble_delegate.LINK): the browser opens them.
        self.view.link_clicked.connect(lambda url: QDesktopServices.openUrl(QUrl(url)))
        self.view.quote_clicked.connect(self.show_message)
        self.view.chip_clicked.connect(self._chip_clicked)

    def _make_badge(self) -> QLabel:
        """The contact's build, when it is the warrant build (learnt from invite or messages)."""
        badge = named(QLabel("", self), "Contact's build")
        badge.setObjectName("warrantBadge")
        badge.setToolTip("This contact runs the warrant build of Parley (docs/warrant.md)")
        badge.hide()
        return badge

    # ---- which conversation --------------------------------------------------------------------

    def open(self, conversation: ConversationView, *, at: MessageView | None = None) -> None:
        """Show ``conversation`` (newest page), or jump to the message ``at`` in it."""
        same = self.conversation is not None and self.conversation.id == conversation.id
        self.update_conversation(conversation)
        self._jump_to = at
        if not same:
            self.status.hide()
            # The unread marker goes above the first of the messages unread at opening.
            self._unread_at_open = conversation.unread
            self.delegate.unread_marker = ("", 0)
            self.typing.open(conversation.id)
            self.model.open(conversation.id)
            self.composer.edit.clear()
            self.composer.cancel_reply()
            self._jump_to_id = None
        elif at is not None:
            self._continue_jump()
        self._read_timer.start()

    def close_conversation(self) -> None:
        """Show no conversation (its contact was blocked): nothing of it stays loaded, no draft,
        no reply begun, nothing marked read."""
        self.conversation = None
        self._read_timer.stop()
        self._jump_to = None
        self._jump_to_id = None
        self.status.hide()
        self.typing.open(None)
        self.model.open(None)
        self.composer.edit.clear()
        self.composer.cancel_reply()

    def update_conversation(self, conversation: ConversationView) -> None:
        """New title, trust or unread state for the open conversation."""
        self.conversation = conversation
        mark = "  \u2714 verified" if conversation.verified else ""
        self.title.setText(f"<b>{conversation.title}</b>{mark}")
        self.title.setAccessibleName(f"Conversation with {conversation.title}{mark}")
        if conversation.build_variant == "warrant":
            text = f"Warrant build \u00b7 authority {conversation.authority_key_id or 'unknown'}"
            self.badge.setText(text)
            self.badge.show()
        else:
            self.badge.hide()
        if conversation.key_changed:
            self.banner.show_for(conversation)
        else:
            self.banner.hide()
        blocked = conversation.key_changed and conversation.verified
        self.composer.setEnabled(not blocked)
        self.composer.edit.setPlaceholderText(
            "Sending is paused until you accept the new safety number." if blocked else "Message"
        )

    # ---- paging and scrolling ------------------------------------------------------------------

    def _place_unread_marker(self) -> None:
        """Put "N unread messages" above the oldest of the newest N incoming messages."""
        count, self._unread_at_open = self._unread_at_open, 0
        if count <= 0:
            return
        seen = 0
        for row in range(self.model.rowCount() - 1, -1, -1):
            message = self.model.message_at(row)
            if message is not None and message.direction == "in" and message.kind != "system":
                seen += 1
                if seen == count:
                    self.delegate.unread_marker = (message.id, count)
                    return

    def _page_loaded(self, inserted: int) -> None:
        if self._unread_at_open:
            self._place_unread_marker()
        if self._jump_to_id is not None:
            self.show_message(self._jump_to_id)
            return
        if self._jump_to is not None:
            self._continue_jump()
            return
        if inserted == self.model.rowCount():
            self.view.scrollToBottom()
            QTimer.singleShot(0, self.view.scrollToBottom)
        elif inserted:
            self.view.scrollTo(
                self.model.index(inserted), QAbstractItemView.ScrollHint.PositionAtTop
            )
        if inserted and self.view.verticalScrollBar().maximum() == 0:
            self.model.load_older()  # the page does not fill the view yet

    def _continue_jump(self) -> None:
        target = self._jump_to
        if target is None:
            return
        row = self.model.row_of_message(target.id)
        if row is not None:
            self._jump_to = None
            index = self.model.index(row)
            self.view.setCurrentIndex(index)
            self.view.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
            return
        oldest = self.model.oldest_seq()
        if self.model.exhausted or (oldest is not None and oldest < target.seq):
            self._jump_to = None  # the message is gone (deleted): stay where we are
            return
        self.model.load_older()

    def show_message(self, message_id: str) -> None:
        """Scroll to a (quoted) message and select it, loading older pages until it is there."""
        row = self.model.row_of_message(message_id)
        if row is not None:
            self._jump_to_id = None
            index = self.model.index(row)
            self.view.setCurrentIndex(index)
            self.view.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
            return
        if self.model.exhausted:
            self._jump_to_id = None
            self._send_failed("The quoted message is not in your history.")
            return
        self._jump_to_id = message_id
        if not self.model.loading:
            self.model.load_older()

    def _remember_bottom(self, _parent: QModelIndex, first: int, _last: int) -> None:
        if first > 0:
            self._was_at_bottom = self.view.at_bottom()

    def _appended(self, _count: int) -> None:
        last = self.model.message_at(self.model.rowCount() - 1)
        if self._was_at_bottom or (last is not None and last.direction == "out"):
            self.model.trim_oldest(LIVE_WINDOW)
            QTimer.singleShot(0, self.view.scrollToBottom)
        if last is not None and last.direction == "in":
            self._read_timer.start()

    def schedule_mark_read(self) -> None:
        """Mark the open conversation read shortly (coalesces bursts of arrivals)."""
        self._read_timer.start()

    def _mark_read(self) -> None:
        """Send read receipts only for what the person can see: the window shown and focused
        (or, with no window manager to focus anything, shown at all)."""
        window = self.window()
        seen = window.isVisible() and not window.isMinimized()
        focused = window.isActiveWindow() or QApplication.activeWindow() is None
        if self.conversation is not None and seen and focused:
            self._bridge.call(self._bridge.messenger.mark_read(self.conversation.id))

    # ---- sending -------------------------------------------------------------------------------

    def _after_notice(self, then: Callable[[], None]) -> None:
        """Run ``then`` now, or once the user has read what writing to a warrant-build contact
        means (the standard build tells its user before the first message to such a contact)."""
        conversation = self.conversation
        if (
            conversation is None
            or conversation.build_variant != "warrant"
            or build_config().is_warrant
            or conversation.build_acknowledged
            or conversation.contact_id in self._told
        ):
            then()
            return
        buttons = QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel
        box = QMessageBox(
            QMessageBox.Icon.Information,
            "Your contact runs the warrant build",
            warrant_notice(conversation.title, conversation.authority_key_id),
            buttons,
            self,
        )
        box.setObjectName("warrantNotice")
        send = box.button(QMessageBox.StandardButton.Ok)
        send.setText("Send")
        contact_id = conversation.contact_id

        def answered(_result: int) -> None:
            if box.clickedButton() is send:
                self._told.add(contact_id)
                self._bridge.call(self._bridge.messenger.acknowledge_build(contact_id))
                then()

        box.finished.connect(answered)
        self.notice = box
        box.open()

    def send_text(self, text: str) -> None:
        reply_to = self.composer.take_reply()
        self._after_notice(lambda: self._send_text_now(text, reply_to))

    def _send_text_now(self, text: str, reply_to: str | None = None) -> None:
        if self.conversation is None:
            return
        self._bridge.call(
            self._bridge.messenger.send_text(self.conversation.id, text, reply_to=reply_to),
            self._sent,
            self._send_failed,
        )

    def reply_to(self, message: MessageView) -> None:
        """Quote ``message`` in the next text: the bar above the composer says so."""
        if message.kind != "message" or not self.composer.isEnabled():
            return
        author = "yourself" if message.direction == "out" else message.sender_name
        text = message.body or ("a picture" if message.attachment is not None else "")
        self.composer.start_reply(message.id, author, text)

    def react(self, message: MessageView, emoji: str | None) -> None:
        """Put ``emoji`` on a message (replacing mine), or take mine back (None)."""
        self._bridge.call(
            self._bridge.messenger.react(message.id, emoji),
            lambda view: self.model.update_messages([view]),
            self._send_failed,
        )

    def _chip_clicked(self, message: MessageView, emoji: str) -> None:
        """A chip: mine is taken back, someone else's is joined (as in Signal)."""
        mine = next((r.emoji for r in message.reactions if r.mine), None)
        self.react(message, None if mine == emoji else emoji)

    # ---- pictures: preview first (ui/picture_preview.py), then send ----------------------------

    def send_picture(self, path: Path) -> None:
        """Show the picture at ``path`` with a caption field; it is sent only on Send."""
        self._offer_picture(path, None)

    def _send_pasted(self, image: QImage) -> None:
        try:
            path = write_private_png(image)
        except UiError as error:
            self._send_failed(str(error))
            return
        # The private copy is deleted as soon as the core has read it (prepared or refused).
        self._offer_picture(path, "Pasted picture", lambda: path.unlink(missing_ok=True))

    def _offer_picture(
        self, path: Path, shown_name: str | None, after_prepared: Callable[[], None] | None = None
    ) -> None:
        """Queue a picture for the preview: several dropped at once are shown one after another."""
        self._offers.append((path, shown_name, after_prepared))
        if self.preview is None:
            self._next_preview()

    def _next_preview(self) -> None:
        self.preview = None
        if not self._offers or self.conversation is None or not self.composer.isEnabled():
            for _path, _name, cleanup in self._offers:
                if cleanup is not None:
                    cleanup()
            self._offers.clear()
            return
        path, shown_name, after_prepared = self._offers.pop(0)
        carried = self.composer.edit.toPlainText().strip()  # the draft becomes the caption
        reply = self.composer.reply_to  # a reply begun goes with the picture (if it is sent)
        preview = PicturePreview(
            self._bridge,
            path,
            shown_name=shown_name,
            send_as="pasted picture" if shown_name else None,
            caption=carried,
            parent=self,
            after_prepared=after_prepared,
        )
        preview.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        conversation_id = self.conversation.id
        preview.send_requested.connect(
            lambda picture, caption: self._send_prepared(
                conversation_id, picture, caption, carried, reply
            )
        )
        preview.finished.connect(lambda _result: QTimer.singleShot(0, self._next_preview))
        self.preview = preview
        preview.open()

    def _send_prepared(
        self,
        conversation_id: str,
        picture: CheckedPicture,
        caption: str,
        carried: str,
        reply: str | None = None,
    ) -> None:
        # The draft went into the caption field (and perhaps was edited there): it goes out with
        # the picture, so it leaves the composer. Cancel leaves the draft where it was; so with
        # the reply: sent with the picture, it leaves the reply bar.
        if carried and self.composer.edit.toPlainText().strip() == carried:
            self.composer.edit.clear()
        if reply is not None and self.composer.reply_to == reply:
            self.composer.take_reply()

        def now() -> None:
            self._bridge.call(
                self._bridge.messenger.send_picture(
                    conversation_id, picture, caption, reply_to=reply
                ),
                self._sent,
                self._send_failed,
            )

        self._after_notice(now)

    def _sent(self, message: MessageView) -> None:
        self.status.hide()
        self.model.add_messages([message])

    def _send_failed(self, text: str) -> None:
        self.status.setText(text)
        self.status.setAccessibleDescription(text)
        self.status.setVisible(bool(text))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if image_paths(event.mimeData()) and self.composer.isEnabled():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        for path in image_paths(event.mimeData()):
            self._offer_picture(path, None)
        event.acceptProposedAction()

    # ---- trust ---------------------------------------------------------------------------------

    def _request_safety_number(self) -> None:
        if self.conversation is not None:
            self.safety_number_requested.emit(self.conversation.contact_id, self.conversation.title)

    def _accept_key(self) -> None:
        if self.conversation is not None:
            self._bridge.call(
                self._bridge.messenger.accept_key_change(self.conversation.contact_id),
                lambda _none: self.banner.hide(),
                self._send_failed,
            )

    # ---- per-message actions -------------------------------------------------------------------

    def _context_menu(self, point: QPoint) -> None:
        index = self.view.indexAt(point)
        message = index.data(MESSAGE_ROLE) if index.isValid() else None
        if not isinstance(message, MessageView):
            return
        menu = QMenu(self)
        named(menu, "Message actions")
        if message.kind == "message" and self.composer.isEnabled():
            self._add_reactions(menu, message)
            reply = QAction("Reply", menu)
            reply.setShortcut(QKeySequence("Ctrl+Shift+R"))
            reply.triggered.connect(lambda: self.reply_to(message))
            menu.addAction(reply)
        if message.kind != "system":  # the app's own line never went through the relay
            relay = QAction("What the relay saw…", menu)
            relay.triggered.connect(lambda: self.show_relay_record(message))
            menu.addAction(relay)
        if message.body:
            copy = QAction("Copy text", menu)
            copy.triggered.connect(lambda: QGuiApplication.clipboard().setText(message.body))
            menu.addAction(copy)
        if message.attachment is not None:
            view = QAction("Open picture", menu)
            view.triggered.connect(lambda: self.open_picture(message))
            menu.addAction(view)
            save = QAction("Save picture…", menu)
            save.triggered.connect(lambda: self.save_picture(message))
            menu.addAction(save)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.menu = menu
        menu.popup(self.view.viewport().mapToGlobal(point))

    def _add_reactions(self, menu: QMenu, message: MessageView) -> None:
        """A row of quick reactions at the top of the menu, then "Remove my reaction"."""
        mine = next((r.emoji for r in message.reactions if r.mine), None)
        row = QWidget(menu)
        named(row, "Quick reactions")
        layout = QHBoxLayout(row)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(2)
        for emoji in QUICK_REACTIONS:
            button = named(QToolButton(row), f"React with {emoji}")
            button.setText(emoji)
            larger = button.font()
            larger.setPointSizeF(larger.pointSizeF() * 1.5)  # a picture to pick, not small print
            button.setFont(larger)
            button.setCheckable(True)
            button.setChecked(emoji == mine)
            button.setAutoRaise(True)
            # Choosing my own reaction again takes it back, as in Signal.
            chosen = None if emoji == mine else emoji

            def choose(_checked: bool = False, chosen: str | None = chosen) -> None:
                menu.close()
                self.react(message, chosen)

            button.clicked.connect(choose)
            layout.addWidget(button)
        picker = QWidgetAction(menu)
        picker.setDefaultWidget(row)
        menu.addAction(picker)
        if mine is not None:
            remove = QAction(f"Remove my reaction {mine}", menu)
            remove.triggered.connect(lambda: self.react(message, None))
            menu.addAction(remove)
        menu.addSeparator()

    def popup_menu_at(self, message: MessageView) -> None:
        """The message menu over a message's bubble (Ctrl+Shift+E, or the menu key)."""
        row = self.model.row_of_message(message.id)
        if row is None:
            return
        index = self.model.index(row)
        self.view.scrollTo(index)
        self._context_menu(self.view.visualRect(index).center())

    def _activated(self, index: QModelIndex) -> None:
        message = index.data(MESSAGE_ROLE)
        if isinstance(message, MessageView) and message.attachment is not None:
            self.open_picture(message)

    def show_relay_record(self, message: MessageView) -> RelayRecordDialog:
        dialog = RelayRecordDialog(self._bridge, message.id, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def open_picture(self, message: MessageView) -> PictureViewer | None:
        if message.attachment is None:
            return None
        viewer = PictureViewer(self._bridge, message.attachment, self)
        viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        viewer.open()
        return viewer

    def save_picture(self, message: MessageView) -> QFileDialog | None:
        """Save… straight from the conversation (the viewer has the same button)."""
        if message.attachment is None:
            return None

        def report(text: str, ok: bool) -> None:
            window = self.window()
            if ok and isinstance(window, QMainWindow):
                window.statusBar().showMessage(text, 15000)
            elif not ok:
                self._send_failed(text)

        return ask_where_to_save(self._bridge, message.attachment, self, report)

    def current_message(self) -> MessageView | None:
        message = self.view.currentIndex().data(MESSAGE_ROLE)
        return message if isinstance(message, MessageView) else None
