"""The window's Ask flow by keyboard alone: Ctrl+Shift+A after a description, type, Enter; the
answer (transformers-exact tiny SmolVLM) is shown in the conversation, announced and spoken by
the descriptions' route, kept in History; a follow-up uses the earlier turn; Esc stops."""
from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from desktop.imaging import ImageSource
from models.asker import Asker
from models.picture_cache import PictureCache
from tests.support.gui_support import (  # noqa: F401 - fixtures
    TIMEOUT_MS, isolate, make_window, picture, wait_result,
)
from tests.support.smolvlm_fixtures import tiny_smolvlm_hf, tiny_smolvlm_onnx  # noqa: F401

pytestmark = pytest.mark.gui
QUESTIONS = ("What colour is the car?", "Is there anyone in the photo?")
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def install(folder, tmp_path) -> None:
    from models.registry import Registry

    Registry(tmp_path / "models").link(folder, "smolvlm-tiny")


def press_ask(qtbot, window) -> None:
    qtbot.keyClick(window.focusWidget() or window, Qt.Key.Key_A, CTRL_SHIFT)


def ask(qtbot, window, question: str) -> None:
    field = window.ask_flow.panel.question
    assert QApplication.focusWidget() is field
    turns = len(window.ask_flow.turns)
    qtbot.keyClicks(field, question)
    qtbot.keyClick(field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(window.ask_flow.turns) == turns + 1, timeout=TIMEOUT_MS)


def test_ask_by_keyboard_answers_announces_speaks_and_keeps_history(make_window, qtbot, tmp_path, tiny_smolvlm_onnx):
    install(tiny_smolvlm_onnx, tmp_path)
    path = picture(tmp_path / "red.png", size=(140, 90))
    chat = Asker.load(tiny_smolvlm_onnx, "cpu", one_tile=True, cache=PictureCache()).conversation(path)
    expected = [chat.ask(q).answer for q in QUESTIONS]
    window = make_window(history=True)
    window.activateWindow()
    heard: list[str] = []
    window.announcer.announced.connect(lambda message, assertive: heard.append(message))
    wait_result(qtbot, window, lambda: window.describe_sources([ImageSource(str(path), path, "file")]))

    press_ask(qtbot, window)
    panel = window.ask_flow.panel
    assert panel.isVisible() and panel.question.accessibleName() == "Question about the picture"
    # While the question is typed the model loads and the picture is encoded for it.
    engine = window.ask_flow.engine
    qtbot.waitUntil(lambda: engine._chat is not None and engine._chat[0] is window.describer.current,
                    timeout=TIMEOUT_MS)
    ask(qtbot, window, QUESTIONS[0])
    ask(qtbot, window, QUESTIONS[1])  # focus stays in the field for the follow-up
    text = panel.conversation.toPlainText()
    for question, answer in zip(QUESTIONS, expected):
        assert f"Question: {question}\nAnswer: {answer}" in text
        assert answer in heard  # announced (the screen reader's route) ...
        assert (answer, None) in window.speaker.said  # ... and spoken with Lumen's voice (no reader runs)
    # The conversation stays with the picture in History: one entry, both turns, with a thumbnail.
    both = "\n\n".join(f"Question: {q}\nAnswer: {a}" for q, a in zip(QUESTIONS, expected))
    qtbot.waitUntil(lambda: [e.text for e in window.store.entries() if e.task == "ask"] == [both],
                    timeout=TIMEOUT_MS)
    assert window.store.thumbnail_path(window.store.entries()[0]) is not None

    qtbot.keyClick(panel.conversation, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text() == expected[1]

    # Esc stops an answer being written; nothing arrives afterwards.
    qtbot.keyClicks(panel.question, "And the sky?")
    qtbot.keyClick(panel.question, Qt.Key.Key_Return)
    assert window.ask_flow.pending == "And the sky?"
    qtbot.keyClick(panel.question, Qt.Key.Key_Escape)
    assert window.ask_flow.pending is None
    qtbot.wait(1500)
    assert len(window.ask_flow.turns) == 2 and "And the sky?" not in panel.conversation.toPlainText()


def test_ask_explains_what_is_missing(make_window, qtbot, tmp_path):
    window = make_window()
    press_ask(qtbot, window)
    assert "no picture yet" in window.last_error
    path = picture(tmp_path / "blue.png", (30, 30, 200))
    wait_result(qtbot, window, lambda: window.describe_sources([ImageSource(str(path), path, "file")]))
    press_ask(qtbot, window)
    assert not window.ask_flow.panel.isVisible()
    assert "lumen models install smolvlm-256m-instruct" in window.last_error and "MB" in window.last_error


def test_ask_is_in_the_menu_help_and_tab_order(make_window):
    from desktop.window.actions import shortcut_list

    window = make_window()
    assert "Ask about the picture…: Ctrl+Shift+A" in shortcut_list(window.actions)
    button = window.findChild(type(window.current_buttons[0]), "button_ask")
    assert button is not None and button.accessibleName() == "Ask…".replace("…", "")


def test_the_question_model_leaves_memory_when_idle_and_the_follow_up_keeps_its_turn(qtbot, tmp_path, tiny_smolvlm_onnx):
    """RELEASE_AFTER_S shortened: after a question the model is let go; the follow-up loads it
    again and is asked with the first turn, so it gives the transformers-exact follow-up answer.
    The idle time counts from the end of an answer: one that takes longer than the wait (a slow
    machine, a cold load) still leaves the model in memory for its follow-up."""
    from desktop.work.ask_engine import AskEngine
    from desktop.work.workers import TaskManager

    path = picture(tmp_path / "red.png", size=(140, 90))
    chat = Asker.load(tiny_smolvlm_onnx, "cpu", one_tile=True, cache=PictureCache()).conversation(path)
    expected = [chat.ask(q).answer for q in QUESTIONS]
    tasks = TaskManager()
    engine = AskEngine(tasks, find_model=lambda: tiny_smolvlm_onnx, release_after_s=1.0)
    engine.model_folder()
    source = ImageSource(str(path), path, "file")

    def answer(question: str, to_english=None):
        done: list = []
        engine.ask(source, question, to_english=to_english, on_text=lambda _: None, on_done=done.append,
                   on_failed=done.append)
        qtbot.waitUntil(lambda: bool(done), timeout=TIMEOUT_MS)
        return done[0]

    try:
        first = answer(QUESTIONS[0])
        qtbot.waitUntil(lambda: engine.idle.releases == 1, timeout=TIMEOUT_MS)
        assert engine._asker is None and engine._chat is None
        # Longer than the wait, whatever the machine: the timer fires during the answer.
        second = answer(QUESTIONS[1], to_english=lambda q: (time.sleep(1.5), q)[1])
        assert [first.answer, second.answer] == expected
        assert engine.loads == 2 and [q for q, _ in engine._chat[1].turns] == list(QUESTIONS)
        qtbot.waitUntil(lambda: engine.idle.releases == 2, timeout=TIMEOUT_MS)
    finally:
        tasks.shutdown()
