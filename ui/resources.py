"""The app icon and stylesheet, read from the parley.resources package (works from a wheel too)."""

from __future__ import annotations

from importlib import resources

from PySide6.QtCore import QByteArray
from PySide6.QtGui import QIcon, QPixmap


def resource_bytes(name: str) -> bytes:
    return resources.files("parley.resources").joinpath(name).read_bytes()


def app_icon() -> QIcon:
    """The SVG icon rendered by Qt's image plugin at the sizes the desktop asks for."""
    pixmap = QPixmap()
    pixmap.loadFromData(QByteArray(resource_bytes("parley.svg")), "SVG")
    return QIcon(pixmap) if not pixmap.isNull() else QIcon()


def stylesheet() -> str:
    return resource_bytes("parley.qss").decode("utf-8")
