"""The window's stall marks: the GUI thread held 300 ms is marked once, about that long; an idle
loop is not marked; and nothing runs unless the latency trace is on."""
from __future__ import annotations

import time

import pytest

from services import latency_trace
from tests.support import gui_support  # noqa: F401  (Qt offscreen)

pytestmark = pytest.mark.gui


def test_a_held_gui_thread_is_marked_and_an_idle_one_is_not(qtbot, tmp_path, monkeypatch) -> None:
    from PySide6.QtCore import QTimer

    from desktop.window.stall_watch import StallWatch

    trace = tmp_path / "trace.jsonl"
    monkeypatch.setenv(latency_trace.ENV, str(trace))
    watch = StallWatch()
    qtbot.wait(500)  # idle: no mark
    idle = [e for e in latency_trace.read(trace) if e["event"] == "gui_stall"]
    held_from = time.monotonic()
    QTimer.singleShot(0, lambda: time.sleep(0.3))
    qtbot.wait(300)
    qtbot.waitUntil(lambda: any(e["event"] == "gui_stall" for e in latency_trace.read(trace)), timeout=5000)
    stalls = [e for e in latency_trace.read(trace) if e["event"] == "gui_stall"]
    assert idle == [] or max(e["ms"] for e in idle) < 200  # a busy CI machine may delay a tick
    held = [e for e in stalls if e["since"] >= held_from - 0.05]
    assert len(held) == 1 and 250 <= held[0]["ms"] <= 2000, stalls
    del watch


def test_nothing_runs_without_the_trace(qtbot, monkeypatch) -> None:
    from desktop.window.stall_watch import StallWatch

    monkeypatch.delenv(latency_trace.ENV, raising=False)
    assert not StallWatch()._timer.isActive()
