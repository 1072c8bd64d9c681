"""Documents in the window (offscreen Qt): a dropped PDF is read page by page; "Page 2 of 5" is
said first; Page Down / Page Up move and read; Ctrl+T reads the current page; Read to the end
goes on to the last page; a locked PDF asks its password. Real PP-OCR and tiny Florence-2."""
from __future__ import annotations

from pathlib import Path

import cv2  # noqa: F401 - first, as the text reader imports it, before the QApplication exists
import pytest
from PySide6.QtCore import Qt

from tests.support.gui_support import TIMEOUT_MS, drop, file_mime, make_window, wait_result  # noqa: F401
from tests.support.smolvlm_fixtures import tiny_smolvlm_hf, tiny_smolvlm_onnx  # noqa: F401 - fixtures
from tests.support.pdf_writer import Block, PageSpec, encrypted_copy, expected_text, write_pdf

pytestmark = pytest.mark.gui

PAGES = [PageSpec([[Block("First page heading", "heading"), Block("The first page says hello.")]]),
         PageSpec([[Block("The second page is in the middle.")]]),
         PageSpec([[Block("The last page says goodbye.")]])]


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    return write_pdf(tmp_path / "letters.pdf", PAGES)


def _said(window) -> list[str]:
    return [text for text, _ in window.speaker.said]


def test_a_dropped_pdf_is_read_page_by_page_with_page_keys(qtbot, make_window, pdf: Path) -> None:
    window = make_window(model=None)  # text layers need no description model
    first = wait_result(qtbot, window, lambda: drop(window.drop_zone, file_mime(pdf)))
    assert first.text == f"Page 1 of 3\n\n{expected_text(PAGES[0])}"
    assert first.request.source.display_name == "letters.pdf, page 1 of 3"
    qtbot.waitUntil(lambda: "Page 1 of 3" in _said(window), timeout=TIMEOUT_MS)
    said = _said(window)
    assert said.index("Page 1 of 3") < next(i for i, t in enumerate(said) if "says hello" in t)

    box = window.result_view.text_box
    box.setFocus()
    second = wait_result(qtbot, window, lambda: qtbot.keyClick(box, Qt.Key.Key_PageDown))
    assert second.text == f"Page 2 of 3\n\n{expected_text(PAGES[1])}"
    back = wait_result(qtbot, window, lambda: qtbot.keyClick(box, Qt.Key.Key_PageUp))
    assert back.text.startswith("Page 1 of 3\n\n")
    window.speaker.said.clear()
    qtbot.keyClick(box, Qt.Key.Key_PageUp)
    qtbot.waitUntil(lambda: "This is the first page." in _said(window), timeout=TIMEOUT_MS)

    read = wait_result(qtbot, window, lambda: qtbot.keyClick(box, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier))
    assert read.caption.task == "ocr" and read.text == first.text  # Ctrl+T: the current page

    results = []
    window.result_ready.connect(results.append)
    qtbot.keyClick(box, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)  # Read to the end
    qtbot.waitUntil(lambda: len(results) == 2, timeout=TIMEOUT_MS)
    assert [r.request.source.page for r in results] == [2, 3] and not window.documents.reading_on
    qtbot.keyClick(box, Qt.Key.Key_PageDown)
    qtbot.waitUntil(lambda: "This is the last page, page 3." in _said(window), timeout=TIMEOUT_MS)


def test_the_next_page_is_read_ahead_while_this_one_is_heard(qtbot, make_window, pdf: Path, monkeypatch) -> None:
    """Page Down answers from the page read ahead (no second reading); the last pages read stay
    kept, so Page Up back is answered at once too."""
    from desktop.work.reading_job import ReadingJob

    reads: list[int] = []
    real = ReadingJob._read_page

    def counted(self, source, *args, **kwargs):  # noqa: ANN001, ANN202 - the real reading, counted
        reads.append(source.page)
        return real(self, source, *args, **kwargs)

    monkeypatch.setattr(ReadingJob, "_read_page", counted)
    window = make_window(model=None)
    wait_result(qtbot, window, lambda: drop(window.drop_zone, file_mime(pdf)))
    qtbot.waitUntil(lambda: reads == [1, 2], timeout=TIMEOUT_MS)  # page 2, not asked for yet
    box = window.result_view.text_box
    box.setFocus()
    second = wait_result(qtbot, window, lambda: qtbot.keyClick(box, Qt.Key.Key_PageDown))
    assert second.text == f"Page 2 of 3\n\n{expected_text(PAGES[1])}"
    qtbot.waitUntil(lambda: reads == [1, 2, 3], timeout=TIMEOUT_MS)
    assert wait_result(qtbot, window, lambda: qtbot.keyClick(box, Qt.Key.Key_PageDown)).text.startswith("Page 3 of 3")
    back = wait_result(qtbot, window, lambda: qtbot.keyClick(box, Qt.Key.Key_PageUp))
    assert back.text == second.text and reads == [1, 2, 3]


