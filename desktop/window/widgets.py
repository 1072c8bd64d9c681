"""Small widget makers shared by the dialogs: every control is born with its accessible name."""
from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPushButton


def named_button(text: str, name: str, description: str, slot: Callable) -> QPushButton:
    """A push button with its screen-reader name, description (also the tooltip) and action."""
    button = QPushButton(text)
    button.setAccessibleName(name)
    button.setAccessibleDescription(description)
    button.setToolTip(description)
    button.clicked.connect(slot)
    return button


def dialog_buttons(dialog: QDialog, buttons: QDialogButtonBox.StandardButton) -> QDialogButtonBox:
    """The dialog's standard buttons, wired to accept/reject, each named for screen readers
    without its mnemonic ampersand ("&Save" is read "Save")."""
    box = QDialogButtonBox(buttons)
    box.accepted.connect(dialog.accept)
    box.rejected.connect(dialog.reject)
    for button in box.buttons():
        button.setAccessibleName(button.text().replace("&", ""))
    return box
