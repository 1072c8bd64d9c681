"""Reading one document page: its text layer, PP-OCR, or a description, decided per page.

`--task auto` (the window's way): a page with a text layer gives that text exactly, in reading
order, then each figure on it described ("Figure: ..."); a page that is mostly a picture with
little text is described like a picture (its text follows); a page without a text layer (a
scan) is rendered and treated as a picture is: blank named, text read by PP-OCR, a photo
described. `ocr` always reads (the text layer when there is one), `caption` and `objects`
always ask the description model about the rendered page. No Qt.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from models.documents.source import Page
from models.errors import INSTALL_A_MODEL
from models.documents.text_layer import Figure
from models.ocr.result import OcrResult
from models.results import Caption, DescribeOptions
from models.text_first import NoDescriptionModel, TextFirst, ocr_caption

FIGURE = "Figure:"
NOT_DESCRIBED = "Figure: not described, no description model is installed."
TEXT_LAYER = "text layer"
# Figures covering this share of a page with fewer text characters than this: a picture page.
PICTURE_PAGE_SHARE = 0.5
PICTURE_PAGE_CHARS = 200
# A picture this large under a page of text is the scan the text layer was made from.
BACKDROP_SHARE = 0.8
NO_MODEL = f"this page is a picture and no description model is installed; {INSTALL_A_MODEL}"


@dataclass
class FigureResult:
    box: tuple[float, float, float, float]
    caption: str | None  # None: no description model


@dataclass
class PageResult:
    """One page's result: the Caption the rest of Lumen knows, with where it came from."""

    number: int
    pages: int
    caption: Caption
    text_layer: bool = False
    figures: list[FigureResult] = field(default_factory=list)

    @property
    def heading(self) -> str:
        """"Page 2 of 5", said when the page is shown."""
        return f"Page {self.number} of {self.pages}"

    def to_json(self, image: str) -> dict[str, Any]:
        """`lumen describe --json`'s object for this page, with page, pages, text_layer, figures."""
        data = self.caption.to_json(image)
        data.update(page=self.number, pages=self.pages, text_layer=self.text_layer,
                    figures=[{"box": [round(v, 1) for v in f.box], "caption": f.caption} for f in self.figures])
        return data


def _share(boxes: list[Figure], size: tuple[int, int]) -> float:
    """Share of the page (w, h) covered by the union of the boxes."""
    w, h = size
    if not boxes or not w or not h:
        return 0.0
    mask = np.zeros((h, w), dtype=bool)
    for f in boxes:
        x0, y0, x1, y1 = (max(0, round(v)) for v in f.box)
        mask[y0:y1, x0:x1] = True
    return float(mask.mean())


def _area_share(figure: Figure, size: tuple[int, int]) -> float:
    x0, y0, x1, y1 = figure.box
    return (x1 - x0) * (y1 - y0) / float(max(1, size[0] * size[1]))


def text_layer_caption(page: Page) -> Caption:
    return Caption(caption=page.text, token_ids=[], confidence=1.0, task="ocr", model=TEXT_LAYER, kind="text",
                   lines=[{"text": t.text, "box": [round(v, 1) for v in t.box], "confidence": 1.0}
                          for t in page.lines])


