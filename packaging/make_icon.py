"""Render an SVG (resources/parley.svg) to the icon files of the Windows and macOS bundles: Qt draws
the SVG, Pillow writes the file. `python make_icon.py SVG OUT.ico` (16-256 px in one .ico) or
`python make_icon.py SVG OUT.png SIZE` (one PNG, for a macOS .iconset). Run by the workflows."""

import io
import sys

from PIL import Image
from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer


def main() -> None:
    svg, out = sys.argv[1], sys.argv[2]
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 256
    app = QGuiApplication(["make_icon", "-platform", "offscreen"])
    renderer = QSvgRenderer(svg)
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(0)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    picture = Image.open(io.BytesIO(bytes(data.data())))
    if out.endswith(".ico"):
        picture.save(out, sizes=[(s, s) for s in (16, 32, 48, 256)])
    else:
        picture.save(out)
    del app


if __name__ == "__main__":
    main()
