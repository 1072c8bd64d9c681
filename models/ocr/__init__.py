"""PP-OCR text reading (detection, direction, recognition, reading order) on ONNX Runtime.

The reader (and with it OpenCV, 45 MB) is imported on first use, not with the package: the
layout and result modules serve code that only handles text already read.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from models.ocr.files import OcrFiles, find_ocr_files, ocr_available
from models.ocr.layout import TextLine
from models.ocr.result import OcrResult

if TYPE_CHECKING:
    from models.ocr.reader import TextReader

__all__ = ["OcrFiles", "OcrResult", "TextLine", "TextReader", "find_ocr_files", "ocr_available", "open_reader"]


def __getattr__(name: str) -> Any:
    if name == "TextReader":
        from models.ocr.reader import TextReader

        return TextReader
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_reader(folder, config) -> TextReader:  # noqa: ANN001 - ModelFolder, SessionConfig
    """The PP-OCR family's adapter (models/families.py): a TextReader on an opened folder."""
    from models.ocr.reader import TextReader

    return TextReader(OcrFiles(folder.path), config)
