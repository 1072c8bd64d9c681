"""Where the PP-OCR models are: the `rapidocr-onnxruntime` 1.4.4 wheel's own models folder.

That wheel ships PP-OCRv4 detection and recognition and the PP-OCR mobile direction classifier
(Chinese and English, Apache-2.0) as plain ONNX files, so text reading needs no download. Lumen
only reads the files: the package is installed with `--no-deps` (its opencv-python would bring
Qt plugins that clash with PySide6's) and never imported. The one-folder bundle copies the files
to `ppocr/`; `LUMEN_OCR_DIR` points at any folder holding the same three files.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from models.errors import ModelFolderError

WHEEL = "rapidocr-onnxruntime==1.4.4"
INSTALL_HINT = (f"install the text reader's models with `pip install --no-deps {WHEEL}` "
                "(or `make install`)")
DETECT = "ch_PP-OCRv4_det_infer.onnx"
RECOGNIZE = "ch_PP-OCRv4_rec_infer.onnx"
DIRECTION = "ch_ppocr_mobile_v2.0_cls_infer.onnx"
FILES = (DETECT, RECOGNIZE, DIRECTION)
BUNDLE_DIR = "ppocr"  # inside the one-folder bundle (build.spec)


@dataclass(frozen=True)
class OcrFiles:
    folder: Path

    @property
    def detect(self) -> Path:
        return self.folder / DETECT

    @property
    def recognize(self) -> Path:
        return self.folder / RECOGNIZE

    @property
    def direction(self) -> Path:
        return self.folder / DIRECTION


def wheel_models_dir() -> Path | None:
    """rapidocr_onnxruntime/models, found without importing the package (its import needs cv2)."""
    try:
        spec = importlib.util.find_spec("rapidocr_onnxruntime")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def candidate_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("LUMEN_OCR_DIR"):
        dirs.append(Path(os.environ["LUMEN_OCR_DIR"]).expanduser())
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        dirs.append(Path(bundle) / BUNDLE_DIR)
    wheel = wheel_models_dir()
    if wheel is not None:
        dirs.append(wheel)
    return dirs


def find_ocr_files() -> OcrFiles:
    """The first folder ModelFolder opens as a complete PP-OCR family folder (models/families.py);
    ModelFolderError naming what to install if none."""
    from models.folder import ModelFolder

    dirs = candidate_dirs()
    for folder in dirs:
        try:
            ModelFolder.open(folder, family="ppocr")
        except ModelFolderError:
            continue
        return OcrFiles(folder)
    where = f" (looked in {', '.join(str(d) for d in dirs)})" if dirs else ""
    raise ModelFolderError(f"the text reader's models are missing{where}; {INSTALL_HINT}")


def ocr_available() -> bool:
    try:
        find_ocr_files()
    except ModelFolderError:
        return False
    return True
