"""Shared by the GUI tests (tests/test_gui_*.py): environment, pictures, a speech recorder, the
window with the tiny model, and ways to drop, paste and wait for results."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from desktop.work.window_describer import result_text
from models.results import DescribeOptions

# Must be set before pytest-qt creates the QApplication.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
TIMEOUT_MS = 90_000


def isolate(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
    """Settings, history, autostart, caches and the instance socket all inside `tmp`."""
    monkeypatch.setenv("LUMEN_CONFIG_DIR", str(tmp / "config"))
    monkeypatch.setenv("LUMEN_DATA_DIR", str(tmp / "data"))
    monkeypatch.setenv("LUMEN_INSTANCE", str(tmp / "lumen.sock"))
    monkeypatch.setenv("LUMEN_MODELS_DIR", str(tmp / "models"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp / "xdg-config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp / "xdg-cache"))
    # The screen reader is chosen, not detected: an Orca started by another test must not count.
    monkeypatch.setenv("LUMEN_SCREEN_READER", "none")
    # No global shortcuts in the offscreen tests: the Xvfb test covers the real ones.
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)


def picture(path: Path, colour: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (96, 72)) -> Path:
    """A small picture with a shape on it, saved as PNG (or by suffix)."""
    img = Image.new("RGB", size, colour)
    w, h = size
    ImageDraw.Draw(img).ellipse((w // 4, h // 4, w * 3 // 4, h * 3 // 4), fill=(250, 250, 250))
    img.save(path)
    return path


class RecordingSpeaker:
    """Stands in for services.speech.Speaker: records what Lumen would have said, silently."""

    available = True
    unavailable_reason = None
    speaking = False  # says nothing aloud, so never still speaking

    def __init__(self) -> None:
        self.said: list[tuple[str, str | None]] = []
        self.stops = 0

    def say(self, text: str, language: str | None = None) -> None:
        self.said.append((text, language))

    def say_more(self, text: str, language: str | None = None) -> None:
        self.said.append((text, language))

    def stop(self) -> None:
        self.stops += 1

    def repeat(self) -> None:
        if self.said:
            self.said.append(self.said[-1])

    def voices(self) -> list:
        return []

    def set_voice(self, voice_id: str | None) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def reference(tiny_florence2_onnx: Path):
    """The engine on its own, to know what the window should show."""
    from models.captioner import Captioner

    return Captioner.load(tiny_florence2_onnx, threads=1)


def expected(reference, image, task: str = "caption", detail: str = "brief") -> str:
    return result_text(reference.describe(image, DescribeOptions(task=task, detail=detail)))


@pytest.fixture
def make_window(qtbot, tmp_path, monkeypatch, tiny_florence2_onnx):
    isolate(monkeypatch, tmp_path)
    made = []

    def make(model: Path | None = tiny_florence2_onnx, wait_ready: bool = True, **settings):
        from desktop.window.main_window import MainWindow
        from desktop.settings import Settings
        from desktop.speech.voice import LumenVoice

        speaker = RecordingSpeaker()
        window = MainWindow(Settings(global_hotkeys=False, **settings), model, voice=LumenVoice(speaker),
                            history_root=tmp_path / "history")
        window.speaker = speaker
        made.append(window)
        window.show()
        window.start(open_setup=False)
        if wait_ready and model is not None:
            qtbot.waitUntil(lambda: window.engine.state == "ready", timeout=TIMEOUT_MS)
        return window

    yield make
    for window in made:
        window.shutdown()
        window.hide()
        window.deleteLater()


def wait_result(qtbot, window, trigger):
    with qtbot.waitSignal(window.result_ready, timeout=TIMEOUT_MS) as blocker:
        trigger()
    return blocker.args[0]


def drop(widget, mime: QMimeData) -> None:
    centre = widget.rect().center()
    QApplication.sendEvent(widget, QDragEnterEvent(centre, Qt.DropAction.CopyAction, mime,
                                                   Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    QApplication.sendEvent(widget, QDropEvent(QPointF(centre), Qt.DropAction.CopyAction, mime,
                                              Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))


def ctrl(qtbot, widget, key: Qt.Key) -> None:
    qtbot.keyClick(widget, key, Qt.KeyboardModifier.ControlModifier)


def file_mime(*paths: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime
