"""PP-OCR text reading (detection, direction, recognition, reading order) on ONNX Runtime."""
from models.ocr.files import OcrFiles, find_ocr_files, ocr_available
from models.ocr.layout import TextLine
from models.ocr.reader import OcrResult, TextReader

__all__ = ["OcrFiles", "OcrResult", "TextLine", "TextReader", "find_ocr_files", "ocr_available", "open_reader"]


def open_reader(folder, config) -> TextReader:  # noqa: ANN001 - ModelFolder, SessionConfig
    """The PP-OCR family's adapter (models/families.py): a TextReader on an opened folder."""
    return TextReader(OcrFiles(folder.path), config)