class PageReader:
    """Reads pages with one text reader (TextFirst) and, when installed, one description model.
    Not thread-safe: keep it on the worker that owns those models."""

    def __init__(self, first: TextFirst, captioner=None) -> None:  # noqa: ANN001 - Captioner | None
        self.first = first
        self.captioner = captioner

    def read(self, page: Page, options: DescribeOptions = DescribeOptions(task="auto"), *,
             on_settled: Callable[[str], None] | None = None,
             should_stop: Callable[[], bool] | None = None) -> PageResult:
        """The page's result. `on_settled` hears the text known so far (speech starts on it).
        Raises the page's own DocumentError when it could not be read, NoDescriptionModel when a
        picture page must be described and no model is installed."""
        if page.error is not None:
            raise page.error
        t = time.perf_counter()
        if options.task in ("caption", "objects"):
            result = PageResult(page.number, page.pages, self._describe(page, options, should_stop))
        elif options.task == "ocr":
            result = self._read_text(page, on_settled, should_stop)
        else:
            result = self._auto(page, options, on_settled, should_stop)
        result.caption.timings_ms["page"] = (time.perf_counter() - t) * 1000.0
        return result

    def _describe(self, page: Page, options: DescribeOptions, should_stop) -> Caption:  # noqa: ANN001
        if self.captioner is None:
            raise NoDescriptionModel(NO_MODEL)
        return self.captioner.describe(page.picture(), replace(options, task=options.task if options.task != "auto"
                                                               else "caption"), should_stop=should_stop)

    def _read_text(self, page: Page, on_settled, should_stop) -> PageResult:  # noqa: ANN001
        if page.has_text_layer:
            if on_settled is not None:
                on_settled(page.text)
            return PageResult(page.number, page.pages, text_layer_caption(page), text_layer=True)
        heard = (lambda text: on_settled(text.replace("\n", "\n\n"))) if on_settled else None  # noqa: E731
        result = self.first.reader.read(page.picture(), on_text=heard, should_stop=should_stop)
        return PageResult(page.number, page.pages, self._ocr(result))

    def _ocr(self, result: OcrResult, kind: str | None = None) -> Caption:
        caption = ocr_caption(result, self.first.reader, kind=kind)
        caption.caption = "\n\n".join(result.paragraphs)
        return caption

    def _auto(self, page: Page, options: DescribeOptions, on_settled, should_stop) -> PageResult:  # noqa: ANN001
        if not page.has_text_layer:
            return self._scanned(page, options, on_settled, should_stop)
        placed = page.figures
        if page.text_chars >= PICTURE_PAGE_CHARS:
            placed = [f for f in placed if _area_share(f, page.size) < BACKDROP_SHARE]
        elif _share(placed, page.size) >= PICTURE_PAGE_SHARE:
            caption = self._describe(page, options, should_stop)
            caption.kind = "photo"
            caption.caption = f"{caption.caption.strip()}\n\n{page.text}"
            return PageResult(page.number, page.pages, caption, text_layer=True)
        caption = text_layer_caption(page)
        if on_settled is not None:
            on_settled(page.text)
        results, spoken = [], [page.text]
        for figure in placed:
            if should_stop is not None and should_stop():
                break
            if self.captioner is None:
                results.append(FigureResult(figure.box, None))
                spoken.append(NOT_DESCRIBED)
                continue
            described = self.captioner.describe(page.figure_picture(figure),
                                                replace(options, task="caption", alternatives=0),
                                                should_stop=should_stop)
            results.append(FigureResult(figure.box, described.caption.strip()))
            spoken.append(f"{FIGURE} {described.caption.strip()}")
        caption.caption = "\n\n".join(spoken)
        return PageResult(page.number, page.pages, caption, text_layer=True, figures=results)

    def _scanned(self, page: Page, options: DescribeOptions, on_settled, should_stop) -> PageResult:  # noqa: ANN001
        kind, rgb, reuse = self.first.classify(page.picture())
        if kind.kind == "blank":
            caption = Caption(caption=kind.blank_sentence().replace("The picture", "The page", 1),
                              token_ids=[], confidence=1.0, task="none", kind="blank")
            return PageResult(page.number, page.pages, caption)
        if kind.kind == "text":
            if isinstance(reuse, tuple) and len(reuse) == 2 and isinstance(reuse[1], OcrResult):
                result = reuse[1]
                if on_settled is not None:
                    on_settled("\n\n".join(result.paragraphs))
            else:
                heard = (lambda text: on_settled(text.replace("\n", "\n\n"))) if on_settled else None  # noqa: E731
                result = self.first.reader.read(rgb, reuse, on_text=heard, should_stop=should_stop)
            return PageResult(page.number, page.pages, self._ocr(result, kind="text"))
        if self.captioner is None:
            raise NoDescriptionModel(NO_MODEL)
        caption = self.captioner.describe(rgb, replace(options, task="caption"), should_stop=should_stop)
        caption.kind = "photo"
        return PageResult(page.number, page.pages, caption)
