"""One profile's life in the app: first run or unlock, the main window, lock, unlock again.

Everything slow (key derivation, opening the store, connecting) runs on the core thread through
CoreCalls; the dialogs stay responsive and show the core's error messages, and a wrong passphrase
leaves the unlock dialog open for another try.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from parley.app import account, gc_policy
from parley.app.api import MessengerApi
from parley.app.events import ConnectionChanged, Settings
from parley.app.store import keysource
from parley.ui.bridge import CoreBridge, CoreCalls, Submitter
from parley.ui.main_window import MainWindow
from parley.ui.onboarding import NewAccount, OnboardingDialog, UnlockDialog
from PySide6.QtCore import QEvent, QObject, QRect, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

log = logging.getLogger(__name__)

#: Called with the account's relay URL before connecting: starts the embedded relay when the URL
#: is the embedded one (see ui/embedded_relay.py) and does nothing otherwise.
RelayStarter = Callable[[str], None]

ACTIVITY_EVENTS = {
    QEvent.Type.KeyPress,
    QEvent.Type.MouseButtonPress,
    QEvent.Type.Wheel,
    QEvent.Type.TouchBegin,
}


async def _profile_state(profile: Path) -> str:
    state = str(account.profile_state(profile))
    if state == "missing" and not keysource.secure_keyring_available():
        return "missing-no-keyring"  # the first-run screen says so up front
    return state


class AccountSession(QObject):
    """Drives the dialogs and the main window of one profile; ``finished`` when the user quits."""

    finished = Signal()
    window_ready = Signal(object)  # MainWindow

    def __init__(
        self,
        runtime: Submitter,
        profile: Path,
        *,
        icon: QIcon | None = None,
        geometry: QRect | None = None,
        ensure_relay: RelayStarter | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.profile = profile
        self.icon = icon
        self.geometry = geometry
        self.ensure_relay = ensure_relay
        self.calls = CoreCalls(runtime, self)
        self.messenger: MessengerApi | None = None
        self.bridge: CoreBridge | None = None
        self.window: MainWindow | None = None
        self.dialog: OnboardingDialog | UnlockDialog | None = None
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.timeout.connect(self.lock)

    # ---- opening -------------------------------------------------------------------------------

    def start(self) -> None:
        """Ask the core what the profile needs, then show the right screen."""
        self.calls.call(_profile_state(self.profile), self._route, self._fatal)

    def _route(self, state: str) -> None:
        if state.startswith("missing"):
            self._onboard(keyring_available=state == "missing")
        elif state == "passphrase":
            self._unlock()
        else:
            self.calls.call(account.open_account(self.profile), self.adopt, self._fatal)

    def _onboard(self, *, keyring_available: bool) -> None:
        dialog = OnboardingDialog(keyring_available=keyring_available)
        if self.icon is not None:
            dialog.setWindowIcon(self.icon)
        self.dialog = dialog
        dialog.buttons.accepted.disconnect()
        dialog.buttons.accepted.connect(lambda: self._create(dialog))
        dialog.rejected.connect(self.finished)
        dialog.show()

    def _create(self, dialog: OnboardingDialog) -> None:
        problem = dialog.problem()
        if problem is not None:
            dialog.show_error(problem)
            return
        choice: NewAccount = dialog.result_account()
        dialog.create_button.setEnabled(False)
        if choice.embedded_relay and self.ensure_relay is not None:
            self.ensure_relay(choice.relay_url)
        self.calls.call(
            account.create_account(
                self.profile,
                choice.display_name,
                choice.relay_url,
                key_storage=choice.key_storage,
                passphrase=choice.passphrase,
            ),
            # create_account returns once the relay holds the new prekeys: connected already.
            lambda messenger: self.adopt(messenger, online=True),
            dialog.show_error,
        )

    def _unlock(self) -> None:
        dialog = UnlockDialog(self.profile)
        if self.icon is not None:
            dialog.setWindowIcon(self.icon)
        self.dialog = dialog
        dialog.buttons.accepted.connect(lambda: self._try_passphrase(dialog))
        dialog.rejected.connect(self.finished)
        dialog.show()

    def _try_passphrase(self, dialog: UnlockDialog) -> None:
        passphrase = dialog.passphrase.text()
        if not passphrase:
            dialog.show_error("Type your passphrase.")
            return
        dialog.unlock.setEnabled(False)
        dialog.show_progress("Unlocking…")
        self.calls.call(
            account.open_account(self.profile, passphrase=passphrase), self.adopt, dialog.show_error
        )

    def adopt(self, messenger: MessengerApi, *, online: bool = False) -> None:
        """Show the main window of an open account and connect it to the relay.

        ``online`` says the messenger is connected already (its ConnectionChanged event came
        before the window subscribed), so the status bar starts right.
        """
        if self.dialog is not None:
            self.dialog.blockSignals(True)  # closing it is not quitting
            self.dialog.close()
            self.dialog.deleteLater()
            self.dialog = None
        self.messenger = messenger
        self.bridge = CoreBridge(self.runtime, messenger, self)
        window = MainWindow(self.bridge, self.icon)
        if self.geometry is not None:
            window.setGeometry(self.geometry)
        window.lock_requested.connect(self.lock)
        if online:
            window.show_connection(ConnectionChanged("online", "connected to the relay"))
        window.closed.connect(self._window_closed)
        self.window = window
        # The startup heap is complete: freeze it before the catch-up starts allocating, so that
        # no later garbage collection stalls the GUI by walking it (app/gc_policy.py).
        settled = gc_policy.settle()
        log.info("froze %d startup objects (%.0f ms)", settled.frozen, settled.pause_ms)
        window.show()
        # The relay must be up before the messenger connects when the account uses the embedded one.
        self.bridge.call(messenger.settings(), self._settings_then_start, self._fatal)
        QApplication.instance().installEventFilter(self)  # type: ignore[union-attr]
        self.window_ready.emit(window)

    def _settings_then_start(self, settings: Settings) -> None:
        if self.ensure_relay is not None:
            self.ensure_relay(settings.relay_url)
        if self.bridge is not None and self.messenger is not None:
            self.bridge.call(self.messenger.start())
        self._apply_settings(settings)

    def _apply_settings(self, settings: Settings) -> None:
        minutes = settings.auto_lock_minutes
        if minutes > 0:
            self._idle.setInterval(minutes * 60_000)
            self._idle.start()
        else:
            self._idle.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() in ACTIVITY_EVENTS and self._idle.isActive():
            self._idle.start()  # restart the idle countdown
        return False

    # ---- locking and closing -------------------------------------------------------------------

    def lock(self) -> None:
        """Close the account (the core forgets its keys) and show the unlock screen."""
        if self.messenger is None:
            return
        self._idle.stop()
        messenger, window, bridge = self.messenger, self.window, self.bridge
        self.messenger = self.window = self.bridge = None
        if bridge is not None:
            bridge.close()
        if window is not None:
            self.geometry = window.geometry()
            window.closed.disconnect(self._window_closed)
            window.close()
            window.deleteLater()
        self.calls.call(messenger.close(), lambda _none: self.start(), self._fatal)

    def close(self) -> None:
        """Close the account for good (quitting the app)."""
        if self.bridge is not None:
            self.bridge.close()
        if self.messenger is not None:
            future = self.runtime.submit(self.messenger.close())
            try:
                future.result(timeout=10)
            except Exception:  # closing is best effort on the way out
                log.exception("closing the account failed")
            self.messenger = None

    def _window_closed(self) -> None:
        self.finished.emit()

    def _fatal(self, message: str) -> None:
        QMessageBox.critical(None, "Parley cannot open this profile", message)
        self.finished.emit()
