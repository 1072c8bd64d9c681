""""Correct this description" (F2): edit the latest description; the picture and the corrected
text go to the local training set (services/training_set.py) that `lumen train` reads.

F2 is "edit the selected item" in file managers and spreadsheets, so it means the same here;
no screen reader (NVDA, JAWS, Narrator, Orca, VoiceOver) binds F2 alone (theirs take a modifier:
Insert, CapsLock, Ctrl+Option), nor do Windows, GNOME or KDE in an application window, and Lumen
uses F1 (keys) and F5 (describe again) only. Saving is opt-in: the first time, a plain statement
says what is stored where; the answer is remembered in the app's settings.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QLabel, QMessageBox, QPlainTextEdit,
                               QVBoxLayout, QWidget)

from desktop.notices import Notices
from desktop.speech.speech_router import SpeechRouter
from desktop.window.widgets import dialog_buttons
from desktop.work.window_describer import Result
from desktop.work.workers import TaskManager
from services.training_set import Example, TrainingSet, storage_statement

OPT_IN_KEY = "training/save_corrections"
NOTHING = "There is no description to correct yet; open, paste or capture a picture first."


class CorrectionDialog(QDialog):
    """The description in an editable box, Save and Cancel."""

    def __init__(self, parent: QWidget | None, text: str, picture: str) -> None:
        super().__init__(parent)
        self.setWindowTitle("Correct this description")
        self.setAccessibleName("Correct this description")
        label = QLabel(f"Write what {picture} really shows. Your text and the picture are saved "
                       "to your training set.")
        label.setWordWrap(True)
        self.editor = QPlainTextEdit(text)
        self.editor.setAccessibleName("Corrected description")
        self.editor.setAccessibleDescription("Edit the text, then press Tab and Save.")
        self.editor.setTabChangesFocus(True)
        self.editor.selectAll()
        label.setBuddy(self.editor)
        buttons = dialog_buttons(self, QDialogButtonBox.StandardButton.Save
                                 | QDialogButtonBox.StandardButton.Cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.editor, 1)
        layout.addWidget(buttons)
        self.editor.setFocus()

    def text(self) -> str:
        return " ".join(self.editor.toPlainText().split())


class CorrectionController(QObject):
    """Remembers the latest caption and its picture (a subscriber of Results.added); `open()` is
    the F2 action."""

    saved = Signal(object)  # the services.training_set.Example

    def __init__(self, parent: QWidget, notices: Notices, speech: SpeechRouter, tasks: TaskManager,
                 training_set: TrainingSet | None = None, store: QSettings | None = None) -> None:
        super().__init__(parent)
        self.parent_widget, self.notices, self.speech, self.tasks = parent, notices, speech, tasks
        self.training_set = training_set or TrainingSet()
        self.store = store
        self.last = None  # (ImageSource, caption text) of the latest description

    def _settings(self) -> QSettings:
        if self.store is None:
            from desktop.settings import open_qsettings

            self.store = open_qsettings()
        return self.store

    def remember(self, result: Result) -> None:
        if result.caption.task == "caption" and result.caption.caption.strip():
            self.last = (result.request.source, result.caption.caption)

    def opted_in(self) -> bool:
        return str(self._settings().value(OPT_IN_KEY, "")).lower() == "true"

    def ask_opt_in(self) -> bool:
        answer = QMessageBox.question(
            self.parent_widget, "Save corrections?",
            storage_statement(self.training_set.root) + "\n\nSave your corrections?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        agreed = answer == QMessageBox.StandardButton.Yes
        if agreed:
            self._settings().setValue(OPT_IN_KEY, "true")
        return agreed

    def open(self) -> None:
        if self.last is None:
            self.notices.show_error(NOTHING)
            return
        if not self.opted_in() and not self.ask_opt_in():
            self.speech.status("Corrections are not saved.")
            return
        source, text = self.last
        dialog = CorrectionDialog(self.parent_widget, text, source.display_name)
        if dialog.exec() != QDialog.DialogCode.Accepted or not dialog.text():
            return
        corrected = dialog.text()
        self.tasks.run(lambda: self.training_set.add(source.data, corrected, source="window"),
                       self._done, lambda e: self.notices.show_error(f"The correction was not saved: {e}"))

    def _done(self, example: Example) -> None:
        count = len(self.training_set)
        self.speech.status(f"Correction saved. Your training set has {count} "
                        f"picture{'s' if count != 1 else ''}.")
        self.saved.emit(example)
