"""What a window controller may tell the user besides speech: the status line and the one-sentence
error notice. The main window provides it; controllers receive it instead of the window."""
from __future__ import annotations

from typing import Protocol


class Notices(Protocol):
    def show_error(self, message: str) -> None:
        """One sentence, shown, announced and spoken; never a dialog, never fatal."""

    def clear_error(self) -> None:
        """Hide the error notice (new work has started)."""

    def set_status(self, message: str) -> None:
        """The status line (screen readers do not read it by themselves)."""
