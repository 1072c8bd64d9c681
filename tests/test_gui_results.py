"""What happens to a result in the window: copy, save, speech, translation, history."""
from __future__ import annotations

import pytest
from tests.support.gui_support import make_window, picture, wait_result  # noqa: F401 - make_window is a fixture

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog

from desktop.work.window_describer import MAY_BE_WRONG
from desktop.imaging import ImageSource

pytestmark = pytest.mark.gui


def test_copy_and_save_as_text(make_window, qtbot, tmp_path, monkeypatch):
    window = make_window()
    path = picture(tmp_path / "c.png")
    result = wait_result(qtbot, window, lambda: window.describe_sources([ImageSource(str(path), path)]))
    window.result_view.text_box.setFocus()
    qtbot.keyClick(window.result_view.text_box, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == f"{result.text}\n{MAY_BE_WRONG}"
    target = tmp_path / "out" / "description.txt"
    target.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert target.read_text(encoding="utf-8") == f"{result.text}\n{MAY_BE_WRONG}\n"



def test_speech_off_leaves_results_to_the_screen_reader(make_window, qtbot, tmp_path):
    from desktop.settings import load_settings

    window = make_window()
    window.actions["speak"].trigger()
    assert load_settings().speak is False
    announced = []
    window.announcer.announced.connect(lambda m, a: announced.append(m))
    before = list(window.speaker.said)
    source = ImageSource("s", picture(tmp_path / "s.png"))
    result = wait_result(qtbot, window, lambda: window.describe_sources([source]))
    assert window.speaker.said == before and result.speech in announced
    window.speech_commands.repeat()
    assert window.speaker.said == before and announced[-1] == result.speech



def test_history_is_opt_in_with_thumbnails_and_clear_all(make_window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    window = make_window()
    path = picture(tmp_path / "h.png")
    wait_result(qtbot, window, lambda: window.describe_sources([ImageSource(str(path), path)]))
    qtbot.wait(200)
    assert window.store.entries() == []  # off by default

    window.settings.history = True
    result = wait_result(qtbot, window, lambda: window.describe_sources([ImageSource(str(path), path)]))
    qtbot.waitUntil(lambda: len(window.store.entries()) == 1, timeout=5000)
    entry = window.store.entries()[0]
    assert entry.text == result.text and entry.source == str(path)
    assert window.store.thumbnail_path(entry) is not None
    qtbot.keyClick(window, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)
    panel = window.history_panel
    assert panel.isVisible() and panel.list.count() == 1 and result.text in panel.list.item(0).text()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    panel.clear_button.click()
    assert window.store.entries() == [] and panel.list.count() == 0
    assert not any(window.store.thumbs.glob("*.png")) if window.store.thumbs.exists() else True



class _Translator:
    """Stands in for services.translation (argostranslate packages are not installed in tests)."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def languages(self) -> list:
        from services.translation import Language

        return [Language("fr", "French")]

    def translate(self, text: str, to_code: str) -> str:
        if self.fail:
            from services.errors import TranslationError

            raise TranslationError("No translation from en to fr is installed.")
        return f"[{to_code}] {text}"



def test_results_are_said_in_the_chosen_language(make_window, qtbot, tmp_path):
    window = make_window(translate_to="fr")
    window.translator = _Translator()
    path = picture(tmp_path / "t.png")
    result = wait_result(qtbot, window, lambda: window.describe_sources([ImageSource(str(path), path)]))
    translated = f"[fr] {result.speech}"
    qtbot.waitUntil(lambda: window.speaker.said[-1:] == [(translated, "fr")], timeout=5000)
    assert (result.speech, None) not in window.speaker.said  # only the translation is said
    assert window.result_view.text().endswith(translated) and window.announcer.last == translated

    window.translator = _Translator(fail=True)
    errors = []
    window.error_shown.connect(errors.append)
    result = wait_result(qtbot, window, lambda: window.describe_sources([ImageSource(str(path), path)]))
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert errors == ["No translation from en to fr is installed."]
    assert (result.speech, None) in window.speaker.said  # English, then the reason
