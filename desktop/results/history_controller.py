"""History: keeping results and conversations (when the user turned it on) and showing past ones."""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QObject

from desktop.imaging import ImageSource
from desktop.results.history import HistoryEntry, HistoryStore
from desktop.results.history_panel import HistoryPanel
from desktop.results.result_view import ResultView
from desktop.settings import Settings
from desktop.speech.speech_router import SpeechRouter
from desktop.work.window_describer import Result
from desktop.work.workers import TaskManager


@dataclass
class ConversationRef:
    """The History entry of a conversation on screen (None until its first answer is kept)."""

    id: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class HistoryController(QObject):
    def __init__(self, store: HistoryStore, panel: HistoryPanel, view: ResultView, speech: SpeechRouter,
                 tasks: TaskManager, settings: Callable[[], Settings]) -> None:
        super().__init__(panel)
        self.store, self.panel, self.view, self.speech = store, panel, view, speech
        self.tasks, self._settings = tasks, settings

    def remember(self, result: Result) -> None:
        """A subscriber of Results.added: keep the result when History is on."""
        if not self._settings().history:
            return
        r, store = result, self.store
        self.tasks.run(
            lambda: store.add(source=r.request.source.label, task=r.caption.task, detail=r.caption.detail,
                              text=r.text, uncertain=r.uncertain, image=r.request.source.data),
            self._kept,
        )

    def keep_conversation(self, held: ConversationRef, source: ImageSource, conversation: str) -> None:
        """One History entry per conversation about a picture: the first answer adds it, later
        ones rewrite it (when History is on)."""
        if not self._settings().history:
            return
        store = self.store

        def keep() -> object:  # on a pool thread; the lock keeps one entry per conversation
            with held.lock:
                entry = store.replace_text(held.id, conversation) if held.id else None
                if entry is None:
                    entry = store.add(source=source.label, task="ask", detail="", text=conversation,
                                      uncertain=False, image=source.data)
                    held.id = entry.id
                return entry

        self.tasks.run(keep, self._kept)

    def _kept(self, _entry: object) -> None:
        if self.panel.isVisible():
            self.panel.refresh()

    def toggle(self) -> None:
        panel = self.panel
        if panel.isVisible() and panel.list.hasFocus():
            panel.hide()
            self.view.text_box.setFocus()
            return
        on = self._settings().history
        panel.set_enabled_notice(on)
        panel.refresh()
        panel.show()
        panel.focus_list()
        count = panel.list.count()
        self.speech.status(f"History, {count} result{'s' if count != 1 else ''}." if on
                           else "History is off; turn it on in Settings.")

    def show_entry(self, entry: HistoryEntry) -> None:
        self.view.show_text(entry.text, entry.uncertain)
        self.speech.say(entry.text)
