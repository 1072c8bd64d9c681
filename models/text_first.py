"""Read before describing: decide the picture's kind, then read its text, name it blank, or
caption it. Shared by `lumen describe --task auto|ocr`, `lumen capture` and the window.

PP-OCR text is never translated (it is spoken as read, in the picture's own language); the
sentences Lumen writes itself and captions are. No Qt, no torch.
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
from PIL import Image

from models.errors import INSTALL_A_MODEL, ModelFolderError
from models.image_io import load_image
from models.ocr.result import OcrResult
from models.picture_kind import (FLAT_SHARE, GLANCE_TEXT_COVERAGE, NEAR_BLANK_FAR_SHARE, PictureKind, decide,
                                 needs_detection, pixel_statistics, text_coverage)
from models.results import Caption, DescribeOptions
from models.session import SessionConfig

if TYPE_CHECKING:
    from models.ocr.reader import TextReader

TEXT_INTRO = "A page of text:"
NO_TEXT = "No text found."
ALSO = "Also in the picture:"
OCR_ENGINES = ("ppocr", "florence")

ImageInput = str | Path | bytes | Image.Image


def ocr_caption(result: OcrResult, reader: TextReader, kind: str | None = None) -> Caption:
    return Caption(
        caption=result.text, token_ids=[], confidence=result.confidence, task="ocr", detail="brief",
        model=reader.name, provider=reader.provider, timings_ms=result.timings_ms, kind=kind,
        lines=[{"text": t.text, "box": [round(v, 1) for v in t.box], "confidence": round(t.score, 4)}
               for t in result.lines],
    )


def _open_reader(config: SessionConfig) -> TextReader:
    from models.ocr.reader import TextReader  # OpenCV and the PP-OCR sessions: on first use

    return TextReader(config=config)


class TextFirst:
    """Holds the text reader (opened on first use) for kind checks and reading."""

    def __init__(self, config: SessionConfig = SessionConfig(),
                 reader_factory: Callable[[SessionConfig], TextReader] | None = None) -> None:
        self._config = config
        self._factory = reader_factory or _open_reader
        self._reader: TextReader | None = None

    @property
    def reader(self) -> TextReader:
        if self._reader is None:
            self._reader = self._factory(self._config)
        return self._reader

    def classify(self, image: ImageInput) -> tuple[PictureKind, Image.Image, tuple | None]:
        """(kind, the decoded picture, what to reuse for reading: the detection, (detection,
        reading) when the text had to be read to decide, or None)."""
        rgb = load_image(image)
        far, flat, mean = pixel_statistics(rgb)
        if not needs_detection(far):
            return decide(far, flat, None, mean), rgb, None
        if flat < FLAT_SHARE and far >= NEAR_BLANK_FAR_SHARE:
            # Photo-like: a glance at a quarter of the detector's cost tells a photograph from
            # a photographed page (shortcut -> first word on a photo 0.2 s sooner on 2 cores).
            found, scale = self.reader.glance(rgb)
            glanced = text_coverage(found.boxes / scale, rgb.size)
            if glanced < GLANCE_TEXT_COVERAGE:
                return decide(far, flat, glanced, mean), rgb, None
        detection = self.reader.detect(rgb, quick=True)
        _, found, scale = detection
        coverage = text_coverage(found.boxes / scale, rgb.size)
        kind = decide(far, flat, coverage, mean)
        if kind.kind == "text" and flat < FLAT_SHARE:
            # Not a screenshot: on photos the detector also boxes stripes and edges. Count only
            # what the recogniser reads with confidence (the reading is kept for later).
            result = self.reader.read(rgb, detection)
            confirmed = text_coverage(np.array([[[t.box[0], t.box[1]], [t.box[2], t.box[3]]]
                                                for t in result.lines if len(t.text) > 1]), rgb.size)
            kind = decide(far, flat, confirmed, mean)
            return kind, rgb, (detection, result)
        return kind, rgb, detection

    def read(self, image: ImageInput, *, on_settled: Callable[[str], None] | None = None,
             should_stop: Callable[[], bool] | None = None) -> Caption:
        """`--task ocr`: the text in reading order (empty when there is none). `on_settled`
        hears the text read so far, a few lines at a time (speech starts on the first ones)."""
        t = time.perf_counter()
        rgb = load_image(image)
        result = self.reader.read(rgb, on_text=on_settled, should_stop=should_stop)
        result.timings_ms["total"] = (time.perf_counter() - t) * 1000.0
        return ocr_caption(result, self.reader)

    def describe(self, image: ImageInput, options: DescribeOptions, captioner=None, *,  # noqa: ANN001
                 screen: bool = False, on_text: Callable[[str], None] | None = None,
                 should_stop: Callable[[], bool] | None = None,
                 on_settled: Callable[[str], None] | None = None,
                 classified: tuple | None = None) -> Caption:
        """`--task auto`: blank -> a sentence; text -> read (plus one brief caption line when a
        description model is given); photo -> the caption. A photo without a captioner raises
        NoDescriptionModel."""
        t = time.perf_counter()
        kind, rgb, detection = classified or self.classify(image)  # classified: classify()'s answer
        classify_ms = (time.perf_counter() - t) * 1000.0
        if kind.kind == "blank":
            return Caption(caption=kind.blank_sentence(screen), token_ids=[], confidence=1.0,
                           task="none", model="", kind="blank",
                           timings_ms={"classify": classify_ms})
        if kind.kind == "text":
            if isinstance(detection[1], OcrResult):  # read in full to decide the kind
                result = detection[1]
            else:
                heard = None
                if on_settled is not None:
                    on_settled(f"{TEXT_INTRO}\n")  # said while the first lines are read
                    heard = lambda text: on_settled(f"{TEXT_INTRO}\n{text}")  # noqa: E731
                result = self.reader.read(rgb, detection, on_text=heard, should_stop=should_stop)
            caption = ocr_caption(result, self.reader, kind="text")
            spoken = f"{TEXT_INTRO}\n{result.text}" if result.text else NO_TEXT
            if captioner is not None and not (should_stop and should_stop()):
                brief = captioner.describe(rgb, replace(options, task="caption", detail="brief",
                                                        alternatives=0), should_stop=should_stop)
                if brief.caption.strip():
                    spoken = f"{spoken}\n{ALSO} {brief.caption.strip()}"
            caption.caption = spoken
            caption.timings_ms["classify"] = classify_ms
            if on_text is not None:
                on_text(spoken)
            return caption
        if captioner is None:
            raise NoDescriptionModel(f"this picture is a photo and no description model is installed; {INSTALL_A_MODEL}")
        streaming = {"on_settled": on_settled} if on_settled is not None else {}
        caption = captioner.describe(rgb, replace(options, task="caption"), on_text=on_text,
                                     should_stop=should_stop, **streaming)
        caption.kind = "photo"
        caption.timings_ms["classify"] = classify_ms
        return caption


class NoDescriptionModel(ModelFolderError):
    """A photo was to be captioned, but only the text reader is installed."""
