"""Letting a model go when it has not been used for a while.

A window in the tray all day should not carry a model for one use in the morning. The timer
runs on the GUI thread; the model is let go on its own worker (where it lives and runs), and
only when it really has been idle: idle time counts from the end of the last use, while the
timer started at its beginning, so a long use (or another meanwhile) starts the wait again.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

from desktop.work.workers import JobContext, SerialWorker
from services.worker import LOW

RELEASE_LANE = "release"
RELEASE_AFTER_S = 600.0  # ten minutes without a use


class IdleRelease(QObject):
    """Calls `release` (on `worker`) once the model has been idle for `after_s` seconds;
    `release` returns True when it let something go. `releases` counts them (tests read it:
    the owners keep it as `idle`)."""

    def __init__(self, worker: SerialWorker, after_s: float, release: Callable[[], bool], name: str,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker, self._after_s, self._release, self._name = worker, after_s, release, name
        self.releases = 0
        self._used = time.monotonic()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(int(after_s * 1000))
        self._timer.timeout.connect(self._due)

    def touch(self) -> None:
        """A use begins (GUI thread): the wait starts again."""
        self._used = time.monotonic()
        self._timer.start()

    def used(self) -> None:
        """A use ended (worker thread): idle time counts from now."""
        self._used = time.monotonic()

    def _due(self) -> None:
        from models.memory import release_free_memory

        def job(ctx: JobContext) -> None:
            # Qt's coarse timers may fire up to 5% early, hence the margin.
            if time.monotonic() - self._used < 0.9 * self._after_s:
                ctx.post(self._timer.start)
                return
            if self._release():
                self.releases += 1
                release_free_memory()

        self._worker.submit(job, lane=RELEASE_LANE, priority=LOW, name=self._name)
