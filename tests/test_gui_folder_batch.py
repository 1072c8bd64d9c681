"""File → Describe a folder… (desktop/window/folder_controller.py): the window runs `lumen batch`'s
pipeline on a folder, offscreen, with the real tiny exported Florence-2 model.

The captions are compared with services.batch run directly on the same folder; the stop is held
deterministically by a gate inside the second picture's description (no sleeps)."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from tests.support.gui_support import TIMEOUT_MS, make_window, picture  # noqa: F401 - fixtures

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from desktop.window.actions import keys_of, name_of
from desktop.window.folder_controller import OUT_NAME
from services.batch import describer as batch_describer
from services.batch.describer import BatchOptions
from services.batch.pipeline import BatchRequest, run_batch

pytestmark = pytest.mark.gui


def _folder(root: Path) -> Path:
    folder = root / "holiday"
    folder.mkdir()
    for name, colour in (("a.png", (200, 30, 30)), ("b.png", (30, 200, 30)), ("c.png", (30, 30, 200))):
        picture(folder / name, colour)
    (folder / "notes.txt").write_text("not a picture\n", encoding="utf-8")
    return folder


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _run(qtbot, window, keys: bool = True) -> str:
    with qtbot.waitSignal(window.folder.ended, timeout=TIMEOUT_MS) as blocker:
        if keys:  # the shortcut, as a user presses it
            qtbot.keyClick(window, Qt.Key.Key_O,
                           Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        else:
            window.actions["folder"].trigger()
    return blocker.args[0]


def test_describe_a_folder_speaks_progress_stops_and_goes_on(make_window, qtbot, tmp_path, monkeypatch,
                                                             tiny_florence2_onnx):
    folder = _folder(tmp_path)
    reference = tmp_path / "reference.jsonl"
    run_batch(BatchRequest([str(folder)], reference, BatchOptions(model=str(tiny_florence2_onnx))))
    expected = {row["image"]: row["caption"] for row in _lines(reference)}
    assert len(expected) == 3

    window = make_window()
    action = window.actions["folder"]
    assert name_of(action) == "Describe a folder…" and keys_of(action) == "Ctrl+Shift+O"
    assert action.toolTip()  # named for screen readers
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    window.folder.progress_every_s = 0.0  # every picture's progress said: deterministic
    announced: list[str] = []
    window.announcer.announced.connect(lambda message, assertive: announced.append(message))

    # A whole run: three lines, the batch pipeline's captions, progress announced, summary said.
    summary = _run(qtbot, window)
    out = folder / OUT_NAME
    rows = _lines(out)
    assert {row["image"]: row["caption"] for row in rows} == expected
    assert "Folder done: 3 described, 0 failed, 1 skipped (not pictures)" in summary
    assert any(m.startswith("Describing the pictures in holiday") for m in announced)
    assert "1 of 3 pictures described." in announced and "3 of 3 pictures described." in announced
    assert summary in [text for text, _ in window.speaker.said]

    # Stopped with Esc while the second picture is held, then chosen again: no duplicates.
    out.unlink()
    reached, gate = threading.Event(), threading.Event()
    calls = [0]
    real = batch_describer.Describer.describe

    def held(self, picture_, rgb):  # noqa: ANN001
        calls[0] += 1
        if calls[0] == 2:
            reached.set()
            assert gate.wait(TIMEOUT_MS / 1000)
        return real(self, picture_, rgb)

    monkeypatch.setattr(batch_describer.Describer, "describe", held)
    with qtbot.waitSignal(window.folder.ended, timeout=TIMEOUT_MS) as blocker:
        window.actions["folder"].trigger()
        qtbot.waitUntil(reached.is_set, timeout=TIMEOUT_MS)
        qtbot.keyClick(window, Qt.Key.Key_Escape)
        assert window.folder._stop is not None and window.folder._stop.is_set()
        gate.set()
    stopped = blocker.args[0]
    assert stopped.startswith("Stopped: 2 described") and "1 picture left" in stopped
    assert len(_lines(out)) == 2

    monkeypatch.setattr(batch_describer.Describer, "describe", real)
    resumed = _run(qtbot, window, keys=False)
    rows = _lines(out)
    assert [row["image"] for row in rows] == sorted({row["image"] for row in rows})  # once each, in order
    assert {row["image"]: row["caption"] for row in rows} == expected
    assert "Folder done: 1 described, 0 failed, 1 skipped (not pictures), 2 already done" in resumed
