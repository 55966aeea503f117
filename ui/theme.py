"""Light and dark, following the system: the palette Qt gives, or a dark Fusion palette when the
desktop says dark; the bubbles take their colours from whichever palette is in force."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

IN_BUBBLE_LIGHT = QColor("#e9e9eb")
IN_TEXT_LIGHT = QColor("#1b1b1b")
IN_BUBBLE_DARK = QColor("#3a3a3d")
IN_TEXT_DARK = QColor("#f2f2f2")


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def incoming_colours(palette: QPalette) -> tuple[QColor, QColor]:
    """(bubble, text) for the other side's messages under ``palette``."""
    if is_dark(palette):
        return IN_BUBBLE_DARK, IN_TEXT_DARK
    return IN_BUBBLE_LIGHT, IN_TEXT_LIGHT


def dark_palette() -> QPalette:
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#202124",
        QPalette.ColorRole.WindowText: "#e8eaed",
        QPalette.ColorRole.Base: "#17181a",
        QPalette.ColorRole.AlternateBase: "#2a2b2e",
        QPalette.ColorRole.Text: "#e8eaed",
        QPalette.ColorRole.Button: "#2a2b2e",
        QPalette.ColorRole.ButtonText: "#e8eaed",
        QPalette.ColorRole.Highlight: "#2c6bed",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#2a2b2e",
        QPalette.ColorRole.ToolTipText: "#e8eaed",
        QPalette.ColorRole.PlaceholderText: "#9aa0a6",
        QPalette.ColorRole.Link: "#8ab4f8",
    }
    for role, colour in roles.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6f7378"))
    return palette


def apply_theme(app: QApplication, scheme: Qt.ColorScheme) -> None:
    """Dark: Fusion with the dark palette (not every platform theme has one); otherwise the
    style's own palette."""
    if scheme == Qt.ColorScheme.Dark:
        app.setStyle("Fusion")
        app.setPalette(dark_palette())
    else:
        app.setPalette(app.style().standardPalette())


def follow_system_theme(app: QApplication) -> None:
    """Apply the desktop's colour scheme now and whenever it changes."""
    hints = QGuiApplication.styleHints()
    apply_theme(app, hints.colorScheme())
    hints.colorSchemeChanged.connect(lambda scheme: apply_theme(app, scheme))
