"""The window reads before it describes: the capture shortcuts' "auto" task names a blank screen
and reads a screen of text with PP-OCR (real weights) before any description model is installed;
F5 still asks for a caption. OpenCV (headless) is imported before Qt starts: no plugin clash."""
from __future__ import annotations

import importlib.metadata
import os

import cv2  # noqa: F401 - first, as the text reader imports it, before the QApplication exists
import pytest

from desktop.imaging import ImageSource
from desktop.work.caption_engine import NO_MODEL
from tests.support.gui_support import TIMEOUT_MS, make_window  # noqa: F401 - fixture
from tests.support.text_pages import blank, text_pages

pytestmark = pytest.mark.gui


def test_opencv_is_the_headless_build_without_qt_plugins() -> None:
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.distribution("opencv-python")  # its Qt plugins would fight PySide6's
    assert "cv2" not in os.environ.get("QT_QPA_PLATFORM_PLUGIN_PATH", "")
    assert "cv2" not in os.environ.get("QT_PLUGIN_PATH", "")


def _result(qtbot, window, source: ImageSource, task: str):
    with qtbot.waitSignal(window.result_ready, timeout=TIMEOUT_MS) as blocker:
        window.describer.describe(source, task)
    return blocker.args[0]


def test_capture_task_reads_text_and_names_blank_screens_without_a_model(qtbot, make_window) -> None:
    window = make_window(model=None)  # a first start: no description model installed
    dialog = text_pages()[6]
    result = _result(qtbot, window, ImageSource("screen", dialog.image, "screen"), "auto")
    assert result.caption.kind == "text" and result.caption.task == "ocr"
    assert result.text.startswith("A page of text:\nSave changes\n")
    assert result.text.endswith("Save\nDon't Save\nCancel")
    qtbot.waitUntil(lambda: any("Don't Save" in text for text, _ in window.speaker.said), timeout=TIMEOUT_MS)
    # Spoken as it was read, a line at a time (the intro first), not in one piece at the end.
    said = [text for text, _ in window.speaker.said]
    said = said[said.index("A page of text:"):]  # after the start-up notice (no model installed)
    assert said[1] == "Save changes" and len(said) > 3
    assert " ".join(" ".join(said).split()) == " ".join(result.text.split())

    black = _result(qtbot, window, ImageSource("screen", blank("black", noise=2), "screen"), "auto")
    assert (black.caption.kind, black.text) == ("blank", "The screen is black.")

    # F5 (describe again) forces a caption: without a description model that is a clear error.
    failures = []
    window.describer.failed.connect(lambda request, message: failures.append(message))
    window.again("caption")
    qtbot.waitUntil(lambda: bool(failures), timeout=TIMEOUT_MS)
    assert NO_MODEL in failures[0]


def test_f5_captions_a_page_the_shortcut_read(qtbot, make_window) -> None:
    window = make_window()  # the tiny Florence-2
    page = text_pages()[5]
    read = _result(qtbot, window, ImageSource("window", page.image, "window"), "auto")
    assert read.caption.kind == "text" and "Offline descriptions" in read.text
    with qtbot.waitSignal(window.result_ready, timeout=TIMEOUT_MS) as blocker:
        window.again("caption")
    again = blocker.args[0]
    assert again.caption.task == "caption" and again.caption.kind is None


def test_first_run_dialog_says_text_reading_already_works(qtbot, tmp_path) -> None:
    from PySide6.QtWidgets import QLabel

    from desktop.setup.model_setup import ModelSetupDialog
    from models.registry import Registry

    first = ModelSetupDialog(registry=Registry(tmp_path / "models"), providers=[])
    qtbot.addWidget(first)
    about = next(w for w in first.findChildren(QLabel) if w.accessibleName() == "About the model")
    assert "Reading text already works" in about.text()
    later = ModelSetupDialog(registry=Registry(tmp_path / "models"), providers=[], first_run=False)
    qtbot.addWidget(later)
    about = next(w for w in later.findChildren(QLabel) if w.accessibleName() == "About the model")
    assert "Reading text" not in about.text()
