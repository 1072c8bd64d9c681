"""Text still being written reaches the description a few times a second at most, and never
the focused description while a screen reader runs (a flood of accessibility events puts Orca
seconds behind; tests/test_gui_orca.py counts the events with the real Orca)."""
from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QTimer

from desktop.work.window_describer import Request
from desktop.imaging import ImageSource
from desktop.results.results_controller import PARTIAL_MS
from models.results import DescribeOptions
from tests.support.gui_support import make_window  # noqa: F401 - fixture

pytestmark = pytest.mark.gui


def _stream(qtbot, window, request: Request, words: int = 60, every_ms: int = 10) -> tuple[list[str], float]:
    """Feed `words` growing partial texts, one every `every_ms`: what the description showed,
    and how long the stream took (longer than planned on a busy machine)."""
    shown: list[str] = []
    window.result_view.text_box.textChanged.connect(lambda: shown.append(window.result_view.text_box.toPlainText()))
    text = []
    timer = QTimer()

    def tick() -> None:
        text.append(f"word{len(text)}")
        window.result_flow.partial(request, " ".join(text))
        if len(text) == words:
            timer.stop()

    timer.timeout.connect(tick)
    started = time.monotonic()
    timer.start(every_ms)
    qtbot.waitUntil(lambda: len(text) == words, timeout=30_000)
    took = time.monotonic() - started
    qtbot.wait(PARTIAL_MS * 2)
    return shown, took


def test_streamed_text_is_coalesced_and_kept_off_a_screen_readers_focus(make_window, qtbot):
    window = make_window(model=None)
    request = Request(1, ImageSource("a.png", "a.png", "file"), DescribeOptions())
    window.describer.active = request
    window.result_flow.started(request)
    shown, took = _stream(qtbot, window, request)
    # 60 updates in about 0.6 s: one per PARTIAL_MS reaches the box, and the last one.
    assert 1 <= len(shown) <= took * 1000 / PARTIAL_MS + 2, (len(shown), took)
    assert shown[-1].startswith("word0") and "word59" in shown[-1]

    window.reader_link.reader = "Orca"  # as when Orca is found running
    window.activateWindow()
    window.result_flow.started(request)  # focus moves to the description first
    assert window.result_view.text_box.hasFocus() or window.focusWidget() is window.result_view.text_box
    before = window.result_view.text_box.toPlainText()
    shown, _ = _stream(qtbot, window, request)
    assert shown == [] and window.result_view.text_box.toPlainText() == before == "a.png:\nDescribing a.png…"
    assert "word59" in window.status_label.text()  # seen in the status line instead
    window.describer.active = None
