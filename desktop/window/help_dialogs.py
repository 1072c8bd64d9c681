"""Help (F1, About): read-only text in a dialog that a screen reader reads line by line."""
from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPlainTextEdit, QVBoxLayout, QWidget

from desktop.window.widgets import dialog_buttons
from models.version import lumen_version


def show_text(parent: QWidget, title: str, text: str) -> None:
    dialog = QDialog(parent)
    dialog.setWindowTitle(title)
    box = QPlainTextEdit(text)
    box.setReadOnly(True)
    box.setAccessibleName(title)
    box.setTabChangesFocus(True)
    layout = QVBoxLayout(dialog)
    layout.addWidget(box)
    layout.addWidget(dialog_buttons(dialog, QDialogButtonBox.StandardButton.Close))
    dialog.resize(parent.width() * 2 // 3, parent.height() * 2 // 3)
    box.setFocus()
    dialog.exec()


def about_text(model_name: str | None, provider: str | None) -> str:
    model = f"Model: {model_name} ({provider})." if model_name else "No model loaded."
    return f"Lumen {lumen_version()}: describes pictures aloud, offline.\n{model}"
