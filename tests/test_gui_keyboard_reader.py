"""The window for someone who uses the keyboard and a screen reader, or a large text size.

After opening a picture the start of the work is announced and the arrow keys read the result
at once (not 11 Tabs away); text streaming in later must not throw a reader back to the top;
notices that Tab never reaches are announced; long messages are shown in full.
"""
from __future__ import annotations

import pytest
from tests.support.gui_support import (  # noqa: F401 - fixtures
    TIMEOUT_MS, RecordingSpeaker, isolate, make_window, picture, wait_result,
)

from desktop.work.window_describer import Request, Result
from desktop.imaging import ImageSource
from desktop.results.result_view import ResultView
from models.results import Caption, DescribeOptions

pytestmark = pytest.mark.gui


def source(path) -> ImageSource:
    return ImageSource(str(path), path, "file")


def test_the_result_takes_the_focus_after_a_description_and_an_error(make_window, qtbot, tmp_path):
    window = make_window()
    window.activateWindow()
    heard: list[str] = []
    window.announcer.announced.connect(lambda message, assertive: heard.append(message))
    box = window.result_view.text_box
    path = picture(tmp_path / "red.png")
    window.capture_buttons[0].setFocus()  # "Open…", as after the file dialog closes
    result = wait_result(qtbot, window, lambda: window.describe_sources([source(path)]))
    assert window.focusWidget() is box
    # Silence while the model works is confusing: the start is announced, then the result.
    assert heard.index("Describing red.png…") < heard.index(result.speech)

    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    window.capture_buttons[1].setFocus()
    with qtbot.waitSignal(window.error_shown, timeout=TIMEOUT_MS):
        window.describe_sources([source(bad)])
    assert window.focusWidget() is box and "notes.png" in box.toPlainText()


def test_focus_in_history_stays_there(make_window, qtbot, tmp_path):
    window = make_window(history=True)
    window.activateWindow()
    window.history.toggle()
    assert window.focusWidget() is window.history_panel.list
    wait_result(qtbot, window, lambda: window.describe_sources([source(picture(tmp_path / "a.png"))]))
    assert window.focusWidget() is window.history_panel.list


def _request(index: int, total: int, name: str) -> Request:
    return Request(index, ImageSource(name, name, "file"), DescribeOptions(), index, total)


def _result(request: Request, text: str) -> Result:
    return Result(request, Caption(text, [], 0.9), text)


def test_reading_the_first_result_keeps_its_place_while_the_next_streams_in(qtbot):
    view = ResultView()
    qtbot.addWidget(view)
    first, second = _request(1, 2, "a.png"), _request(2, 2, "b.png")
    view.begin(first)
    view.finish(_result(first, "A red square on a white table."))
    cursor = view.text_box.textCursor()
    cursor.setPosition(view.text_box.toPlainText().index("white"))
    view.text_box.setTextCursor(cursor)
    place = cursor.position()

    view.begin(second)
    for partial in ("A", "A blue", "A blue circle"):
        view.set_partial(partial)
        assert view.text_box.textCursor().position() == place
    view.finish(_result(second, "A blue circle."))
    assert view.text_box.textCursor().position() == place
    assert view.text_box.toPlainText().endswith("A blue circle.")

    again = _request(1, 1, "c.png")  # a new picture: a fresh page, read from the top
    view.begin(again)
    view.finish(_result(again, "A green triangle."))
    assert view.text_box.textCursor().position() == 0


def test_global_shortcuts_that_cannot_work_are_announced_once(qtbot, tmp_path, monkeypatch):
    """The notice is a label Tab never reaches: a screen reader must hear it."""
    from desktop.window.main_window import MainWindow
    from desktop.settings import Settings
    from desktop.speech.voice import LumenVoice

    isolate(monkeypatch, tmp_path)
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    window = MainWindow(Settings(), None, voice=LumenVoice(RecordingSpeaker()), history_root=tmp_path / "h")
    heard: list[str] = []
    window.announcer.announced.connect(lambda message, assertive: heard.append(message))
    window.show()
    try:
        window.start(open_setup=False)
        window.shortcuts.restart()  # as after Settings: the same notice is not said again
        about = [m for m in heard if "Wayland" in m]
        assert len(about) == 1 and "lumen capture" in about[0]
    finally:
        window.shutdown()
        window.hide()


def test_a_long_setup_error_is_shown_in_full(qtbot, tmp_path, no_network):
    import socket

    from PySide6.QtCore import Qt

    from desktop.setup.model_setup import ModelSetupDialog
    from models.registry import Registry

    with socket.socket() as s:  # a local port nobody listens on: the download is refused
        s.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{s.getsockname()[1]}"
    dialog = ModelSetupDialog(registry=Registry(tmp_path / "models"), endpoint=endpoint,
                              providers=["CPUExecutionProvider"])
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClick(dialog.install_button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: dialog.install_button.isEnabled(), timeout=TIMEOUT_MS)
    qtbot.wait(20)
    status = dialog.status
    assert "Could not download" in status.text() and len(status.text()) > 150
    assert status.height() >= status.heightForWidth(status.width())
