"""Ask about the picture: a question field under the description, the conversation below it.

Ask (Ctrl+Shift+A, the Describe menu, or the Ask button) opens the panel for the current picture
and puts the keyboard in the question field (accessible name "Question about the picture").
Enter asks. The answer is added to the conversation, announced and spoken by the same route as
descriptions (desktop/speech/speech_router.py), and Ctrl+C in the conversation with nothing selected
copies the latest answer. Esc (the window's Stop) stops an answer being written. Each question
and answer is kept in History with the picture. A question typed in the language results are
translated into (Settings) goes to the model in English and its answer comes back translated.
With no question-answering model installed, Ask says how to install one and its size.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QGuiApplication, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLineEdit, QPlainTextEdit, QPushButton, QVBoxLayout

from desktop.imaging import ImageSource
from desktop.notices import Notices
from desktop.results.history_controller import ConversationRef, HistoryController
from desktop.results.result_translation import translate_later
from desktop.results.result_view import _ResultText  # the description's text box: Ctrl+C copies all
from desktop.settings import Settings
from desktop.speech.earcons import Earcons
from desktop.speech.speech_router import SpeechRouter
from desktop.work.ask_engine import AskEngine
from desktop.work.caption_engine import error_sentence
from desktop.work.window_describer import WindowDescriber
from desktop.work.workers import TaskManager
from models.errors import CancelledError
from services.translation import Translator

NO_PICTURE = "There is no picture yet; open, paste or capture one first."


class _Conversation(_ResultText):
    """Ctrl+C here copies the answer (or the selection), not the window's description."""

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) \
                and event.matches(QKeySequence.StandardKey.Copy):
            event.accept()  # the key goes to keyPressEvent instead of the window's Copy action
            return True
        return super().event(event)


class AskPanel(QGroupBox):
    def __init__(self) -> None:
        super().__init__("Ask about this picture")
        self.setAccessibleName("Ask about this picture")
        col = QVBoxLayout(self)
        row = QHBoxLayout()
        self.question = QLineEdit()
        self.question.setObjectName("askQuestion")
        self.question.setAccessibleName("Question about the picture")
        self.question.setAccessibleDescription("Type a question and press Enter. Esc stops the answer.")
        self.question.setPlaceholderText("For example: what colour is the car?")
        self.ask_button = QPushButton("Ask")
        self.ask_button.setAccessibleName("Ask")
        self.ask_button.setAccessibleDescription("Ask the question about the picture (Enter).")
        row.addWidget(self.question, 1)
        row.addWidget(self.ask_button)
        self.conversation = _Conversation()
        self.conversation.setObjectName("askConversation")
        self.conversation.setReadOnly(True)
        self.conversation.setTabChangesFocus(True)
        self.conversation.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByKeyboard | Qt.TextInteractionFlag.TextSelectableByMouse)
        self.conversation.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.conversation.setAccessibleName("Conversation")
        self.conversation.setAccessibleDescription("Questions and answers about this picture. Ctrl+C copies the last answer.")
        col.addLayout(row)
        col.addWidget(self.conversation)
        self.hide()

    def widgets(self) -> list:
        """In tab order."""
        return [self.question, self.ask_button, self.conversation]


