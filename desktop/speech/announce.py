"""Tells screen readers about new results, status changes and errors.

Qt 6.8+ maps `QAccessibleAnnouncementEvent` to each platform's API (read in qtbase: a UI
Automation notification event on Windows, which NVDA, JAWS and Narrator speak; AT-SPI's
`object:announcement` on Linux, which Orca 43 ignores and newer Orca speaks; an NSAccessibility
announcement request for VoiceOver on macOS). desktop/speech/speech_router.py sends results to a
screen reader's own channel where it has one, and then skips the event (`send_event=False`).
`Announcer.announced` fires either way, so tests and the status line can follow.
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
        # The source is found again as parent(): a Python reference to it would make a cycle,
        # which kept a closed region chooser (and its 8 MB screenshot) until a full collection.
        super().__init__(source)
        self.last = ""

    def announce(self, message: str, assertive: bool = False, send_event: bool = True) -> None:
        """Polite by default; assertive for errors, which interrupt the reader."""
        message = message.strip()
        if not message:
            return
        self.last = message
        if send_event and QAccessibleAnnouncementEvent is not None:
            try:
                QAccessible.updateAccessibility(announcement_event(self.parent(), message, assertive))
            except Exception as exc:
                log.warning("screen reader announcement failed: %s", exc)
        self.announced.emit(message, assertive)


def announcement_event(source: QWidget, message: str, assertive: bool) -> QAccessibleAnnouncementEvent:
    """The event VoiceOver, JAWS and Narrator hear: assertive interrupts them, polite queues."""
    event = QAccessibleAnnouncementEvent(source, message)
    politeness = QAccessible.AnnouncementPoliteness
    event.setPoliteness(politeness.Assertive if assertive else politeness.Polite)
    return event