def test_page_down_during_the_read_ahead_is_answered_by_it(qtbot, make_window, pdf: Path, monkeypatch) -> None:
    """Page Down while the next page is still being read ahead: no second reading of it."""
    import threading

    from desktop.work.reading_job import ReadingJob

    reads: list[int] = []
    gate = threading.Event()
    real = ReadingJob._read_page

    def held(self, source, *args, **kwargs):  # noqa: ANN001, ANN202 - the real reading, page 2 held
        reads.append(source.page)
        if source.page == 2:
            assert gate.wait(60)
        return real(self, source, *args, **kwargs)

    monkeypatch.setattr(ReadingJob, "_read_page", held)
    window = make_window(model=None)
    wait_result(qtbot, window, lambda: drop(window.drop_zone, file_mime(pdf)))
    qtbot.waitUntil(lambda: reads == [1, 2], timeout=TIMEOUT_MS)  # page 2's read ahead has begun
    box = window.result_view.text_box
    box.setFocus()

    def page_down() -> None:
        qtbot.keyClick(box, Qt.Key.Key_PageDown)
        gate.set()

    second = wait_result(qtbot, window, page_down)
    assert second.text == f"Page 2 of 3\n\n{expected_text(PAGES[1])}" and reads == [1, 2]


def test_read_to_the_end_stops_at_esc(qtbot, make_window, tmp_path: Path) -> None:
    window = make_window(model=None)
    pdf = write_pdf(tmp_path / "many.pdf", PAGES * 4)
    wait_result(qtbot, window, lambda: window.describe_sources([_file(pdf)]))
    results = []
    window.result_ready.connect(results.append)
    window.result_ready.connect(lambda r: r.request.source.page == 3 and window.actions["stop"].trigger())
    window.actions["read_on"].trigger()
    qtbot.waitUntil(lambda: len(results) >= 2 and not window.documents.reading_on, timeout=TIMEOUT_MS)
    qtbot.wait(3 * 200)  # three of its polls: nothing more is read
    assert [r.request.source.page for r in results] == [2, 3]


def test_a_locked_pdf_asks_for_its_password(qtbot, make_window, pdf: Path, tmp_path: Path, monkeypatch) -> None:
    window = make_window(model=None)
    locked = encrypted_copy(pdf, tmp_path / "locked.pdf", "sesame")
    asked = []
    monkeypatch.setattr(window.documents, "ask_password",
                        lambda path, why: asked.append(why) or ("wrong" if len(asked) == 1 else "sesame"))
    first = wait_result(qtbot, window, lambda: window.describe_sources([_file(locked)]))
    assert asked == ["locked.pdf is locked with a password: give its password to open it.",
                     "The password for locked.pdf is wrong: check it and try again."]
    assert first.text.startswith("Page 1 of 3\n\nFirst page heading")
    monkeypatch.setattr(window.documents, "ask_password", lambda path, why: None)  # cancelled
    window.describe_sources([_file(locked)])
    assert window.last_error == "locked.pdf is locked with a password: give its password to open it."


def _file(path: Path):
    from desktop.imaging import ImageSource

    return ImageSource(str(path), path, "file")


def test_ask_works_on_the_current_page_and_history_keeps_the_page(qtbot, make_window, pdf: Path, tmp_path: Path,
                                                                  tiny_smolvlm_onnx) -> None:
    from models.asker import Asker
    from models.documents import Document
    from models.picture_cache import PictureCache
    from tests.test_gui_ask import ask, install, press_ask

    install(tiny_smolvlm_onnx, tmp_path)
    window = make_window(model=None, history=True)
    window.activateWindow()
    wait_result(qtbot, window, lambda: window.describe_sources([_file(pdf)]))
    wait_result(qtbot, window, window.documents.next_page)
    with Document(pdf) as document:
        page_two = document.render(2)
    expected = Asker.load(tiny_smolvlm_onnx, "cpu", one_tile=True, cache=PictureCache()).conversation(
        page_two).ask("What is on this page?").answer
    press_ask(qtbot, window)
    ask(qtbot, window, "What is on this page?")
    # The answer about the rendered page 2 (the text box shows a carriage return as a line break).
    assert f"Answer: {expected.replace(chr(13), chr(10))}" in window.ask_flow.panel.conversation.toPlainText()
    qtbot.waitUntil(lambda: {e.source for e in window.store.entries()} >= {
        f"{pdf}, page 1 of 3", f"{pdf}, page 2 of 3"}, timeout=TIMEOUT_MS)
    page_entry = next(e for e in window.store.entries() if e.source == f"{pdf}, page 2 of 3" and e.task == "ocr")
    assert page_entry.text.startswith("Page 2 of 3\n\n") and page_entry.thumbnail
