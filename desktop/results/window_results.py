"""The window's results, owned in one place.

A finished description is added here once; `added` tells its subscribers (history, Lumen's voice
and the screen reader, translation, keywords, correction; the main window wires them in that
order). Nobody else keeps a list of results: ask `latest` or `is_latest`. Only the latest is
held: each holds its request's picture (a screen capture is 3.5 MB), so keeping them all grew the
window by that much per capture for as long as it ran.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from desktop.work.window_describer import Result


class Results(QObject):
    added = Signal(object)  # Result

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._latest: Result | None = None
        self._count = 0

    def add(self, result: Result) -> None:
        self._latest = result
        self._count += 1
        self.added.emit(result)

    @property
    def latest(self) -> Result | None:
        return self._latest

    def is_latest(self, result: Result) -> bool:
        """Whether `result` is still the newest (late work for an older one is dropped)."""
        return result is self._latest

    def __len__(self) -> int:
        return self._count
