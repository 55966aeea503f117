"""Emoji in messages are drawn, not empty boxes: a colour emoji font is installed (setup.sh)."""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontDatabase, QFontMetrics
from pytestqt.qtbot import QtBot


def test_a_colour_emoji_font_is_there_and_covers_common_emoji(qtbot: QtBot) -> None:
    families = QFontDatabase.families()
    assert "Noto Color Emoji" in families, "scripts/setup.sh installs fonts-noto-color-emoji"
    metrics = QFontMetrics(QFont("Noto Color Emoji"))
    for emoji in ("\U0001f600", "\U0001f44d", "\u2764"):
        assert metrics.inFontUcs4(ord(emoji)), hex(ord(emoji))
