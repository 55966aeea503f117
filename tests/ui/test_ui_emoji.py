"""Emoji in messages are drawn in colour, not as empty boxes: a colour emoji font is there (the
system's, which scripts/setup.sh and the .deb install; or the one the Linux bundle carries,
registered by ui/fonts.py when the system has none: tests/test_installers.py runs that bundle on
a fontconfig without emoji fonts)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from parley.ui.fonts import emoji_is_coloured, ensure_emoji_font
from PySide6.QtGui import QFont, QFontDatabase, QFontMetrics
from pytestqt.qtbot import QtBot


def test_a_colour_emoji_font_is_there_and_covers_common_emoji(qtbot: QtBot) -> None:
    families = QFontDatabase.families()
    assert "Noto Color Emoji" in families, "scripts/setup.sh installs fonts-noto-color-emoji"
    metrics = QFontMetrics(QFont("Noto Color Emoji"))
    for emoji in ("\U0001f600", "\U0001f44d", "\u2764"):
        assert metrics.inFontUcs4(ord(emoji)), hex(ord(emoji))
    assert ensure_emoji_font() == ("Noto Color Emoji", "system")


def test_an_emoji_in_a_label_comes_out_in_colour_and_plain_text_does_not(qtbot: QtBot) -> None:
    assert emoji_is_coloured("\U0001f600")
    assert emoji_is_coloured("\U0001f44d")
    assert not emoji_is_coloured("plain text")
    assert not emoji_is_coloured("\u25a1")  # what a missing glyph looks like


def test_self_test_fails_clearly_on_a_desktop_without_any_emoji_font(tmp_path: Path) -> None:
    """A fontconfig that sees only DejaVu, and no bundled font (a development checkout): the
    check must notice, in one sentence. (The bundle passes the same run: test_installers.py.)"""
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        "  <dir>/usr/share/fonts/truetype/dejavu</dir>\n"
        f"  <cachedir>{tmp_path / 'fc-cache'}</cachedir>\n</fontconfig>\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "FONTCONFIG_FILE": str(conf)}
    done = subprocess.run(
        [sys.executable, "-m", "parley", "--self-test"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "parley self-test: FAILED: no colour emoji font: emoji would show as empty boxes "
        "(install Noto Color Emoji, Debian's fonts-noto-color-emoji)"
    )
