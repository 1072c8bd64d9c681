"""Small widget makers shared by the dialogs: every control is born with its accessible name."""
from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import QPushButton


def named_button(text: str, name: str, description: str, slot: Callable) -> QPushButton:
    """A push button with its screen-reader name, description (also the tooltip) and action."""
    button = QPushButton(text)
    button.setAccessibleName(name)
    button.setAccessibleDescription(description)
    button.setToolTip(description)
    button.clicked.connect(slot)
    return button
