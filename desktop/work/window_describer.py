"""What the window asks for and what it gets back: requests, batches, results.

The controller keeps the current image so "Describe again", another detail level, Read text and
List objects never re-capture. A new request supersedes the one in flight (last wins), and a
batch of dropped files is described in turn.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from desktop.work.caption_engine import CaptionEngine, error_sentence
from desktop.imaging import ImageSource
from models.results import Caption, DescribeOptions

MAY_BE_WRONG = "This may be wrong."
SUPERSEDED = "Cancelled: a newer request replaced it."
CANCELLED = "Cancelled."


@dataclass(frozen=True)
class Request:
    id: int
    source: ImageSource
    options: DescribeOptions
    index: int = 1  # position in a batch of dropped files
    total: int = 1


@dataclass(frozen=True)
class Result:
    request: Request
    caption: Caption
    text: str  # what the window shows: the description, the text read, or object counts

    @property
    def uncertain(self) -> bool:
        # Text read from the image and object lists are not judged by caption confidence.
        return self.caption.task == "caption" and self.caption.uncertain

    @property
    def speech(self) -> str:
        return f"{self.text} {MAY_BE_WRONG}" if self.uncertain else self.text


def clean_text(text: str) -> str:
    """One kind of line break and no control characters: screen readers read them aloud."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in text if c in "\n\t" or ord(c) >= 32 and ord(c) != 127).strip()


def result_text(caption: Caption) -> str:
    text = clean_text(caption.caption)
    if caption.task == "objects":  # the adapter's spoken summary ("3 people and a dog."), made once
        return text or "No objects found."
    if caption.task == "ocr":
        return text or "No text found."
    return text or "The model gave no description."


# Called once per request: (result, None) on success, (None, error sentence) otherwise.
Reply = Callable[["Result | None", "str | None"], None]


class WindowDescriber(QObject):
    started = Signal(object)  # Request
    partial = Signal(object, str)  # Request, text so far
    settled = Signal(object, str)  # Request, the text the answer is sure to start with
    finished = Signal(object)  # Result
    failed = Signal(object, str)  # Request, one-sentence error
    idle = Signal()

    def __init__(self, engine: CaptionEngine, detail: str = "brief") -> None:
        super().__init__()
        self._engine = engine
        self._ids = itertools.count(1)
        self.detail = detail
        self.current: ImageSource | None = None
        self.active: Request | None = None
        self._reply: Reply | None = None
        self._queue: list[ImageSource] = []
        self._batch_total = 0
        self._batch_task = "caption"

    @property
    def busy(self) -> bool:
        return self.active is not None

    def describe(self, source: ImageSource, task: str = "caption", reply: Reply | None = None,
                 detail: str | None = None) -> Request:
        """Describe `source` (it becomes the current image), superseding any work in flight.

        `detail` overrides the remembered level for this request only."""
        self._drop_queue()
        return self._start(source, task, 1, 1, reply, detail)

    def describe_many(self, sources: list[ImageSource], task: str = "caption") -> None:
        """Describe several images in turn; a later request of any kind ends the batch."""
        if not sources:
            return
        self._drop_queue()
        self._queue = list(sources[1:])
        self._batch_total, self._batch_task = len(sources), task
        self._start(sources[0], task, 1, len(sources), None)

    def again(self, task: str = "caption", detail: str | None = None) -> Request | None:
        """Describe the current image again (another task or detail); None without one."""
        if detail is not None:
            self.detail = detail
        if self.current is None:
            return None
        return self.describe(self.current, task)

    def read_ahead(self, source: ImageSource, task: str = "auto") -> None:
        """Prepare `source` (a document's next page) in the background; describing it later
        answers at once. Any other request cancels it."""
        self._engine.read_page_ahead(source, DescribeOptions(task=task, detail=self.detail))

    def cancel(self) -> None:
        """Stop the work in flight and any batch; the last partial text stays shown."""
        self._drop_queue()
        if self.active is not None:
            self._engine.cancel()
            request, self.active = self.active, None
            self._answer(None, CANCELLED)
            self.failed.emit(request, CANCELLED)
            self.idle.emit()

    def _drop_queue(self) -> None:
        self._queue = []
        self._batch_total = 0

    def _start(self, source: ImageSource, task: str, index: int, total: int, reply: Reply | None,
               detail: str | None = None) -> Request:
        if self.active is not None:
            self._answer(None, SUPERSEDED)
        options = DescribeOptions(task=task, detail=detail or self.detail)
        request = Request(next(self._ids), source, options, index, total)
        self.current, self.active, self._reply = source, request, reply
        self.started.emit(request)
        self._engine.describe(
            source, options,
            on_text=lambda text: self._on_text(request, text),
            on_done=lambda caption: self._on_done(request, caption),
            on_failed=lambda exc: self._on_failed(request, exc),
            on_settled=lambda text: self._on_settled(request, text),
        )
        return request

    def _answer(self, result: Result | None, error: str | None) -> None:
        reply, self._reply = self._reply, None
        if reply is not None:
            reply(result, error)

    def _on_text(self, request: Request, text: str) -> None:
        if request is self.active:
            self.partial.emit(request, clean_text(text))

    def _on_settled(self, request: Request, text: str) -> None:
        if request is self.active:
            # A trailing line break says the line is whole (text read from the picture): kept.
            self.settled.emit(request, clean_text(text) + ("\n" if text.endswith("\n") else ""))

    def _on_done(self, request: Request, caption: Caption) -> None:
        if request is not self.active:
            return
        result = Result(request, caption, result_text(caption))
        self.active = None
        self._answer(result, None)
        self.finished.emit(result)
        self._next_or_idle()

    def _on_failed(self, request: Request, exc: BaseException) -> None:
        if request is not self.active:
            return
        self.active = None
        message = error_sentence(exc)
        if request.total > 1:
            message = f"{request.source.display_name}: {message}"
        self._answer(None, message)
        self.failed.emit(request, message)
        self._next_or_idle()

    def _next_or_idle(self) -> None:
        if self._queue:
            source = self._queue.pop(0)
            index = self._batch_total - len(self._queue)
            self._start(source, self._batch_task, index, self._batch_total, None)
        else:
            self._batch_total = 0
            self.idle.emit()
