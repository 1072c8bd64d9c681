"""A capture from the window: Lumen hides, the screen, window or region is grabbed, and the picture
is described (text read, for "text"; its kind decided first, for the others)."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject

from desktop.capture.grab import Capturer
from desktop.imaging import ImageSource
from desktop.notices import Notices
from desktop.speech.earcons import Earcons
from desktop.work.window_describer import WindowDescriber, Reply
from desktop.work.workers import Coalescer
from services import latency_trace


class CaptureFlow(QObject):
    def __init__(self, parent: QObject, capturer: Capturer, describer: WindowDescriber, earcons: Earcons,
                 notices: Notices, pressed_just_now: Callable[[], bool]) -> None:
        """`pressed_just_now`: whether a global shortcut has just taken this press (desktop/capture/
        hotkey_controller.py), so the window's own copy of its keys does not capture twice."""
        super().__init__(parent)
        self.capturer, self.describer, self.earcons, self.notices = capturer, describer, earcons, notices
        self._pressed_just_now = pressed_just_now
        self._coalescer = Coalescer(150, self)

    def capture(self, kind: str, reply: Reply | None = None, detail: str | None = None) -> None:
        """Capture (hiding Lumen first), then describe; `reply` hears how it ended."""
        def captured(source: ImageSource) -> None:
            latency_trace.mark("captured", kind=kind)
            # The capture shortcuts first decide the kind: text is read, a blank screen named.
            self.describer.describe(source, "ocr" if kind == "text" else "auto", reply, detail)

        def failed(message: str) -> None:
            self.notices.show_error(message)
            if reply is not None:
                reply(None, message)

        if reply is None and self.capturer.retarget(kind, captured, failed):
            return  # a shortcut pressed while the last one's grab is pending: this one wins
        self.earcons.play("capture")
        if not self.capturer.capture(kind, captured, failed, replaceable=reply is None) and reply is not None:
            reply(None, "Lumen is already capturing; try again in a moment.")

    def soon(self, kind: str) -> Callable[[], None]:
        """What a button, menu action or tray item for `kind` runs: a burst merged into one capture,
        and a press a global shortcut already took is not captured twice."""
        def fire() -> None:
            if not self._pressed_just_now():
                self.capture(kind)

        return lambda: self._coalescer.call(fire)
