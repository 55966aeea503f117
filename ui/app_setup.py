"""The QApplication every entry point (app, demo, screenshots, bench) starts the same way."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence

from parley.ui.errors import StartupFailed
from parley.ui.fonts import ensure_emoji_font
from parley.ui.resources import app_icon, stylesheet
from parley.ui.theme import follow_system_theme
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


def make_application(argv: Sequence[str] = ()) -> QApplication:
    """The application object, named and styled; the caller quits it explicitly.

    ``quitOnLastWindowClosed`` is off because locking closes the main window before the unlock
    dialog opens; sessions quit the app when the person closes a window or cancels.
    """
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    has_display = any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))
    if sys.platform.startswith("linux") and not has_display:
        raise StartupFailed(
            "No display found: run Parley in a desktop session (or set QT_QPA_PLATFORM)."
        )
    # The GUI thread calls into Python for every row it lays out or paints (the delegates); while
    # the core thread is busy (a catch-up), each call waits for the GIL up to the switch interval.
    # 1 ms instead of 5 ms keeps those waits from adding up to a visible stall.
    sys.setswitchinterval(0.001)
    app = QApplication(["parley", *argv])
    app.setApplicationName("Parley")
    app.setApplicationDisplayName("Parley")
    app.setOrganizationName("Parley")
    app.setDesktopFileName("parley")
    app.setWindowIcon(app_icon())
    app.setStyleSheet(stylesheet())
    ensure_emoji_font()  # the bundle's own emoji font when the system has none
    follow_system_theme(app)
    app.setQuitOnLastWindowClosed(False)
    return app


def quit_on_signals(app: QApplication) -> None:
    """Ctrl+C or SIGTERM quits cleanly (accounts closed, demo folders removed).

    Only the commands install this; tests and benches keep Python's own Ctrl+C.

    Python runs signal handlers only between bytecodes, and Qt's loop runs none while idle; a
    timer gives the interpreter a turn a few times a second.
    """
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda _signum, _frame: app.quit())
    ticker = QTimer(app)
    ticker.timeout.connect(lambda: None)
    ticker.start(250)
