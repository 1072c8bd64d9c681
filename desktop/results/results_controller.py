"""What happens as a description comes in: shown, focused, streamed, spoken, translated.

The order is what a real screen reader needs (checked with Orca, tests/test_gui_orca.py):
- Focus before text. Text set and focus moved in the same turn of the event loop leaves Orca
  silent; and Orca reads only the first line of a focused text box. So while a screen reader
  runs, focus moves to the description when the work *starts* (Orca says "Description, read
  only text, red.png"); the final text then replaces "Describing red.png…" under that title
  line quietly, and the whole result goes to the reader once, through speech_router.py. Orca
  reads the box when it gets to the focus event (0.2-0.5 s later here, seconds when busy), so
  the title line keeps it from reading the result's first line too. Without a screen reader
  focus moves when the result is done.
- Streamed text is coalesced (PARTIAL_MS) and, while a screen reader runs, kept out of the
  focused description (it goes to the status line): each update of a text box is a burst of
  accessibility events, and Orca falls seconds behind a flood of them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QObject, Qt, QTimer
from PySide6.QtGui import QPixmap

from desktop.work.describer import CANCELLED, Request, Result
from desktop.work.caption_engine import error_sentence
from desktop.results.history import make_thumbnail
from services import latency_trace

if TYPE_CHECKING:
    from desktop.window.main_window import MainWindow

PARTIAL_MS = 300  # at most ~3 updates a second of text still being written
WHAT = {"ocr": "Reading the text in", "objects": "Looking for objects in"}


class ResultsController(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self._partial: tuple[Request, str] | None = None
        self._partial_timer = QTimer(self)
        self._partial_timer.setSingleShot(True)
        self._partial_timer.setInterval(PARTIAL_MS)
        self._partial_timer.timeout.connect(self._show_partial)
        self._focused_at_start: Request | None = None

    def connect(self) -> None:
        d = self.w.describer
        d.started.connect(self.started)
        d.partial.connect(self.partial)
        d.finished.connect(self.finished)
        d.failed.connect(self.failed)

    # ----- while working -----
    def started(self, request: Request) -> None:
        w = self.w
        w.error_label.hide()
        what = WHAT.get(request.options.task, "Describing")
        doing = f"{what} {request.source.display_name}…"
        self._partial = None
        self._partial_timer.stop()
        # Focus first, then the text, in this order (see the module docstring).
        self._focused_at_start = request if w.speech.reader and self.focus_result(request) else None
        w.result_view.begin(request, doing if w.speech.reader else "")
        w.result_speech.begin(request)
        w.set_status(doing)
        if self._focused_at_start is None and request.index == 1:
            # Screen readers do not read the status line: say work started.
            pictures = f"{request.total} pictures" if request.total > 1 else request.source.display_name
            w.speech.status(f"{what} {pictures}…")
        data = request.source.data
        w.tasks.run(lambda: make_thumbnail(data), lambda png: self._show_thumbnail(png, request))

    def partial(self, request: Request, text: str) -> None:
        self._partial = (request, text)
        if not self._partial_timer.isActive():
            self._partial_timer.start()

    def _show_partial(self) -> None:
        if self._partial is None:
            return
        request, text = self._partial
        self._partial = None
        if request is not self.w.describer.active:
            return
        if self.w.speech.reader and self.w.result_view.text_box.hasFocus():
            self.w.set_status(text)  # seen, not a flood of events on the focused text
        else:
            self.w.result_view.set_partial(text)

    def _show_thumbnail(self, png: bytes | None, request: Request) -> None:
        d = self.w.describer
        if request is not d.active and request.source is not d.current:
            return
        pixmap = QPixmap()
        if png:
            pixmap.loadFromData(QByteArray(png))
        self.w.drop_zone.show_thumbnail(pixmap, request.source.display_name)

    # ----- done -----
    def finished(self, result: Result) -> None:
        w = self.w
        self._partial, _ = None, self._partial_timer.stop()
        w.results[:] = [result]
        w.results_total += 1
        if self._focused_at_start is not result.request:
            self.focus_result(result.request)  # focus first, then the final text
        w.result_view.finish(result)
        latency_trace.mark("result_shown", index=result.request.index)
        w.set_status("Done.")
        w.earcons.play("done")
        if w.settings.history:
            w.history.remember(result)
        if w.settings.translate_to and result.caption.task != "ocr":  # text read stays as read
            self.translate(result)  # says the translation instead, when it is ready
        else:
            w.result_speech.finished(result)  # what was not said while decoding
        w.result_ready.emit(result)

    def failed(self, request: Request, message: str) -> None:
        w = self.w
        self._partial, _ = None, self._partial_timer.stop()
        if message == CANCELLED:
            w.result_view.stopped(message)
            w.set_status(message)
            w.speech.status(message)
            return
        if self._focused_at_start is not request:
            self.focus_result(request)
        w.result_view.fail(message)
        w.show_error(message)

    def focus_result(self, request: Request) -> bool:
        """Put the keyboard on the description, so the arrow keys read it at once; True if moved.

        Only for the first of a batch (later ones must not pull focus off Stop), and only from
        the window's own controls: focus in History or a dialog stays where the user put it."""
        if request.index != 1:
            return False
        box = self.w.result_view.text_box
        current = self.w.focusWidget()  # the window's focus child, even while it is inactive
        if current is box:
            return True
        if current is None or self.w.centralWidget().isAncestorOf(current):
            box.setFocus(Qt.FocusReason.OtherFocusReason)
            return True
        return False

    # ----- translation -----
    def translate(self, result: Result) -> None:
        """Show and say the result in the chosen language (English, and why, if that fails)."""
        w = self.w
        code, translator = w.settings.translate_to, w.translator

        def failed(exc: BaseException) -> None:
            w.speech.say(result.speech)
            w.show_error(error_sentence(exc))

        w.tasks.run(lambda: translator.translate(result.speech, code),
                    lambda text: self._translated(result, text, code), failed)

    def _translated(self, result: Result, text: str, code: str) -> None:
        w = self.w
        if w.results and w.results[-1] is result:
            w.result_view.add_translation(text)
            w.speech.say(text, language=code)
