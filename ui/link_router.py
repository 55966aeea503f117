"""Brings ``parley://`` links to the person: from the command line or from a second start.

A link can arrive before there is a window to show it in (the profile is still being created or
unlocked), or at any time later from another process (ui/single_instance.py). The router keeps
links until the session's main window is ready, then lets the window offer each one in the
add-contact dialog, where the person reads who the invite is from and confirms. Nothing is ever
added without that click.
"""

from __future__ import annotations

from parley.ui.main_window import MainWindow
from parley.ui.session import AccountSession
from parley.ui.single_instance import Request
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget


class LinkRouter(QObject):
    """Delivers requests to one session's window, waiting for it when it is not open yet."""

    def __init__(self, session: AccountSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.pending: list[str] = []
        session.window_ready.connect(self._window_ready)

    def handle(self, request: Request) -> None:
        """A second start: bring Parley to the front and offer its link, if any."""
        front: QWidget | None = self.session.window
        if front is None:
            front = self.session.dialog  # onboarding or unlock: the link waits behind it
        if front is not None:
            _to_front(front)
        if request.link is not None:
            self.offer(request.link)

    def offer(self, link: str) -> None:
        """Show ``link`` in the add-contact dialog now, or as soon as the window opens."""
        self.pending.append(link)
        if self.session.window is not None:
            self._deliver(self.session.window)

    def _window_ready(self, window: MainWindow) -> None:
        self._deliver(window)

    def _deliver(self, window: MainWindow) -> None:
        links, self.pending = self.pending, []
        for link in links:
            window.offer_invite(link)


def _to_front(widget: QWidget) -> None:
    if widget.isMinimized():
        widget.showNormal()
    widget.raise_()
    widget.activateWindow()
