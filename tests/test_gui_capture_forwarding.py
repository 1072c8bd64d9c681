"""`lumen capture --speak/--lang` reach a running window: its capture answers with the result
spoken (even with Lumen's voice off) and translated into that language; and the capture
shortcuts' kind check names the (flat, offscreen) screen instead of captioning it."""
from __future__ import annotations

from pathlib import Path

import pytest

from desktop.window.launch import handle_request
from services.argos_install import install_translation_package
from tests.support.gui_support import TIMEOUT_MS, make_window  # noqa: F401 - fixture
from tests.support.tiny_argos import argosmodel_name

pytestmark = pytest.mark.gui


@pytest.fixture(autouse=True)
def black_screen(monkeypatch) -> None:
    """The offscreen platform's screen shows whatever windows earlier tests left alive: grab a
    black screen instead, so what is tested here is the forwarding, not the leftovers."""
    from PySide6.QtGui import QGuiApplication, QImage

    def grab(screen=None):  # noqa: ANN001, ANN202 - desktop.capture.grab.grab_screen's signature
        screen = screen or QGuiApplication.primaryScreen()
        image = QImage(screen.geometry().size(), QImage.Format.Format_RGB32)
        image.fill(0)
        return image, screen

    monkeypatch.setattr("desktop.capture.grab.grab_screen", grab)


def _capture(qtbot, window, **options) -> dict:
    answers: list[dict] = []
    handle_request(window, {"cmd": "capture", "kind": "screen", **options}, answers.append)
    qtbot.waitUntil(lambda: bool(answers), timeout=TIMEOUT_MS)
    return answers[0]


def test_speak_is_honoured_with_the_voice_off(qtbot, make_window) -> None:
    window = make_window(model=None, speak=False)
    plain = _capture(qtbot, window)
    assert plain["ok"], plain
    assert plain["result"]["kind"] == "blank"
    assert plain["result"]["caption"] == "The screen is black."
    assert not window.speaker.said  # the user's voice setting: off
    spoken = _capture(qtbot, window, speak=True)
    assert spoken["ok"], spoken
    assert window.speaker.said == [("The screen is black.", None)]


def test_lang_translates_the_result_and_says_it_in_that_language(qtbot, make_window, tiny_argos: Path,
                                                                 tmp_path: Path, monkeypatch) -> None:
    packages = tmp_path / "argos"
    install_translation_package(tiny_argos / argosmodel_name("en", "de"), packages, fetch_splitter=False)
    monkeypatch.setenv("ARGOS_PACKAGES_DIR", str(packages))
    window = make_window(model=None, speak=False)
    answer = _capture(qtbot, window, speak=True, lang="de")
    assert answer["ok"], answer
    data = answer["result"]
    assert answer["ok"] and data["language"] == "de" and data["caption"] == "The screen is black."
    assert data["text"] and data["text"] != data["caption"]  # the tiny random model's German
    assert window.speaker.said[-1] == (data["text"], "de")
