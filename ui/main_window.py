"""The main window: conversation list on the left, the open conversation on the right."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable

from parley.app.events import (
    CatchUpProgress,
    ConnectionChanged,
    ContactBuildChanged,
    ContactKeyChanged,
    ContactView,
    ConversationView,
    MessageRefused,
    MessageView,
    ReactionChanged,
    Settings,
)
from parley.ui.block_contact import ask_to_block
from parley.ui.blocked_view import BlockedDialog
from parley.ui.bridge import CoreBridge
from parley.ui.conversation_delegate import ConversationDelegate
from parley.ui.conversation_model import CONVERSATION_ROLE, ConversationListModel
from parley.ui.conversation_pane import ConversationPane
from parley.ui.invite_dialogs import AddContactDialog, InviteDialog
from parley.ui.notifier import Notifier, notable_reactions
from parley.ui.requests_view import RequestsButton
from parley.ui.safety_dialog import SafetyNumberDialog
from parley.ui.search_dialog import SearchDialog
from parley.ui.settings_dialog import SettingsDialog
from parley.ui.widgets import named
from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from parley import __version__
from parley.variant import config as build_config

WARRANT_DOC = "docs/warrant.md"
CONNECTION_WORDS = {"connecting": "Connecting…", "online": "Online", "offline": "Offline"}


def window_title(display_name: str) -> str:
    """The title names the build variant, so the warrant build can never pass for the other.

    It ends with the application's display name, which Qt would otherwise append a second time
    ("… — Parley").
    """
    return f"{display_name} ({build_config().describe()}) — Parley"


class OfflineBanner(QFrame):
    """Offline, said where it is seen: why in plain words, and when Parley tries again."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("offlineBanner")
        self.setStyleSheet("#offlineBanner { background: #fff4ce; color: #3d2e00; }")
        self.text = named(QLabel(self), "Offline")
        self.text.setWordWrap(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.text, 1)
        self._reason = ""
        self._retry_at: float | None = None
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._update)
        self.hide()

    def show_state(self, event: ConnectionChanged) -> None:
        if event.state == "connecting" and self.isVisible():
            self._retry_at = time.monotonic()  # stays up, "trying again now", until online
            self._update()
            return
        if event.state != "offline":
            self._tick.stop()
            self.hide()
            return
        self._reason = event.detail
        self._retry_at = None if event.retry_in is None else time.monotonic() + event.retry_in
        self._update()
        self._tick.start()
        self.show()

    def _update(self) -> None:
        reason = self._reason or "the connection was lost"
        text = f"Offline: Parley cannot reach your relay ({reason}). "
        if self._retry_at is None:
            text += "It will not retry by itself: check the relay address in Settings."
        else:
            seconds = max(0, math.ceil(self._retry_at - time.monotonic()))
            text += (
                f"Trying again in {seconds} s. Messages you send wait here until then."
                if seconds
                else "Trying again now…"
            )
        self.text.setText(text)
        self.text.setAccessibleDescription(text)


