"""A colour emoji font for messages: the system's, or the one the Linux bundle carries.

Without one, Qt draws every emoji as an empty box. Desktops normally have one (Debian's
fonts-noto-color-emoji, which the .deb depends on; Apple Color Emoji; Segoe UI Emoji). The
PyInstaller bundle for Linux also carries Noto Color Emoji with its licence in
``parley/resources/fonts/`` (packaging/installers.py puts it there; the wheel and the .deb do not),
and ``ensure_emoji_font`` registers it only when the system has none (docs/packaging.md).
"""

from __future__ import annotations

from importlib import resources

from PySide6.QtGui import QFont, QFontDatabase, QFontMetrics
from PySide6.QtWidgets import QLabel

#: The font the Linux bundle carries, under parley/resources/fonts/.
BUNDLED_FONT = "NotoColorEmoji.ttf"
#: The colour emoji families of the usual desktops, looked for first (a family whose name says
#: "emoji" counts too).
KNOWN_FAMILIES = (
    "Noto Color Emoji",
    "Apple Color Emoji",
    "Segoe UI Emoji",
    "Twemoji",
    "JoyPixels",
    "EmojiOne Color",
)
#: What an emoji font must draw: a face, a thumb and a heart (the last has a text form too).
PROBES = ("\U0001f600", "\U0001f44d", "\u2764")


def _covers(family: str) -> bool:
    metrics = QFontMetrics(QFont(family))
    return all(metrics.inFontUcs4(ord(probe)) for probe in PROBES)


def system_emoji_family() -> str | None:
    """The installed colour emoji family (application fonts included), or None."""
    families = QFontDatabase.families()
    candidates = [f for f in KNOWN_FAMILIES if f in families]
    candidates += [f for f in families if "emoji" in f.lower() and f not in candidates]
    return next((family for family in candidates if _covers(family)), None)


def bundled_font_bytes() -> bytes | None:
    """The font file the bundle carries, or None (a wheel, a .deb, a development checkout)."""
    try:
        path = resources.files("parley.resources").joinpath("fonts", BUNDLED_FONT)
        return path.read_bytes() if path.is_file() else None
    except (FileNotFoundError, ModuleNotFoundError, NotADirectoryError):
        return None


def ensure_emoji_font() -> tuple[str, str] | None:
    """Make sure emoji are drawn: (family, "system" or "bundled"), or None when there is none.

    Needs a QGuiApplication. The bundled font is registered only when the system has no emoji
    font, so that an installed (and updated) system font always wins.
    """
    family = system_emoji_family()
    if family is not None:
        return family, "system"
    data = bundled_font_bytes()
    if data is None:
        return None
    font_id = QFontDatabase.addApplicationFontFromData(data)
    families = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
    if not families:
        return None
    # Qt (6.9+) then falls back to it for emoji in any font, as it does to a system one.
    QFontDatabase.addApplicationEmojiFontFamily(families[0])
    return families[0], "bundled"


def emoji_is_coloured(text: str = PROBES[0], size: int = 32) -> bool:
    """Show ``text`` in a QLabel (black on white, the app's default font), grab it, and say
    whether colour came out: an empty box or a monochrome glyph gives only greys."""
    label = QLabel(text)
    label.setStyleSheet(f"background: white; color: black; font-size: {size}px; padding: 4px")
    label.adjustSize()
    image = label.grab().toImage()
    coloured = 0
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            pixel = image.pixelColor(x, y)
            if pixel.hsvSaturation() > 80 and pixel.value() > 40:
                coloured += 1
    return coloured >= 10
