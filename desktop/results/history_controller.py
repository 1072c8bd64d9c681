"""History: keeping results (when the user turned it on) and showing past ones."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from desktop.work.describer import Result
from desktop.results.history import HistoryEntry

if TYPE_CHECKING:
    from desktop.window.main_window import MainWindow


class HistoryController(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window

    def remember(self, result: Result) -> None:
        r, store, panel = result, self.w.store, self.w.history_panel
        self.w.tasks.run(
            lambda: store.add(source=r.request.source.label, task=r.caption.task, detail=r.caption.detail,
                              text=r.text, uncertain=r.uncertain, image=r.request.source.data),
            lambda _entry: panel.isVisible() and panel.refresh(),
        )

    def toggle(self) -> None:
        panel, w = self.w.history_panel, self.w
        if panel.isVisible() and panel.list.hasFocus():
            panel.hide()
            w.result_view.text_box.setFocus()
            return
        panel.set_enabled_notice(w.settings.history)
        panel.refresh()
        panel.show()
        panel.focus_list()
        count = panel.list.count()
        w.speech.status(f"History, {count} result{'s' if count != 1 else ''}." if w.settings.history
                        else "History is off; turn it on in Settings.")

    def show_entry(self, entry: HistoryEntry) -> None:
        self.w.result_view.show_text(entry.text, entry.uncertain)
        self.w.speech.say(entry.text)
