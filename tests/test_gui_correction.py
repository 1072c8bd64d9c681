"""F2 "Correct this description": opt-in once, edit, the picture and text land in the training set;
Settings → Training set shows its size, exports and clears it; the model list shows origin."""
from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path

import pytest
from tests.support.gui_support import (  # noqa: F401 - fixtures
    TIMEOUT_MS, drop, file_mime, make_window, picture, reference, wait_result,
)

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from desktop.results.correction import CorrectionDialog
from services.training_set import METADATA, TrainingSet

pytestmark = pytest.mark.gui


def _answer_next_modal(kind: type, act) -> None:
    """Run `act(widget)` on the next visible modal window of type `kind` (a real user's turn).

    Another modal (the previous one, still closing) is waited out; past the deadline the modal
    shown is rejected, so a wrong dialog fails the test instead of leaving it waiting forever."""
    deadline = time.monotonic() + 60

    def poll() -> None:
        modal = QApplication.activeModalWidget()
        if isinstance(modal, kind) and modal.isVisible():
            try:
                act(modal)
            except BaseException:
                modal.reject()
                raise
        elif time.monotonic() > deadline:
            if modal is not None:
                modal.reject()
            raise AssertionError(f"no {kind.__name__} was shown within 60 s")
        else:
            QTimer.singleShot(20, poll)

    QTimer.singleShot(0, poll)


def test_f2_opts_in_once_then_saves_picture_and_text(make_window, qtbot, tmp_path: Path) -> None:
    window = make_window()
    path = picture(tmp_path / "red.png")
    wait_result(qtbot, window, lambda: drop(window.drop_zone, file_mime(path)))
    assert window.actions["correct"].shortcut().toString() == "F2"

    said = []
    window.announcer.announced.connect(lambda message, assertive: said.append(message))
    flow = window.correction

    def consent(box) -> None:
        assert isinstance(box, QMessageBox) and str(flow.training_set.root) in box.text()
        box.button(QMessageBox.StandardButton.Yes).click()
        _answer_next_modal(CorrectionDialog, correct)

    def correct(dialog) -> None:
        assert isinstance(dialog, CorrectionDialog)
        assert dialog.editor.accessibleName() == "Corrected description" and dialog.focusWidget() is dialog.editor
        qtbot.keyClicks(dialog.editor, "a red rectangle on white")  # replaces the selected text
        dialog.accept()

    _answer_next_modal(QMessageBox, consent)
    qtbot.keyClick(window, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: any("Correction saved" in m for m in said), timeout=TIMEOUT_MS)
    rows = [json.loads(line) for line in (flow.training_set.root / METADATA).read_text().splitlines()]
    assert [(r["text"], r["source"]) for r in rows] == [("a red rectangle on white", "window")]

    def edit_again(dialog) -> None:  # no consent question the second time
        assert isinstance(dialog, CorrectionDialog)
        dialog.editor.setPlainText("a red square")
        dialog.accept()

    _answer_next_modal(CorrectionDialog, edit_again)
    window.actions["correct"].trigger()
    qtbot.waitUntil(lambda: [e.text for e in flow.training_set.examples()] == ["a red square"],
                    timeout=TIMEOUT_MS)  # the same picture: its text replaced


def test_without_a_description_f2_says_so(make_window, qtbot) -> None:
    window = make_window()
    errors = []
    window.show_error = errors.append
    window.correction.open()
    assert errors and "no description to correct" in errors[0]


def test_training_page_shows_size_exports_and_clears(qtbot, tmp_path: Path) -> None:
    from desktop.setup.training_page import TrainingSetPage
    from PySide6.QtCore import QSettings

    ts = TrainingSet(tmp_path / "set")
    ts.add(picture(tmp_path / "a.png"), "a red picture")
    page = TrainingSetPage(ts, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(page)
    assert page.summary.text().startswith("1 picture, ") and str(ts.root) in page.summary.text()
    out = page.export(str(tmp_path / "out.zip"))
    assert METADATA in zipfile.ZipFile(out).namelist()
    assert page.clear(confirm=False) == 1 and page.summary.text().startswith("0 pictures")
    assert not page.export_button.isEnabled()
