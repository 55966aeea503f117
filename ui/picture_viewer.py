"""A picture at full size: zoom (buttons, Ctrl+= / Ctrl+- / Ctrl+0 / Ctrl+1, Ctrl+wheel) and Save.

The core decrypts the picture into memory for showing; nothing is written to disk to show it.
Save… is the one place a picture leaves the encrypted store in the clear, and only by the user's
explicit act: the core decrypts it again and writes exactly the bytes that were received (or
sent) to the file the user chose (app/attachments.py ``write_file``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from parley.app.events import AttachmentView
from parley.ui.bridge import CoreBridge
from parley.ui.thumbnails import image_from_bytes
from parley.ui.widgets import ErrorLabel, keep_whole, named
from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QImage, QKeySequence, QPixmap, QShortcut, QWheelEvent
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

ZOOM_STEP = 1.25
MIN_ZOOM = 0.05
MAX_ZOOM = 8.0
#: The zoomed picture is a pixmap of its own: its longer side stays under this many pixels, so
#: that zooming a large picture cannot take gigabytes of memory.
MAX_ZOOMED_SIDE = 12_000
SUFFIXES = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


class PictureViewer(QDialog):
    """The full picture in a scroll area, with zoom and Save…; Escape closes it."""

    def __init__(
        self, bridge: CoreBridge, attachment: AttachmentView, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self.attachment = attachment
        self.setWindowTitle(attachment.file_name or "Picture")
        named(self, f"Picture {attachment.file_name}")
        keep_whole(self)
        self.resize(min(1000, attachment.width + 40), min(760, attachment.height + 100))
        self.source: QImage | None = None
        self.zoom = 1.0
        self.fitting = True  # follow the window's size until the user picks a zoom
        self.save_dialog: QFileDialog | None = None

        self.zoom_out = self._button("\u2212", "Zoom out", "Zoom out (Ctrl+-)")
        self.zoom_in = self._button("+", "Zoom in", "Zoom in (Ctrl+=)")
        self.fit = self._button("Fit", "Fit to window", "Fit the picture to the window (Ctrl+0)")
        self.actual = self._button("100%", "Actual size", "Show every pixel (Ctrl+1)")
        self.zoom_label = named(QLabel("", self), "Zoom")
        self.save = self._button("Save…", "Save picture", "Save the picture to a file (Ctrl+S)")
        tools = QHBoxLayout()
        for widget in (self.zoom_out, self.zoom_in, self.fit, self.actual, self.zoom_label):
            tools.addWidget(widget)
        tools.addStretch(1)
        tools.addWidget(self.save)

        self.image = named(QLabel("Loading…", self), f"Picture {attachment.file_name}")
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.area = named(QScrollArea(self), "Picture")
        self.area.setWidget(self.image)
        # The label is sized here (``_place``): the picture's size or the viewport's, whichever is
        # larger, so that a small picture sits centred and the scroll range is known at once.
        self.area.setWidgetResizable(False)
        self.area.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.area.viewport().installEventFilter(self)
        self.saved = named(QLabel("", self), "Saved")
        self.saved.setWordWrap(True)
        self.saved.hide()
        self.error = ErrorLabel(self)
        layout = QVBoxLayout(self)
        layout.addLayout(tools)
        layout.addWidget(self.area, 1)
        layout.addWidget(self.saved)
        layout.addWidget(self.error)

        self.zoom_in.clicked.connect(lambda: self.zoom_by(ZOOM_STEP))
        self.zoom_out.clicked.connect(lambda: self.zoom_by(1 / ZOOM_STEP))
        self.fit.clicked.connect(self.fit_to_window)
        self.actual.clicked.connect(lambda: self.set_zoom(1.0))
        self.save.clicked.connect(lambda _checked=False: self.choose_file())
        shortcuts = (
            (QKeySequence.StandardKey.ZoomIn, lambda: self.zoom_by(ZOOM_STEP)),
            ("Ctrl+=", lambda: self.zoom_by(ZOOM_STEP)),
            (QKeySequence.StandardKey.ZoomOut, lambda: self.zoom_by(1 / ZOOM_STEP)),
            ("Ctrl+0", self.fit_to_window),
            ("Ctrl+1", lambda: self.set_zoom(1.0)),
            (QKeySequence.StandardKey.Save, self.choose_file),
            (QKeySequence.StandardKey.Close, self.reject),
        )
        for keys, slot in shortcuts:
            QShortcut(QKeySequence(keys), self, slot)
        self._enable(False)
        bridge.call(bridge.messenger.load_attachment(attachment.id), self._show, self._fail)

    def _button(self, text: str, name: str, description: str) -> QToolButton:
        button = named(QToolButton(self), name, description)
        button.setText(text)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        return button

    def _enable(self, on: bool) -> None:
        for button in (self.zoom_out, self.zoom_in, self.fit, self.actual, self.save):
            button.setEnabled(on)

    def _show(self, data: bytes) -> None:
        image = image_from_bytes(data)
        if image is None:
            self._fail("This picture could not be shown: it is not in a format Parley can read.")
            return
        self.source = image
        self.image.setText("")
        self._enable(True)
        self.fit_to_window()

    def _fail(self, message: str) -> None:
        self.image.setText("")
        self.error.show_message(message)

    # ---- zoom ----------------------------------------------------------------------------------

    def _max_zoom(self) -> float:
        if self.source is None:
            return MAX_ZOOM
        side = max(self.source.width(), self.source.height())
        return max(1.0, min(MAX_ZOOM, MAX_ZOOMED_SIDE / side))

    def _fit_zoom(self) -> float:
        """The zoom at which the whole picture shows (never enlarged beyond its pixels)."""
        if self.source is None:
            return 1.0
        room = self.area.maximumViewportSize()  # the room without scroll bars: they go
        return min(
            1.0,
            max(1, room.width() - 2) / self.source.width(),
            max(1, room.height() - 2) / self.source.height(),
        )

    def fit_to_window(self) -> None:
        self.fitting = True
        self._apply(self._fit_zoom())

    def set_zoom(self, zoom: float, anchor: QPoint | None = None) -> None:
        self.fitting = False
        self._apply(zoom, anchor)

    def zoom_by(self, factor: float, anchor: QPoint | None = None) -> None:
        self.set_zoom(self.zoom * factor, anchor)

    def _apply(self, zoom: float, anchor: QPoint | None = None) -> None:
        """Show the picture at ``zoom``, keeping the point under ``anchor`` (viewport
        coordinates, the mouse for Ctrl+wheel; the centre otherwise) where it was."""
        if self.source is None:
            return
        zoom = max(MIN_ZOOM, min(self._max_zoom(), zoom))
        old = self.zoom
        self.zoom = zoom
        smooth = zoom < 2  # enlarged far, show the pixels as pixels
        mode = (
            Qt.TransformationMode.SmoothTransformation
            if smooth
            else Qt.TransformationMode.FastTransformation
        )
        width = max(1, round(self.source.width() * zoom))
        height = max(1, round(self.source.height() * zoom))
        scaled = self.source.scaled(width, height, Qt.AspectRatioMode.IgnoreAspectRatio, mode)
        point = anchor or self.area.viewport().rect().center()
        bars = (self.area.horizontalScrollBar(), self.area.verticalScrollBar())
        before = (bars[0].value() + point.x(), bars[1].value() + point.y())
        self.image.setPixmap(QPixmap.fromImage(scaled))
        self._place()
        ratio = zoom / old if old else 1.0
        bars[0].setValue(round(before[0] * ratio - point.x()))
        bars[1].setValue(round(before[1] * ratio - point.y()))
        self.zoom_label.setText(f"{round(zoom * 100)}%")
        self.zoom_label.setAccessibleDescription(f"Zoom {round(zoom * 100)} percent")
        self.zoom_in.setEnabled(zoom < self._max_zoom())
        self.zoom_out.setEnabled(zoom > MIN_ZOOM)

    def _place(self) -> None:
        room = self.area.viewport().size()
        picture = self.image.pixmap().size()
        self.image.resize(max(room.width(), picture.width()), max(room.height(), picture.height()))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self.area.viewport():
            if event.type() == QEvent.Type.Resize:
                if self.fitting and self.source is not None:
                    self._apply(self._fit_zoom())
                else:
                    self._place()
            if (
                isinstance(event, QWheelEvent)
                and event.modifiers() & Qt.KeyboardModifier.ControlModifier
            ):
                steps = event.angleDelta().y() / 120
                if steps and self.source is not None:
                    self.zoom_by(ZOOM_STEP**steps, event.position().toPoint())
                return True  # Ctrl+wheel zooms, never scrolls
        return super().eventFilter(watched, event)

    # ---- save ----------------------------------------------------------------------------------

    def choose_file(self) -> QFileDialog | None:
        """Ask where to save (window-modal, not blocking), then have the core write it there."""
        if not self.save.isEnabled():
            return None

        def report(text: str, ok: bool) -> None:
            if ok:
                self.saved.setText(text)
                self.saved.setAccessibleDescription(text)
            self.saved.setVisible(ok)
            self.error.show_message("" if ok else text)

        self.save_dialog = ask_where_to_save(self._bridge, self.attachment, self, report)
        return self.save_dialog


def ask_where_to_save(
    bridge: CoreBridge,
    attachment: AttachmentView,
    parent: QWidget,
    report: Callable[[str, bool], None],
) -> QFileDialog:
    """The Save dialog for a picture (starting in ~/Pictures, else home, under its own name),
    then the core's decrypt-and-write to the chosen file; ``report(sentence, ok)`` tells how it
    went. Shared by the viewer and the message's context menu."""
    folder = Path.home() / "Pictures"
    if not folder.is_dir():
        folder = Path.home()
    suffix = SUFFIXES.get(attachment.mime_type, "png")
    name = Path(attachment.file_name or "picture").stem or "picture"
    dialog = QFileDialog(
        parent, "Save picture", str(folder / f"{name}.{suffix}"), f"Picture (*.{suffix})"
    )
    named(dialog, "Save picture as")
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setFileMode(QFileDialog.FileMode.AnyFile)
    dialog.setDefaultSuffix(suffix)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def chosen(where: str) -> None:
        path = Path(where)
        bridge.call(
            bridge.messenger.save_attachment(attachment.id, path),
            lambda _none: report(f"Saved to {path}.", True),
            lambda message: report(message, False),
        )

    dialog.fileSelected.connect(chosen)
    dialog.open()
    return dialog
