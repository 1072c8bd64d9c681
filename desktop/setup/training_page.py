"""Settings → Training set: where the corrections are, how many and how large; export, clear."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (QCheckBox, QFileDialog, QHBoxLayout, QLabel, QMessageBox, QPushButton,
                               QVBoxLayout, QWidget)

from desktop.results.correction import OPT_IN_KEY
from models.fsutil import human_size
from models.errors import LumenError
from services.training_set import TrainingSet, storage_statement


class TrainingSetPage(QWidget):
    def __init__(self, training_set: TrainingSet | None = None, store: QSettings | None = None) -> None:
        super().__init__()
        self.training_set = training_set or TrainingSet()
        self.store = store
        self.setAccessibleName("Training set")
        intro = QLabel(storage_statement(self.training_set.root))
        intro.setWordWrap(True)
        self.enabled = QCheckBox("Save my &corrections (F2 in the main window)")
        self.enabled.setAccessibleName("Save my corrections")
        self.enabled.setChecked(str(self._settings().value(OPT_IN_KEY, "")).lower() == "true")
        self.enabled.toggled.connect(lambda on: self._settings().setValue(OPT_IN_KEY, "true" if on else "false"))
        self.summary = QLabel()
        self.summary.setAccessibleName("Training set size")
        self.export_button = QPushButton("&Export…")
        self.export_button.setAccessibleName("Export the training set")
        self.export_button.clicked.connect(self.export)
        self.clear_button = QPushButton("C&lear…")
        self.clear_button.setAccessibleName("Clear the training set")
        self.clear_button.clicked.connect(self.clear)
        row = QHBoxLayout()
        row.addWidget(self.export_button)
        row.addWidget(self.clear_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        for w in (intro, self.enabled, self.summary):
            layout.addWidget(w)
        layout.addLayout(row)
        layout.addStretch(1)
        self.refresh()

    def _settings(self) -> QSettings:
        if self.store is None:
            from desktop.settings import open_qsettings

            self.store = open_qsettings()
        return self.store

    def refresh(self) -> None:
        count = len(self.training_set)
        self.summary.setText(f"{count} picture{'s' if count != 1 else ''}, "
                             f"{human_size(self.training_set.size_bytes())}, in {self.training_set.root}")
        self.export_button.setEnabled(count > 0)
        self.clear_button.setEnabled(count > 0)

    def export(self, dest: str | None = None) -> Path | None:
        if dest is None:
            dest, _ = QFileDialog.getSaveFileName(self, "Export the training set",
                                                  str(Path.home() / "lumen-training-set.zip"), "Zip archive (*.zip)")
            if not dest:
                return None
        try:
            out = self.training_set.export(Path(dest))
        except (LumenError, OSError) as e:
            QMessageBox.warning(self, "Export failed", str(e))
            return None
        self.summary.setText(f"Exported to {out}. " + self.summary.text())
        return out

    def clear(self, confirm: bool = True) -> int:
        count = len(self.training_set)
        if confirm and QMessageBox.question(
                self, "Clear the training set?",
                f"Delete all {count} saved pictures and corrections from {self.training_set.root}? "
                "This cannot be undone.") != QMessageBox.StandardButton.Yes:
            return 0
        removed = self.training_set.clear()
        self.refresh()
        return removed