class MainWindow(QMainWindow):
    """Owns the models and dialogs of one open account; ``lock_requested`` asks to lock it."""

    lock_requested = Signal()
    closed = Signal()

    def __init__(self, bridge: CoreBridge, icon: QIcon | None = None) -> None:
        super().__init__()
        self.bridge = bridge
        self.settings: Settings | None = None
        self.build_notice: QMessageBox | None = None
        self.list_menu: QMenu | None = None
        self.setWindowTitle(window_title(bridge.messenger.display_name))
        named(self, window_title(bridge.messenger.display_name))
        if icon is not None:
            self.setWindowIcon(icon)
        self.resize(980, 680)
        self.conversations = ConversationListModel(self)
        self.pane = ConversationPane(bridge, self)
        self._build_left()
        self.placeholder = QLabel(
            "Choose a conversation, or add a contact with their invite (Ctrl+N).", self
        )
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(self.pane)
        splitter = QSplitter(self)
        splitter.addWidget(self.left)
        splitter.addWidget(self.stack)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([300, 680])
        self.offline_banner = OfflineBanner(self)
        central = QWidget(self)
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.offline_banner)
        column.addWidget(splitter, 1)
        self.setCentralWidget(central)
        self._build_status_bar()
        self._build_menus()
        self.notifier = Notifier(self, icon)
        self._open_first_when_listed = False
        self._open_contact_when_listed: str | None = None
        # Tab goes down the left column, then through the conversation top to bottom.
        chain = (
            self.invite_button,
            self.add_button,
            self.requests_button,
            self.list,
            self.pane.safety,
            self.pane.view,
            self.pane.composer.attach,
            self.pane.composer.edit,
            self.pane.composer.send,
        )
        for first, second in itertools.pairwise(chain):
            self.setTabOrder(first, second)

        self._listen(bridge)
        self.pane.safety_number_requested.connect(self.show_safety_number)
        self.refresh()
        bridge.call(bridge.messenger.settings(), self._settings_loaded, lambda _m: None)

    # ---- construction --------------------------------------------------------------------------

    def _listen(self, bridge: CoreBridge) -> None:
        """The core's events this window acts on."""
        bridge.conversations_changed.connect(self._conversations_changed)
        bridge.contacts_messages_added.connect(self._messages_added)
        bridge.reactions_changed.connect(self._reactions_changed)
        bridge.contact_key_changed.connect(self._key_changed)
        bridge.contact_build_changed.connect(self._build_changed)
        bridge.connection_changed.connect(self.show_connection)
        bridge.catch_up_progress.connect(self._catch_up)
        bridge.error_raised.connect(self.show_error)
        bridge.message_refused.connect(self._message_refused)
        bridge.contact_blocked.connect(self._contact_blocked)
        bridge.locked.connect(self.lock_requested)

    def _build_left(self) -> None:
        self.left = QWidget(self)
        self.invite_button = named(
            QPushButton("My invite", self.left), "My invite", "Share your invite as text or QR"
        )
        self.add_button = named(
            QPushButton("Add contact", self.left), "Add contact", "Add a contact (Ctrl+N)"
        )
        buttons = QHBoxLayout()
        buttons.addWidget(self.invite_button)
        buttons.addWidget(self.add_button)
        self.list = named(QListView(self.left), "Conversations", "Enter opens a conversation")
        self.list.setModel(self.conversations)
        self.list.setItemDelegate(ConversationDelegate(self.list))
        self.list.setUniformItemSizes(True)
        layout = QVBoxLayout(self.left)
        layout.setContentsMargins(6, 6, 0, 6)
        layout.addLayout(buttons)
        self.requests_button = RequestsButton(self.bridge, self.left)
        layout.addWidget(self.requests_button)
        layout.addWidget(self.list, 1)
        # ``clicked`` passes ``checked``, which must not reach show_add_contact's ``invite``.
        self.invite_button.clicked.connect(lambda _checked=False: self.show_invite())
        self.add_button.clicked.connect(lambda _checked=False: self.show_add_contact())
        self.list.selectionModel().currentChanged.connect(self._current_changed)
        # Enter on a conversation, or a click on it, moves the keyboard to its composer; the arrow
        # keys still walk the list.
        self.list.activated.connect(lambda _index: self.pane.composer.edit.setFocus())
        self.list.clicked.connect(lambda _index: self.pane.composer.edit.setFocus())
        # A right click on a conversation: what concerns its contact (safety number, block).
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._list_context_menu)

    def _build_status_bar(self) -> None:
        self.connection = named(QLabel("Connecting…", self), "Connection")
        self.progress = named(QProgressBar(self), "Catching up")
        self.progress.setMaximumWidth(200)
        self.progress.hide()
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.connection)

    def _action(
        self,
        text: str,
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None,
        slot: Callable[[], object],
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        # ``triggered`` passes ``checked``: never let it reach a slot's own optional argument.
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    def _build_menus(self) -> None:
        menu = self.menuBar().addMenu("&Parley")
        self.search_action = self._action("&Search…", "Ctrl+F", self.show_search)
        self.add_action = self._action("&Add contact…", "Ctrl+N", self.show_add_contact)
        for action in (
            self._action("My &invite…", None, self.show_invite),
            self.add_action,
            self.search_action,
            self._action("&Blocked people…", None, self.show_blocked),
            self._action("Se&ttings…", "Ctrl+,", self.show_settings),
            self._action("&Lock", "Ctrl+L", self.lock_requested.emit),
            self._action("&Quit", QKeySequence.StandardKey.Quit, self.close),
        ):
            menu.addAction(action)
        message_menu = self.menuBar().addMenu("&Message")
        message_menu.addAction(
            self._action("What the &relay saw…", "Ctrl+I", self._relay_record_of_current)
        )
        message_menu.addAction(self._action("&Attach picture…", "Ctrl+U", self._attach_picture))
        message_menu.addAction(self._action("Open &picture", "Ctrl+O", self._picture_of_current))
        # Signal Desktop's keys for replying to and reacting to the selected message.
        message_menu.addAction(self._action("R&eply", "Ctrl+Shift+R", self._reply_to_current))
        message_menu.addAction(self._action("Re&act…", "Ctrl+Shift+E", self._react_to_current))
        message_menu.addAction(
            self._action("Safety &number…", "Ctrl+Shift+S", self._safety_number_of_current)
        )
        message_menu.addSeparator()
        self.block_action = self._action("&Block contact…", "Ctrl+Shift+B", self._block_current)
        self.block_action.setEnabled(False)  # until a conversation is open: greyed, not inert
        message_menu.addAction(self.block_action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self._action("&About Parley", None, self.show_about))
        named(self.menuBar(), "Menu bar")
        # Qt's own "more menus" button, shown when the window is too narrow for the menu bar.
        for button in self.menuBar().findChildren(QToolButton):
            named(button, "More menus")

    # ---- data ----------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload the conversation list from the core."""
        self.bridge.call(self.bridge.messenger.conversations(), self._conversations_loaded)

    def _conversations_loaded(self, conversations: list[ConversationView]) -> None:
        current = self.pane.conversation.id if self.pane.conversation else None
        self.conversations.reset(conversations)
        if current is not None:
            self._select(current)
        self._update_unread_title()
        self._open_first_if_asked()
        self._open_added_contact()

    def _conversations_changed(self, conversations: list[ConversationView]) -> None:
        self.conversations.upsert(conversations)
        for conversation in conversations:
            if self.pane.conversation is not None and conversation.id == self.pane.conversation.id:
                self.pane.update_conversation(conversation)
        self._update_unread_title()
        self._open_first_if_asked()
        self._open_added_contact()

    def _open_added_contact(self) -> None:
        """A contact was just added: open their conversation, ready to type the first message."""
        contact_id = self._open_contact_when_listed
        if contact_id is None:
            return
        for row in range(self.conversations.rowCount()):
            conversation = self.conversations.conversation_at(row)
            if conversation is not None and conversation.contact_id == contact_id:
                self._open_contact_when_listed = None
                self.open_conversation(conversation)
                self.pane.composer.edit.setFocus()
                return

    def open_first_conversation(self) -> None:
        """Open the top conversation with the keyboard in its composer, now or once listed.

        For `parley demo`: the newcomer's first act is typing, so nothing must need a click.
        """
        self._open_first_when_listed = True
        self._open_first_if_asked()

    def _open_first_if_asked(self) -> None:
        first = self.conversations.conversation_at(0)
        if not self._open_first_when_listed or first is None:
            return
        self._open_first_when_listed = False
        if self.pane.conversation is None:
            self.open_conversation(first)
            self.pane.composer.edit.setFocus()

    def _update_unread_title(self) -> None:
        unread = self.conversations.total_unread()
        title = window_title(self.bridge.messenger.display_name)
        self.setWindowTitle(f"({unread}) {title}" if unread else title)
        self.notifier.set_unread(unread)

    def _settings_loaded(self, settings: Settings) -> None:
        self.settings = settings
        self.notifier.enabled = settings.notifications
        self.pane.typing.sending = settings.typing_indicators

    def _messages_added(self, messages: list[MessageView]) -> None:
        """Contacts' new messages notify; never a message request's (``contacts_messages_added``
        leaves those out: a notification would show the name it claims as a contact's)."""
        incoming = [m for m in messages if m.direction == "in"]
        if incoming and not self._seen_as_it_happens([m.conversation_id for m in incoming]):
            self.notifier.notify_messages(incoming)

    def _reactions_changed(self, events: list[ReactionChanged]) -> None:
        """A contact's reaction to my message notifies as a message does (same rules)."""
        notable = notable_reactions(events)
        if notable and not self._seen_as_it_happens([e.message.conversation_id for e in notable]):
            self.notifier.notify_reactions(notable)

    def _seen_as_it_happens(self, conversation_ids: list[str]) -> bool:
        """True when every one of these conversations is the one open in the focused window:
        the person sees what happened there, so no notification."""
        open_id = self.pane.conversation.id if self.pane.conversation else None
        return self.isActiveWindow() and all(c == open_id for c in conversation_ids)

    def _key_changed(self, event: ContactKeyChanged) -> None:
        self.refresh()
        conversation = self.conversations.conversation(event.conversation_id)
        if conversation is not None:
            self.statusBar().showMessage(f"{conversation.title}'s safety number changed.", 10000)

    def _contact_blocked(self, contact_id: str) -> None:
        """A blocked contact leaves the list, and its conversation closes if it is open."""
        shown = self.pane.conversation
        self.conversations.remove_contact(contact_id)
        if shown is not None and shown.contact_id == contact_id:
            self.pane.close_conversation()
            self.block_action.setEnabled(False)
            self.stack.setCurrentWidget(self.placeholder)
            self.list.selectionModel().clearCurrentIndex()
            self.statusBar().showMessage(
                f"{shown.title} is blocked. Parley > Blocked people… unblocks them.", 15000
            )
        self._update_unread_title()

    def _message_refused(self, event: MessageRefused) -> None:
        """Said in the status bar; a known sender's conversation also gets a system line."""
        self.statusBar().showMessage(event.text, 15000)

    def show_connection(self, event: ConnectionChanged) -> None:
        words = CONNECTION_WORDS.get(event.state, event.state)
        self.offline_banner.show_state(event)
        self.connection.setText(words)
        self.connection.setToolTip(event.detail)
        self.connection.setAccessibleDescription(f"{words}. {event.detail}".strip())

    def _catch_up(self, event: CatchUpProgress) -> None:
        if event.total <= 0 or event.done >= event.total:
            self.progress.hide()
            return
        self.progress.setRange(0, event.total)
        self.progress.setValue(event.done)
        self.progress.setFormat(f"Catching up: {event.done}/{event.total}")
        self.progress.show()

    # ---- navigation ----------------------------------------------------------------------------

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        """The person picked a conversation in the list: open it, unless it is open already.

        ``open_conversation`` itself moves the list's current row, which lands here again; opening
        the same conversation a second time, without ``at``, would cancel a search result's jump
        that is still waiting for its page to load.
        """
        conversation = current.data(CONVERSATION_ROLE)
        if not isinstance(conversation, ConversationView):
            return
        shown = self.pane.conversation
        if shown is not None and shown.id == conversation.id:
            return
        self.open_conversation(conversation)

    def open_conversation(
        self, conversation: ConversationView, *, at: MessageView | None = None
    ) -> None:
        self.stack.setCurrentWidget(self.pane)
        self.pane.open(conversation, at=at)
        self.block_action.setEnabled(True)
        self._select(conversation.id)

    def open_conversation_id(self, conversation_id: str, *, at: MessageView | None = None) -> bool:
        conversation = self.conversations.conversation(conversation_id)
        if conversation is None:
            return False
        self.open_conversation(conversation, at=at)
        return True

    def _select(self, conversation_id: str) -> None:
        row = self.conversations.row_of(conversation_id)
        if row is None:
            return
        index = self.conversations.index(row)
        if self.list.currentIndex() != index:
            self.list.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            )

    # ---- dialogs -------------------------------------------------------------------------------

    def show_invite(self) -> InviteDialog:
        dialog = InviteDialog(self.bridge, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def show_add_contact(self, invite: str | None = None) -> AddContactDialog:
        """The add-contact dialog, empty or showing ``invite`` (the person still confirms)."""
        dialog = AddContactDialog(self.bridge, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.contact_added.connect(self._contact_added)
        if invite is not None:
            dialog.prefill(invite)
        dialog.open()
        return dialog

    def offer_invite(self, link: str) -> AddContactDialog:
        """A ``parley://`` link opened from outside: come to the front and show who it is from."""
        if self.isMinimized():
            self.showNormal()
        self.raise_()
        self.activateWindow()
        return self.show_add_contact(link)

    def _contact_added(self, contact: ContactView) -> None:
        if contact.build_variant != build_config().variant:
            box = QMessageBox(
                QMessageBox.Icon.Warning,
                "A different build",
                f"{contact.display_name} uses the {contact.build_variant} build of Parley. "
                "Read what that means in About before you write anything sensitive.",
                QMessageBox.StandardButton.Ok,
                self,
            )
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()
        self._open_contact_when_listed = contact.id
        self.refresh()

    def show_search(self) -> SearchDialog:
        dialog = SearchDialog(self.bridge, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.message_chosen.connect(
            lambda message: self.open_conversation_id(message.conversation_id, at=message)
        )
        dialog.open()
        return dialog

    def show_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.bridge, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(self._settings_loaded)
        dialog.open()
        return dialog

    def show_safety_number(self, contact_id: str, title: str) -> SafetyNumberDialog:
        dialog = SafetyNumberDialog(self.bridge, contact_id, title, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.verified_changed.connect(lambda _verified: self.refresh())
        dialog.open()
        return dialog

    def show_blocked(self) -> BlockedDialog:
        """The people blocked, contacts and requests alike, each with Unblock."""
        dialog = BlockedDialog(self.bridge, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.refresh()
        dialog.open()
        return dialog

    def block(self, conversation: ConversationView) -> QMessageBox:
        """Ask once whether to block this conversation's contact; block only on "Block"."""
        return ask_to_block(self.bridge, conversation, self)

    def _block_current(self) -> None:
        if self.pane.conversation is not None:
            self.block(self.pane.conversation)

    def _list_context_menu(self, point: QPoint) -> None:
        """The menu of the conversation under ``point`` (from the keyboard: Message > Block
        contact…, Ctrl+Shift+B, for the open conversation)."""
        conversation = self.list.indexAt(point).data(CONVERSATION_ROLE)
        if not isinstance(conversation, ConversationView):
            return
        menu = QMenu(self.list)
        named(menu, f"{conversation.title}: actions")
        menu.addAction("Safety number…").triggered.connect(
            lambda _checked=False: self.show_safety_number(
                conversation.contact_id, conversation.title
            )
        )
        menu.addSeparator()
        menu.addAction("Block…").triggered.connect(lambda _checked=False: self.block(conversation))
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.list_menu = menu
        menu.popup(self.list.viewport().mapToGlobal(point))

    def _safety_number_of_current(self) -> None:
        conversation = self.pane.conversation
        if conversation is not None:
            self.show_safety_number(conversation.contact_id, conversation.title)

    def _relay_record_of_current(self) -> None:
        message = self.pane.current_message()
        if message is not None and message.kind == "system":
            self.statusBar().showMessage(
                "Parley wrote this line on this computer: it never went through the relay.", 10000
            )
        elif message is not None:
            self.pane.show_relay_record(message)

    def _message_to_answer(self) -> MessageView | None:
        """The selected message, or else the newest message of the open conversation."""
        message = self.pane.current_message()
        if message is None and self.pane.model.rowCount():
            message = self.pane.model.message_at(self.pane.model.rowCount() - 1)
        return message

    def _reply_to_current(self) -> None:
        message = self._message_to_answer()
        if message is not None:
            self.pane.reply_to(message)

    def _react_to_current(self) -> None:
        message = self._message_to_answer()
        if message is not None:
            self.pane.popup_menu_at(message)

    def _attach_picture(self) -> None:
        """Choose a picture for the open conversation (it is previewed before it is sent)."""
        if self.pane.conversation is not None and self.pane.composer.isEnabled():
            self.pane.composer.choose_picture()

    def _picture_of_current(self) -> None:
        message = self.pane.current_message()
        if message is not None:
            self.pane.open_picture(message)

    def show_about(self) -> QMessageBox:
        """Window-modal but not blocking (``open``, not ``exec``): the app keeps receiving."""
        built = build_config()
        box = QMessageBox(self)
        box.setWindowTitle("About Parley")
        box.setIcon(QMessageBox.Icon.Information)
        named(box, "About Parley")
        box.setText(
            f"<b>Parley {__version__}</b>, {built.describe()}.<br><br>"
            "End-to-end encrypted messages: X3DH and the Double Ratchet, keys made on this "
            "computer, a relay that stores only ciphertext it cannot read.<br>"
            + (
                "This is the <b>warrant build</b>: every message also carries its key sealed to "
                f"the lawful-access authority {built.authority_key_id}, so that any K of its "
                "trustees acting on a logged warrant can read messages the relay captured. It "
                "says so to every contact (invite, every message), and refuses messages whose "
                f"envelope is missing or forged (policy: {built.mixed_traffic_policy}). "
                f"See {WARRANT_DOC}."
                if built.is_warrant
                else "This is the <b>standard build</b>: nobody but you and your contact can "
                "read your messages. A contact who runs the warrant build is marked, and you "
                f"are told before you write to them ({WARRANT_DOC})."
            )
        )
        box.setStandardButtons(QMessageBox.StandardButton.Close)
        named(box.button(QMessageBox.StandardButton.Close), "Close About")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    def _build_changed(self, event: ContactBuildChanged) -> None:
        """No silent escrow: the moment a contact's messages show a warrant envelope, say so."""
        box = QMessageBox(
            QMessageBox.Icon.Information,
            "Your contact runs the warrant build"
            if event.build_variant == "warrant"
            else "Your contact runs the standard build",
            event.explanation,
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setObjectName("contactBuildNotice")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.build_notice = box
        box.open()
        self.refresh()

    def show_error(self, message: str) -> None:
        self.statusBar().showMessage(message, 15000)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow():
            self.pane.schedule_mark_read()  # what arrived while away is seen now
        super().changeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.notifier.hide()
        super().closeEvent(event)
        self.closed.emit()
