"""What happens as a description comes in: shown, focused and streamed, then handed to `Results`
(desktop/results/window_results.py), whose subscribers speak, translate and keep it.

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

from PySide6.QtCore import QByteArray, QObject, Qt, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QMainWindow

from desktop.notices import Notices
from desktop.results.history import make_thumbnail
from desktop.results.result_view import ResultView
from desktop.results.window_results import Results
from desktop.speech.earcons import Earcons
from desktop.speech.result_speech import ResultSpeech
from desktop.speech.speech_router import SpeechRouter
from desktop.window.drop_zone import DropZone
from desktop.work.window_describer import CANCELLED, WindowDescriber, Request, Result
from desktop.work.workers import TaskManager
from services import latency_trace

PARTIAL_MS = 300  # at most ~3 updates a second of text still being written
WHAT = {"ocr": "Reading the text in", "objects": "Looking for objects in"}


class ResultsController(QObject):
    def __init__(self, window: QMainWindow, describer: WindowDescriber, view: ResultView, drop_zone: DropZone,
                 result_speech: ResultSpeech, speech: SpeechRouter, notices: Notices, earcons: Earcons,
                 tasks: TaskManager, results: Results) -> None:
        super().__init__(window)
        self.window = window  # only for where the keyboard focus is (focus_result)
        self.describer, self.view, self.drop_zone = describer, view, drop_zone
        self.result_speech, self.speech, self.notices = result_speech, speech, notices
        self.earcons, self.tasks, self.results = earcons, tasks, results
        self._partial: tuple[Request, str] | None = None
        self._partial_timer = QTimer(self)
        self._partial_timer.setSingleShot(True)
        self._partial_timer.setInterval(PARTIAL_MS)
        self._partial_timer.timeout.connect(self._show_partial)
        self._focused_at_start: Request | None = None

    def connect(self) -> None:
        d = self.describer
        d.started.connect(self.started)
        d.partial.connect(self.partial)
        d.finished.connect(self.finished)
        d.failed.connect(self.failed)

    # ----- while working -----
    def started(self, request: Request) -> None:
        self.notices.clear_error()
        what = WHAT.get(request.options.task, "Describing")
        doing = f"{what} {request.source.display_name}…"
        self._partial = None
        self._partial_timer.stop()
        # Focus first, then the text, in this order (see the module docstring).
        reader = self.speech.reader
        self._focused_at_start = request if reader and self.focus_result(request) else None
        self.view.begin(request, doing if reader else "")
        self.result_speech.begin(request)
        self.notices.set_status(doing)
        if self._focused_at_start is None and request.index == 1:
            # Screen readers do not read the status line: say work started.
            pictures = f"{request.total} pictures" if request.total > 1 else request.source.display_name
            self.speech.status(f"{what} {pictures}…")
        data = request.source.data
        self.tasks.run(lambda: make_thumbnail(data), lambda png: self._show_thumbnail(png, request))

    def partial(self, request: Request, text: str) -> None:
        self._partial = (request, text)
        if not self._partial_timer.isActive():
            self._partial_timer.start()

    def _show_partial(self) -> None:
        if self._partial is None:
            return
        request, text = self._partial
        self._partial = None
        if request is not self.describer.active:
            return
        if self.speech.reader and self.view.text_box.hasFocus():
            self.notices.set_status(text)  # seen, not a flood of events on the focused text
        else:
            self.view.set_partial(text)

    def _show_thumbnail(self, png: bytes | None, request: Request) -> None:
        d = self.describer
        if request is not d.active and request.source is not d.current:
            return
        pixmap = QPixmap()
        if png:
            pixmap.loadFromData(QByteArray(png))
        self.drop_zone.show_thumbnail(pixmap, request.source.display_name)

    # ----- done -----
    def finished(self, result: Result) -> None:
        self._partial, _ = None, self._partial_timer.stop()
        if self._focused_at_start is not result.request:
            self.focus_result(result.request)  # focus first, then the final text
        self.view.finish(result)
        latency_trace.mark("result_shown", index=result.request.index)
        self.notices.set_status("Done.")
        self.earcons.play("done")
        # History, speech (or its translation), keywords and correction subscribe to this.
        self.results.add(result)

    def failed(self, request: Request, message: str) -> None:
        self._partial, _ = None, self._partial_timer.stop()
        if message == CANCELLED:
            self.view.stopped(message)
            self.notices.set_status(message)
            self.speech.status(message)
            return
        if self._focused_at_start is not request:
            self.focus_result(request)
        self.view.fail(message)
        self.notices.show_error(message)

    def focus_result(self, request: Request) -> bool:
        """Put the keyboard on the description, so the arrow keys read it at once; True if moved.

        Only for the first of a batch (later ones must not pull focus off Stop), and only from
        the window's own controls: focus in History or a dialog stays where the user put it."""
        if request.index != 1:
            return False
        box = self.view.text_box
        current = self.window.focusWidget()  # the window's focus child, even while it is inactive
        if current is box:
            return True
        if current is None or self.window.centralWidget().isAncestorOf(current):
            box.setFocus(Qt.FocusReason.OtherFocusReason)
            return True
        return False
