"""Documents in the window: a PDF or multi-page TIFF dropped, opened or pasted is read page by page.

The current page is an ImageSource of kind "page" whose `data` is the rendered page (so Describe
again, Ask, History and the thumbnail treat it as any picture) and whose `document` and `page`
let the engine read its text layer (desktop/work/reading_job.py). Page Down / Page Up move
between pages and read the new one; "Page 2 of 5" starts what is said. "Read to the end" goes on
page after page, each once the last is heard, until Esc. While a page is heard the next one is
rendered and read ahead, so Page Down answers at once. Rendering runs on the task pool, never
on the GUI thread; the password dialog is the only thing asked of the user.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QInputDialog, QLineEdit, QWidget

from desktop.imaging import ImageSource
from desktop.notices import Notices
from desktop.settings import Settings
from desktop.speech.speech_router import SpeechRouter
from desktop.speech.voice import LumenVoice
from desktop.work.window_describer import WindowDescriber, Result
from desktop.work.workers import TaskManager

NO_DOCUMENT = "There is no document open; open a PDF or a multi-page TIFF first."
POLL_MS = 200  # how often "Read to the end" checks that the last page has been heard
READ_RATE = 15.0  # characters a second a screen reader speaks, about (when Lumen cannot hear it)


@dataclass
class OpenDocument:
    path: Path
    pages: int
    page: int = 1
    password: str | None = None


def page_source(document: OpenDocument, number: int, picture) -> ImageSource:  # noqa: ANN001 - PIL image
    return ImageSource(f"{document.path}, page {number} of {document.pages}", picture, "page",
                       document=document.path, page=number, pages=document.pages, password=document.password)


def render_page(document: OpenDocument, number: int):  # noqa: ANN201 - a PIL image
    """Page `number` as a picture (on the task pool, never the GUI thread)."""
    from models.documents import Document

    with Document(document.path, password=document.password) as opened:
        return opened.render(number)


class DocumentsController(QObject):
    def __init__(self, parent: QWidget, describer: WindowDescriber, tasks: TaskManager, notices: Notices,
                 speech: SpeechRouter, settings: Callable[[], Settings], voice: Callable[[], LumenVoice]) -> None:
        """`parent` owns the password dialog; `voice` is Lumen's voice now (it is swapped in once up)."""
        super().__init__(parent)
        self.parent_widget, self.describer, self.tasks, self.notices = parent, describer, tasks, notices
        self.speech, self._settings, self._voice = speech, settings, voice
        self.document: OpenDocument | None = None
        self.reading_on = False
        self._wait = QTimer(self)
        self._wait.setInterval(POLL_MS)
        self._wait.timeout.connect(self._read_on_when_heard)
        self._heard_by = 0.0
        # The next page, rendered and being read ahead while this one is heard: (document, page, picture).
        self._ahead: tuple[OpenDocument, int, object] | None = None

    def connect(self) -> None:
        self.describer.finished.connect(self._finished)
        self.describer.failed.connect(lambda _request, _message: self.stop_reading())

    # ----- opening -----
    def open(self, path: Path) -> bool:
        """Open `path` (asking its password when it has one) and read its first page. False
        when it could not be opened (the reason is shown and said)."""
        from models.documents import Document
        from models.errors import DocumentError, DocumentPasswordError

        password = None
        while True:
            try:
                with Document(path, password=password) as opened:
                    pages = opened.pages
                break
            except DocumentPasswordError as e:
                password = self.ask_password(path, str(e))
                if password is None:
                    self.notices.show_error(str(e))
                    return False
            except DocumentError as e:
                self.notices.show_error(str(e))
                return False
        self.stop_reading()
        self.document = OpenDocument(Path(path), pages, 1, password)
        self.show_page(1)
        return True

    def ask_password(self, path: Path, why: str) -> str | None:
        """The password, typed in an accessible dialog; None when cancelled."""
        text, ok = QInputDialog.getText(self.parent_widget, "Password", f"{why}\nPassword for {Path(path).name}:",
                                        QLineEdit.EchoMode.Password)
        return text if ok and text else None

    # ----- pages -----
    def show_page(self, number: int, task: str = "auto") -> None:
        """Render page `number` on the pool, then read or describe it (the current picture)."""
        document = self.document
        if document is None:
            self.notices.show_error(NO_DOCUMENT)
            return
        document.page = number
        self.notices.set_status(f"Page {number} of {document.pages}")
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] is document and ahead[1] == number:
            self.describer.describe(page_source(document, number, ahead[2]), task)  # read already
            return

        def rendered(picture) -> None:  # noqa: ANN001
            if self.document is document and document.page == number:
                self.describer.describe(page_source(document, number, picture), task)

        self.tasks.run(lambda: render_page(document, number), rendered, lambda exc: self._failed(exc))

    def _failed(self, exc: BaseException) -> None:
        from desktop.work.caption_engine import error_sentence

        self.stop_reading()
        self.notices.show_error(error_sentence(exc))

    def next_page(self) -> None:
        if self.document is None:
            self.notices.show_error(NO_DOCUMENT)
        elif self.document.page >= self.document.pages:
            self.speech.say(f"This is the last page, page {self.document.pages}.")
        else:
            self.show_page(self.document.page + 1)

    def previous_page(self) -> None:
        if self.document is None:
            self.notices.show_error(NO_DOCUMENT)
        elif self.document.page <= 1:
            self.speech.say("This is the first page.")
        else:
            self.show_page(self.document.page - 1)

    # ----- read to the end -----
    def read_to_end(self) -> None:
        """Go on page after page from the current one, each once the last is heard, until Esc."""
        if self.document is None:
            self.notices.show_error(NO_DOCUMENT)
            return
        self.reading_on = True
        current = self.describer.current
        if self.describer.busy or current is None or current.page != self.document.page:
            return  # the page being read goes on when it is done
        self._heard_by = 0.0
        self._wait.start()

    def stop_reading(self) -> None:
        self.reading_on = False
        self._wait.stop()

    def _read_next_ahead(self, result: Result) -> None:
        """Render and read the page after the one just read, while it is heard."""
        document, source = self.document, result.request.source
        if document is None or source.document != document.path or source.page >= document.pages:
            return
        number, task = source.page + 1, result.request.options.task

        def rendered(picture) -> None:  # noqa: ANN001
            if self.document is document and document.page == number - 1 and not self.describer.busy:
                self._ahead = (document, number, picture)
                self.describer.read_ahead(page_source(document, number, picture), task)

        # On failure the page is rendered again when it is asked for, and the error said then.
        self.tasks.run(lambda: render_page(document, number), rendered, lambda exc: None)

    def _finished(self, result: Result) -> None:
        source = result.request.source
        if source.kind == "page":
            self._read_next_ahead(result)
        if not self.reading_on or source.kind != "page" or self.document is None:
            return
        if source.page >= self.document.pages:
            self.stop_reading()
            return
        import time

        self._heard_by = time.monotonic() + len(result.text) / READ_RATE
        self._wait.start()

    def _read_on_when_heard(self) -> None:
        import time

        if not self.reading_on or self.document is None:
            self._wait.stop()
            return
        voice, voice_speaks = self._voice(), self.speech.mode() in ("voice", "both") and self._settings().speak
        heard = (not voice.speaking) if voice_speaks and voice.available \
            else time.monotonic() >= self._heard_by
        if heard and not self.describer.busy:
            self._wait.stop()
            if self.document.page < self.document.pages:
                self.show_page(self.document.page + 1)
            else:
                self.stop_reading()
