"""Wayland: the desktop's screenshot tool runs off the GUI thread (it can take seconds)."""
from __future__ import annotations

import os

import pytest
from PIL import Image
from PySide6.QtCore import QTimer

from desktop.capture import grab as capture
from desktop.capture.grab import Capturer
from desktop.imaging import ImageSource
from tests.support.gui_support import TIMEOUT_MS  # noqa: F401 - sets the offscreen platform

pytestmark = pytest.mark.gui


def test_a_wayland_screenshot_tool_runs_while_the_window_stays_responsive(qtbot, tmp_path, monkeypatch):
    shot = tmp_path / "shot.png"
    Image.new("RGB", (64, 48), (10, 200, 30)).save(shot)
    tools = tmp_path / "bin"
    tools.mkdir()
    grim = tools / "grim"  # like grim: writes the screen to the path it is given, after a while
    grim.write_text(f'#!/bin/sh\nsleep 1\ncp "{shot}" "$1"\n')
    grim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(capture, "_is_wayland", lambda: True)
    ticks: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(50)
    done: list[object] = []
    capturer = Capturer(hide_delay_ms=0)
    assert capturer.capture("screen", done.append, done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)
    timer.stop()
    source = done[0]
    assert isinstance(source, ImageSource), source
    assert source.data.size == (64, 48) and source.data.convert("RGB").getpixel((5, 5)) == (10, 200, 30)
    assert len(ticks) >= 10, f"the GUI thread stalled while the tool ran ({len(ticks)} ticks in ~1 s)"
    assert not capturer.busy
