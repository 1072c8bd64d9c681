"""The large drop target, and reading images out of dropped or pasted data.

The zone is a real push button: it takes focus, screen readers call it a button, and Enter or
Space opens the file dialog, so the mouse-only gesture (dragging) has a keyboard twin.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QFont, QImage, QPixmap
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from desktop.imaging import ImageSource, looks_like_image_file, qimage_to_pil

OFFLINE = ("Lumen works offline and does not download pictures from the web; save the picture, "
           "then drop or open the file.")
NOT_IMAGE = "That is not a picture; drop or paste an image file or a copied image."
TITLE = "Drop pictures here"
ANOTHER = "Drop another picture here"
HINT = "or press Enter to open one (Ctrl+O), or paste one (Ctrl+V)"


def _files_in(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if looks_like_image_file(p))
    return [path]


def sources_from_mime(mime: QMimeData, kind: str = "drop") -> tuple[list[ImageSource], str]:
    """The images in dropped or pasted data, in order, and why there are none when so.

    File URLs come first (several files are described in turn); a folder gives the pictures in
    it; image data (a copied picture, an image dragged from a browser) comes next; then text
    holding a file path or file URL.
    """
    files: list[Path] = []
    remote = False
    for url in mime.urls() if mime.hasUrls() else []:
        if url.isLocalFile():
            files.extend(_files_in(Path(url.toLocalFile())))
        elif url.scheme() in ("http", "https", "ftp"):
            remote = True
    if not files and mime.hasText():
        for line in mime.text().splitlines():
            line = line.strip()
            url = QUrl(line)
            path = Path(url.toLocalFile()) if url.isLocalFile() else Path(line).expanduser()
            if line and path.exists():
                files.extend(_files_in(path))
    if files:
        return [ImageSource(str(p), p, "file") for p in files], ""
    if mime.hasImage():
        image = QImage(mime.imageData())
        if not image.isNull():
            label = "clipboard" if kind == "clipboard" else "dropped image"
            return [ImageSource(label, qimage_to_pil(image), "clipboard")], ""
    return [], OFFLINE if remote else NOT_IMAGE


class DropZone(QPushButton):
    """Accepts drops; `dropped` carries the images, `rejected` a one-sentence reason."""

    dropped = Signal(list)
    rejected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dropZone")
        self.setAcceptDrops(True)
        self.setAccessibleName("Drop zone: open a picture")
        self.setAccessibleDescription(
            "Drop picture files here, or press Enter to open one. Ctrl+V pastes a picture."
        )
        self.setToolTip("Drop pictures here, or click to open one")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        self._thumb = QLabel()
        self._thumb.setObjectName("thumbnail")
        self._thumb.hide()
        self._now = QLabel()
        self._now.hide()
        self._title = QLabel(TITLE)
        self._text = QLabel(HINT)
        for child in (self._thumb, self._now, self._title, self._text):
            child.setAlignment(Qt.AlignmentFlag.AlignCenter)
            child.setWordWrap(child is not self._thumb)
            child.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            centred = Qt.AlignmentFlag.AlignHCenter if child is self._thumb else Qt.AlignmentFlag(0)
            layout.addWidget(child, 0, centred)
        layout.insertStretch(0, 1)
        layout.addStretch(1)

    def apply_font(self, base: QFont) -> None:
        """The prompt reads larger than the rest; call after the theme sets the base size."""
        title = QFont(base)
        title.setPointSizeF(base.pointSizeF() * 1.35)
        title.setBold(True)
        self._title.setFont(title)
        now = QFont(base)
        now.setBold(True)
        self._now.setFont(now)

    def sizeHint(self) -> QSize:
        return self.layout().totalSizeHint().expandedTo(QSize(320, 160))

    def minimumSizeHint(self) -> QSize:
        return self.layout().totalMinimumSize()

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self.layout().totalHeightForWidth(width)

    def show_thumbnail(self, pixmap: QPixmap | None, caption: str = "") -> None:
        """Show what is being described (for sighted helpers and low-vision users)."""
        has_picture = pixmap is not None and not pixmap.isNull()
        if has_picture:
            self._thumb.setPixmap(pixmap)
        else:
            self._thumb.clear()
        self._thumb.setVisible(has_picture)
        self._now.setText(f"Now: {caption}" if caption else "")
        self._now.setVisible(bool(caption))
        self._title.setText(ANOTHER if has_picture or caption else TITLE)

    def _set_dragging(self, on: bool) -> None:
        self.setProperty("dragging", "true" if on else "false")
        self.style().unpolish(self)
        self.style().polish(self)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        mime = event.mimeData()
        if mime.hasUrls() or mime.hasImage() or mime.hasText():
            self._set_dragging(True)
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        event.acceptProposedAction()

    def dragLeaveEvent(self, event) -> None:  # noqa: ANN001 - QDragLeaveEvent
        self._set_dragging(False)

    def dropEvent(self, event: QDropEvent) -> None:
        self._set_dragging(False)
        sources, reason = sources_from_mime(event.mimeData())
        event.acceptProposedAction()
        if sources:
            self.dropped.emit(sources)
        else:
            self.rejected.emit(reason)
