"""Copy (Ctrl+C) and Save as text (Ctrl+S): the description leaving the window."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QWidget

from desktop.notices import Notices
from desktop.results.result_view import ResultView
from desktop.speech.speech_router import SpeechRouter


class DescriptionCommands:
    def __init__(self, parent: QWidget, view: ResultView, notices: Notices, speech: SpeechRouter) -> None:
        self.parent, self.view, self.notices, self.speech = parent, view, notices, speech

    def copy(self) -> None:
        text = self.view.selected_text() or self.view.text()
        if not text:
            self.speech.status("There is no description to copy.")
            return
        QGuiApplication.clipboard().setText(text)
        self.speech.status("Description copied.")

    def save(self) -> None:
        text = self.view.text()
        if not text:
            self.notices.show_error("There is no description to save yet.")
            return
        path, _ = QFileDialog.getSaveFileName(self.parent, "Save description", str(Path.home() / "description.txt"),
                                              "Text files (*.txt);;All files (*)")
        if not path:
            return
        try:
            Path(path).write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            self.notices.show_error(f"The description could not be saved ({exc.strerror or exc}); choose another folder.")
            return
        self.speech.status(f"Saved to {Path(path).name}.")
        self.notices.set_status(f"Saved to {path}.")
