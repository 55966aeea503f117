"""``parley --self-test``: the core checks (app/self_test.py), then what the app needs of Qt.

The Qt half catches a bundle that left out something the window uses: the platform plugin, the
image plugins for the formats people send (JPEG, GIF, WebP; PNG is built in) and for the SVG icon,
the icon engine, QtNetwork's local socket (one Parley per profile), and a colour emoji font
(the system's, or the one the Linux bundle carries: ui/fonts.py). Without a display it runs
on Qt's offscreen platform, so it works in CI and over ssh.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Sequence

from parley.app.errors import AppError
from parley.app.self_test import Report, SelfTestFailed, run

from parley import __version__
from parley.variant import config

IMAGE_FORMATS = ("png", "jpeg", "gif", "webp", "svg")


def _qt_checks(report: Report) -> None:
    if not any(os.environ.get(v) for v in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from parley.ui.fonts import emoji_is_coloured, ensure_emoji_font
    from parley.ui.resources import app_icon, stylesheet
    from parley.ui.widgets import qr_pixmap
    from PySide6.QtGui import QImageReader
    from PySide6.QtNetwork import QLocalServer
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication.instance() or QApplication(["parley"])  # kept alive until the end
    formats = {bytes(f.data()).decode() for f in QImageReader.supportedImageFormats()}
    missing = [f for f in IMAGE_FORMATS if f not in formats]
    if missing:
        raise SelfTestFailed(f"Qt cannot read {', '.join(missing)} pictures (no image plugin)")
    if app_icon().isNull() or qr_pixmap("parley self-test").isNull():
        raise SelfTestFailed("Qt could not draw the app icon or a QR code")
    label = QLabel("Parley")
    label.setStyleSheet(stylesheet())
    label.grab()  # renders a widget through the platform plugin
    server = QLocalServer()
    name = os.path.join(tempfile.gettempdir(), f"parley-self-test-{os.getpid()}")
    if not server.listen(name):
        raise SelfTestFailed(f"QtNetwork could not open a local socket: {server.errorString()}")
    server.close()
    emoji = ensure_emoji_font()
    if emoji is None:
        raise SelfTestFailed(
            "no colour emoji font: emoji would show as empty boxes (install Noto Color Emoji, "
            "Debian's fonts-noto-color-emoji)"
        )
    if not emoji_is_coloured():
        raise SelfTestFailed(f"the emoji font {emoji[0]} draws no colour")
    del app
    report.add(
        f"Qt platform {QApplication.platformName()}: widgets, icon, QR code, local socket; "
        f"pictures: {', '.join(IMAGE_FORMATS)}"
    )
    report.add(f"emoji drawn in colour by {emoji[0]} ({emoji[1]} font)")


def main(argv: Sequence[str] = ()) -> int:
    """Run every check, print what was done; 0 when all passed, 1 otherwise."""
    if argv:
        print("usage: parley --self-test", file=sys.stderr)
        return 2
    started = time.monotonic()
    built = config()
    print(
        f"parley self-test: parley {__version__}, {built.variant} build, "
        f"authority key id: {built.authority_key_id or 'none'}"
    )
    try:
        report = run()
        _qt_checks(report)
    except AppError as exc:
        print(f"parley self-test: FAILED: {exc}", file=sys.stderr)
        return 1
    for line in report.steps:
        print(f"  ok  {line}")
    print(f"parley self-test: passed in {time.monotonic() - started:.2f} s")
    return 0
