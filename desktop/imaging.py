"""Images as the desktop app passes them around, and conversion from Qt's image types."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from PySide6.QtGui import QImage

IMAGE_SUFFIXES = (
    ".png", ".jpg", ".jpeg", ".jpe", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".ico",
    ".ppm", ".pgm", ".pbm", ".tga", ".jp2", ".avif", ".heic",
)


@dataclass(frozen=True)
class ImageSource:
    """One image to describe.

    `label` names it for people and for `--json` ("image" field): a file path, or "screen",
    "window", "region", "clipboard". `data` is what the Captioner accepts.
    """

    label: str
    data: str | Path | bytes | Image.Image
    kind: str = "file"  # file, clipboard, screen, window, region, page (of a document)
    # A document's page (kind "page"): `data` is the rendered page, these say where it came from.
    document: Path | None = None
    page: int = 0  # 1-based
    pages: int = 0
    password: str | None = None

    @property
    def heading(self) -> str:
        """"Page 2 of 5" for a document's page, "" otherwise."""
        return f"Page {self.page} of {self.pages}" if self.kind == "page" else ""

    @property
    def display_name(self) -> str:
        if self.kind == "page" and self.document is not None:
            return f"{self.document.name}, page {self.page} of {self.pages}"
        if isinstance(self.data, Path):
            return self.data.name
        names = {"clipboard": "the pasted image", "screen": "the screen",
                 "window": "the active window", "region": "the screen region"}
        return names.get(self.kind, self.label)


# A screen grab is RGB32: 0xffRRGGBB words, so bytes B, G, R, 255 on a little-endian machine.
_RGB32_RAW = "BGRX" if sys.byteorder == "little" else "XRGB"


def qimage_to_pil(image: QImage) -> Image.Image:
    """Copy a QImage into a PIL RGB image at its full (device pixel) resolution."""
    if image.format() == QImage.Format.Format_RGB32 and not image.isNull():
        # Decoded by PIL straight from the grab's own pixels into a new RGB picture: a 3840 x
        # 2160 screen held 108 MB at once the other way (the grab, an RGB888 conversion, a
        # bytes copy and PIL's copy of that), 58 MB this way.
        return Image.frombytes("RGB", (image.width(), image.height()), image.constBits(), "raw",
                               _RGB32_RAW, image.bytesPerLine(), 1)
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = rgb.width(), rgb.height(), rgb.bytesPerLine()
    data = bytes(rgb.constBits())  # copied: the QImage may go away
    return Image.frombuffer("RGB", (width, height), data, "raw", "RGB", stride, 1).copy()


def looks_like_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES
