"""How long the GUI thread could not answer: a timer that should fire every 20 ms notes, in the
latency trace (services/latency_trace.py), every gap longer than 50 ms beyond that.

Only while tracing (LUMEN_LATENCY_TRACE): otherwise nothing runs. The tests that say "the window
is never blocked" (speech servers restarted, hammered keys) read these marks, which time the
window's own event loop rather than a client's round trip through the socket and the scheduler.
"""
from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer

from services import latency_trace

TICK_MS = 20
REPORT_OVER_MS = 50  # a gap this much longer than a tick is marked


class StallWatch(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._last = 0.0
        if latency_trace.enabled():
            self._last = time.monotonic()
            self._timer.start(TICK_MS)

    def _tick(self) -> None:
        now, before = time.monotonic(), self._last
        self._last = now
        late_ms = (now - before) * 1000 - TICK_MS
        if late_ms > REPORT_OVER_MS:
            latency_trace.mark("gui_stall", ms=round(late_ms), since=before)
