"""The window's text-first work, run on the engine's worker: PP-OCR for "ocr", and for "auto"
(the global capture shortcuts) the picture's kind first: blank -> a sentence, text -> read
(plus a brief caption line when a description model is loaded), photo -> the caption.

The TextReader is opened on the worker the first time it is needed and kept there; reading
text needs no description model, so it works on a first start.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from desktop.work.model_threads import SPIN, model_threads
from models.results import Caption, DescribeOptions

TEXT_FIRST_TASKS = ("ocr", "auto")
PAGES_KEPT = 3  # the page read ahead, the page shown and the one before it (Page Up)


def page_key(source: Any, options: DescribeOptions, captioner: Any) -> tuple:
    """What a page's result depends on: the file as it is now, the page, how it is read, and
    the description model (its figures)."""
    try:
        stat = Path(source.document).stat()
        version = (stat.st_size, stat.st_mtime_ns)
    except OSError:
        version = None
    return (str(source.document), version, source.password, source.page, options.task, options.detail,
            id(captioner))


class ReadingJob:
    """Lives on the engine's worker thread only."""

    def __init__(self, device: str) -> None:
        self._device = device
        self._first: Any = None
        self._document: Any = None  # the open models.documents.Document of the pages being read
        self._pages: OrderedDict[tuple, Any] = OrderedDict()  # page_key -> Caption, newest last

    def _text_first(self) -> Any:
        if self._first is None:
            from models.captioner import default_cache_dir
            from models.session import SessionConfig
            from models.text_first import TextFirst

            self._first = TextFirst(SessionConfig(self._device, model_threads(), default_cache_dir(), SPIN))
        return self._first

    def warm(self) -> None:
        """Open PP-OCR and read one line once (at start, on the worker): the capture shortcuts
        classify every picture with it, and the first press must not be the one that loads it."""
        from PIL import Image, ImageDraw

        picture = Image.new("RGB", (320, 96), "white")
        ImageDraw.Draw(picture).text((16, 30), "Lumen is ready", fill="black", font_size=28)
        self._text_first().reader.read(picture)

    def run(self, data: Any, options: DescribeOptions, captioner: Any, *, screen: bool,
            on_text: Callable[[str], None], should_stop: Callable[[], bool],
            on_settled: Callable[[str], None] | None = None) -> Caption:
        first = self._text_first()
        if options.task == "ocr":
            caption = first.read(data, on_settled=on_settled, should_stop=should_stop)
            on_text(caption.caption)
            return caption
        return first.describe(data, DescribeOptions(task="caption", detail=options.detail), captioner,
                              screen=screen, on_text=on_text, should_stop=should_stop,
                              on_settled=on_settled)

    def run_page(self, source: Any, options: DescribeOptions, captioner: Any, *,
                 should_stop: Callable[[], bool], on_settled: Callable[[str], None] | None = None) -> Caption:
        """A document's page (an ImageSource of kind "page"): its text layer, or PP-OCR on the
        rendered page (`source.data`), figures described; "auto" decides per page. A page read
        ahead (`read_ahead`) is answered at once."""
        return replace(self._page(source, options, captioner, should_stop, on_settled)[0])  # the caller adds the heading

    def read_ahead(self, source: Any, options: DescribeOptions, captioner: Any, *,
                   should_stop: Callable[[], bool], on_settled: Callable[[str], None] | None = None) -> bool:
        """Read the page the user will most likely ask for next, while this one is heard
        (`on_settled` hears its first lines, for a Page Down that comes before it is done).
        False when it was read already (or the read was stopped)."""
        return self._page(source, options, captioner, should_stop, on_settled)[1] and not should_stop()

    def _page(self, source: Any, options: DescribeOptions, captioner: Any, should_stop: Callable[[], bool],
              on_settled: Callable[[str], None] | None) -> tuple[Caption, bool]:
        """The page kept from an earlier read (its text said to `on_settled` at once), else read
        now and kept unless cut short; True when it was read now."""
        key = page_key(source, options, captioner)
        kept = self._pages.get(key)
        if kept is not None:
            if on_settled is not None:
                on_settled(kept.caption)
            return kept, False
        caption = self._read_page(source, options, captioner, should_stop=should_stop, on_settled=on_settled)
        if not should_stop():  # a page cut short is not kept
            self._keep(key, caption)
        return caption, True

    def _keep(self, key: tuple, caption: Caption) -> None:
        self._pages[key] = caption
        self._pages.move_to_end(key)
        while len(self._pages) > PAGES_KEPT:
            self._pages.popitem(last=False)

    def _read_page(self, source: Any, options: DescribeOptions, captioner: Any, *,
                   should_stop: Callable[[], bool], on_settled: Callable[[str], None] | None = None) -> Caption:
        from models.documents import Document, PageReader

        key = (source.document, source.password)
        if self._document is None or self._document[0] != key:
            if self._document is not None:
                self._document[1].close()
            self._document = (key, Document(source.document, password=source.password))
        page = self._document[1].page(source.page, picture=source.data)  # rendered already
        reader = PageReader(self._text_first(), captioner)
        task = "ocr" if options.task == "ocr" else "auto"
        return reader.read(page, DescribeOptions(task=task, detail=options.detail), on_settled=on_settled,
                           should_stop=should_stop).caption