class AskController(QObject):
    def __init__(self, parent: QObject, describer: WindowDescriber, speech: SpeechRouter, notices: Notices,
                 earcons: Earcons, tasks: TaskManager, history: HistoryController,
                 settings: Callable[[], Settings], translator: Callable[[], Translator],
                 engine: AskEngine | None = None) -> None:
        super().__init__(parent)
        self.describer, self.speech, self.notices, self.earcons = describer, speech, notices, earcons
        self.tasks, self.history, self._settings, self.translator = tasks, history, settings, translator
        self.engine = engine or AskEngine(tasks)
        self.panel = AskPanel()
        self.source: ImageSource | None = None  # the picture the conversation is about
        self.turns: list[tuple[str, str]] = []
        self._history = ConversationRef()
        self.pending: str | None = None  # the question being answered
        self.last_answer = ""
        self.panel.question.returnPressed.connect(self.submit)
        self.panel.ask_button.clicked.connect(self.submit)
        self.panel.conversation.copy_all.connect(self.copy_answer)

    # ----- opening -----
    def open(self) -> None:
        current = self.describer.current
        if current is None:
            self.notices.show_error(NO_PICTURE)
            return
        if self.engine.model_folder() is None:
            from models.asker import install_hint

            self.notices.show_error(f"Asking about a picture needs a question-answering model; {install_hint()}.")
            return
        if current is not self.source:
            # One History entry per conversation: the first answer adds it, later ones rewrite it.
            self.source, self.turns, self._history = current, [], ConversationRef()
            self._render()
            # Encode the picture while the question is typed (a model load error is shown then).
            self.engine.prepare(current, on_failed=lambda exc: self._failed(current, "", exc))
        self.panel.show()
        self.panel.question.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # ----- asking -----
    def submit(self) -> None:
        question = " ".join(self.panel.question.text().split())
        if not question:
            self.speech.status("Type a question first.")
            return
        if self.source is None or self.source is not self.describer.current:
            self.open()  # the picture changed: a new conversation
            if self.source is None:
                return
        self.pending = question
        self.panel.question.clear()
        self._render()
        self.notices.set_status(f"Thinking about: {question}")
        self.speech.status("Thinking…")
        translate_to = self._settings().translate_to
        to_english = None
        if translate_to:  # the window's one translator, as for the answers (_done)
            translator = self.translator()
            to_english = lambda text: translator.translate(text, "en", translate_to)  # noqa: E731
        source = self.source
        self.engine.ask(source, question, to_english=to_english,
                        on_text=lambda text: self._partial(source, question, text),
                        on_done=lambda answer: self._done(source, question, answer),
                        on_failed=lambda exc: self._failed(source, question, exc))

    def stop(self) -> None:
        """Esc: the answer being written is dropped (a cancelled job reports nothing back)."""
        if self.pending is None:
            return
        self.engine.cancel()
        self.pending = None
        self._render()
        self.notices.set_status("Stopped answering.")

    def _partial(self, source: ImageSource, question: str, text: str) -> None:
        if source is self.source and question == self.pending:
            self._render(partial=text)

    def _done(self, source: ImageSource, question: str, answer: Any) -> None:
        text = answer.answer.strip() or "The model gave no answer."
        code = self._settings().translate_to
        if code:
            translator = self.translator()
            translate_later(self.tasks, translator, text, code,
                            lambda said: self._answered(source, question, said, code),
                            lambda exc: self._answered(source, question, text, None))
        else:
            self._answered(source, question, text, None)

    def _answered(self, source: ImageSource, question: str, text: str, language: str | None) -> None:
        if source is not self.source:
            return
        self.pending = None
        self.turns.append((question, text))
        self.last_answer = text
        self._render()
        self.notices.set_status("Answered.")
        self.earcons.play("done")
        self.speech.say(text, language=language)
        self.history.keep_conversation(self._history, source, self.conversation_text())

    def _failed(self, source: ImageSource, question: str, exc: BaseException) -> None:
        if source is not self.source:
            return
        self.pending = None
        self._render()
        if isinstance(exc, CancelledError):
            self.notices.set_status("Stopped.")
            self.speech.status("Stopped.")
            return
        self.notices.show_error(error_sentence(exc))

    # ----- showing -----
    def conversation_text(self) -> str:
        lines = []
        for question, answer in self.turns:
            lines += [f"Question: {question}", f"Answer: {answer}", ""]
        return "\n".join(lines).strip()

    def _render(self, partial: str | None = None) -> None:
        lines = [self.conversation_text(), ""] if self.turns else []
        if self.pending is not None:
            lines += [f"Question: {self.pending}", f"Answer: {partial or ''} …"]
        self.panel.conversation.setPlainText("\n".join(lines).strip())

    def copy_answer(self) -> None:
        if not self.last_answer:
            self.speech.status("There is no answer to copy.")
            return
        QGuiApplication.clipboard().setText(self.last_answer)
        self.speech.status("Answer copied.")
