"""Keywords in the window (tiny BLIP describes, tiny CLIP ranks) and History searched by keyword."""
from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.clip_fixtures import tiny_clip_hf, tiny_clip_onnx  # noqa: F401 (fixtures)
from tests.support.gui_support import TIMEOUT_MS, RecordingSpeaker, isolate, picture, wait_result

from PySide6.QtCore import Qt

from desktop.imaging import ImageSource

pytestmark = pytest.mark.gui


@pytest.fixture
def blip_window(qtbot, tmp_path, monkeypatch, tiny_blip_onnx):
    isolate(monkeypatch, tmp_path)
    made = []

    def make(with_clip: Path | None = None, **settings):
        from desktop.window.main_window import MainWindow
        from desktop.settings import Settings
        from desktop.speech.voice import LumenVoice
        from models.registry import Registry

        if with_clip is not None:
            Registry(tmp_path / "models").link(with_clip, "clip-vit-base-patch32-fp32")
        window = MainWindow(Settings(global_hotkeys=False, **settings), tiny_blip_onnx,
                            voice=LumenVoice(RecordingSpeaker()), history_root=tmp_path / "history")
        made.append(window)
        window.show()
        window.start(open_setup=False)
        qtbot.waitUntil(lambda: window.engine.state == "ready", timeout=TIMEOUT_MS)
        return window

    yield make
    for window in made:
        window.shutdown()
        window.hide()
        window.deleteLater()


def test_keywords_are_listed_under_the_description(blip_window, qtbot, tmp_path, tiny_clip_onnx):
    from PIL import Image

    from models.clip import Clip
    from models.keywords import keywords

    window = blip_window(with_clip=tiny_clip_onnx)
    view = window.keywords_view
    assert view.isHidden()
    path = picture(tmp_path / "a.png")
    result = wait_result(qtbot, window, lambda: window.describe_sources([ImageSource(str(path), path)]))
    qtbot.waitUntil(view.isVisible, timeout=TIMEOUT_MS)
    clip = Clip.load(tiny_clip_onnx, device="cpu")
    with Image.open(path) as img:
        ranked = keywords(clip, img.convert("RGB"), [result.caption.caption])
    assert view.words() == [k.word for k in ranked][: len(view.words())] and view.words()
    assert view.list.accessibleName() == "Keywords"
    first = view.list.item(0).text()
    assert first.startswith(f"{ranked[0].word}, ") and first.endswith("%")
    view.list.setFocus()
    assert window.focusWidget() is view.list  # reachable from the keyboard
    window.describer.started.emit(result.request)  # a new description clears the old keywords
    assert view.isHidden()


def test_clip_leaves_memory_when_descriptions_stop_and_comes_back(blip_window, qtbot, tmp_path, tiny_clip_onnx,
                                                                   monkeypatch):
    """RELEASE_AFTER_S shortened: CLIP goes once no description has come for that long, and
    the next description loads it again and ranks its keywords as a freshly loaded CLIP does."""
    from PIL import Image

    from desktop.results import keywords_view
    from models.clip import Clip
    from models.keywords import keywords

    monkeypatch.setattr(keywords_view, "RELEASE_AFTER_S", 1.0)
    window = blip_window(with_clip=tiny_clip_onnx)
    controller, view = window.keywords, window.keywords_view
    first = picture(tmp_path / "c.png", colour=(200, 30, 30))
    wait_result(qtbot, window, lambda: window.describe_sources([ImageSource(str(first), first)]))
    qtbot.waitUntil(view.isVisible, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: controller.idle.releases == 1, timeout=TIMEOUT_MS)
    assert controller._clip is None
    second = picture(tmp_path / "d.png", colour=(20, 40, 220), size=(120, 80))
    result = wait_result(qtbot, window, lambda: window.describe_sources([ImageSource(str(second), second)]))
    qtbot.waitUntil(view.isVisible, timeout=TIMEOUT_MS)
    with Image.open(second) as img:
        ranked = keywords(Clip.load(tiny_clip_onnx, device="cpu"), img.convert("RGB"), [result.caption.caption])
    assert view.words() == [k.word for k in ranked][: len(view.words())] and view.words()
    qtbot.waitUntil(lambda: controller.idle.releases == 2, timeout=TIMEOUT_MS)


def test_without_clip_the_description_comes_alone(blip_window, qtbot, tmp_path):
    window = blip_window()
    path = picture(tmp_path / "b.png")
    result = wait_result(qtbot, window, lambda: window.describe_sources([ImageSource(str(path), path)]))
    assert result.text
    qtbot.wait(300)
    assert window.keywords_view.isHidden()


def test_history_is_searched_by_keyword(blip_window, qtbot, tmp_path):
    from models.keywords import candidates

    window = blip_window(history=True)
    texts = []
    for i, colour in enumerate([(200, 30, 30), (20, 40, 220), (30, 200, 40)]):
        path = picture(tmp_path / f"h{i}.png", colour=colour, size=(96 + 8 * i, 72))
        texts.append(wait_result(qtbot, window, lambda p=path: window.describe_sources([ImageSource(str(p), p)])).text)
    panel = window.history_panel
    qtbot.waitUntil(lambda: len(window.store.entries()) == 3, timeout=TIMEOUT_MS)
    window.history.toggle()
    assert panel.list.count() == 3 and panel.search.accessibleName() == "Search history"
    word = next(w for w in candidates(texts) if sum(w in candidates([t]) for t in texts) < 3)
    panel.search.setFocus()
    qtbot.keyClicks(panel.search, word)
    shown = [panel._entries[panel.list.item(i).data(Qt.ItemDataRole.UserRole)].text for i in range(panel.list.count())]
    assert shown and all(word in candidates([t]) for t in shown)
    assert len(shown) == sum(word in candidates([t]) for t in texts)
    panel.search.clear()
    assert panel.list.count() == 3
