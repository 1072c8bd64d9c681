"""Tells screen readers about new results, status changes and errors.

Qt 6.8+ sends `QAccessibleAnnouncementEvent` to NVDA, Narrator, Orca and VoiceOver through
their own APIs. `Announcer.announced` also fires, so tests and the status line can follow.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)

try:
    from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent
except ImportError:  # Qt older than 6.8: the status line still changes, which readers follow
    QAccessibleAnnouncementEvent = None  # type: ignore[assignment,misc]


class Announcer(QObject):
    announced = Signal(str, bool)  # message, assertive

    def __init__(self, source: QWidget) -> None:
        super().__init__(source)
        self._source = source
        self.last = ""

    def announce(self, message: str, assertive: bool = False) -> None:
        """Polite by default; assertive for errors, which interrupt the reader."""
        message = message.strip()
        if not message:
            return
        self.last = message
        if QAccessibleAnnouncementEvent is not None:
            try:
                event = QAccessibleAnnouncementEvent(self._source, message)
                politeness = QAccessible.AnnouncementPoliteness
                event.setPoliteness(politeness.Assertive if assertive else politeness.Polite)
                QAccessible.updateAccessibility(event)
            except Exception as exc:
                log.warning("screen reader announcement failed: %s", exc)
        self.announced.emit(message, assertive)
