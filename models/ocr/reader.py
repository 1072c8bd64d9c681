"""`TextReader`: a picture in, its text in reading order out (PP-OCR; no Qt, no torch)."""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from models.errors import CancelledError
from models.memory import release_free_memory
from models.image_io import load_image
from models.ocr.detect import MAX_SIDE, Detection, detect
from models.ocr.files import OcrFiles, find_ocr_files
from models.ocr.layout import TextLine, reading_order
from models.ocr.result import OcrResult
from models.ocr.recognize import TEXT_SCORE, crop_line, dictionary, recognize, turn_upside_down_lines
from models.session import CPU, SessionConfig, create_session

MIN_SIDE = 30  # rapidocr's min_side_len: smaller pictures are scaled up first
# rapidocr brings a picture's longer side down to 2000 px (MAX_SIDE), which made a 3840 x 2160
# screen of 15 px text 8 px text: 79% of its characters wrong (13 px on 2560 x 1440: 5.4%).
# With the detector in bands its memory no longer grows with the picture, so text is read at
# its own size up to this many pixels (a 4K screen; load_image keeps sides within 4096):
# 0.14% and 0.06% wrong. The kind check still looks the quick way (`detect(quick=True)`, 0.6 s
# instead of 3 s for a 4K screen: "A page of text:" is said as soon); reading then looks again
# at the text's own size.
READ_PIXELS = 4096 * 2304
# A glance (the kind check of a photograph) looks at the picture this small: a 1280 x 900
# picture in a quarter of the detector's time, lines of a photographed page still found.
GLANCE_SIDE = 448


def reading_scale(size: tuple[int, int], quick: bool = False) -> float:
    """The scale the text of a picture of `size` is looked at: within READ_PIXELS (`quick`: as
    rapidocr, within MAX_SIDE a side), and sides of at least MIN_SIDE."""
    w, h = size
    if quick and max(w, h) > MAX_SIDE:
        return MAX_SIDE / max(w, h)
    if w * h > READ_PIXELS:
        return (READ_PIXELS / (w * h)) ** 0.5
    if min(w, h) < MIN_SIDE:
        return MIN_SIDE / min(w, h)
    return 1.0


def to_bgr(rgb: Image.Image, quick: bool = False) -> tuple[np.ndarray, float]:
    """The picture as PP-OCR's BGR array at its reading_scale(); and that scale."""
    scale = reading_scale(rgb.size, quick)
    return scaled_bgr(rgb, scale), scale


def scaled_bgr(rgb: Image.Image, scale: float) -> np.ndarray:
    """The picture resized by `scale` (bilinear), as a BGR array."""
    if scale != 1.0:
        w, h = rgb.size
        rgb = rgb.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR)
    return np.ascontiguousarray(np.asarray(rgb.convert("RGB"))[:, :, ::-1])


class TextReader:
    """Reads text with the PP-OCR sessions. Not thread-safe: keep it on one worker.

    The direction classifier is off by default, as in PaddleOCR (use_angle_cls=False): screen
    text is upright, and on long lines of small text the mobile classifier calls upright lines
    upside down (seen on our rendered pages, in rapidocr's own pipeline too), losing them."""

    name = "PP-OCRv4"

    def __init__(self, files: OcrFiles | None = None, config: SessionConfig = SessionConfig(),
                 *, use_direction: bool = False) -> None:
        t = time.perf_counter()
        self.files = files or find_ocr_files()
        self._det = create_session(self.files.detect, config)
        self.provider, self.warning = self._det.provider, self._det.warning
        # The recogniser runs batches side by side, one core each (see recognize()); on CUDA
        # one run at a time.
        cores = config.threads or os.cpu_count() or 1
        self._rec = create_session(self.files.recognize, replace(config, threads=1) if cores > 1 else config)
        self._rec_workers = cores if self._rec.provider == CPU else 1
        self._cls = create_session(self.files.direction, config) if use_direction else None
        self._characters = dictionary(self._rec)
        self.load_ms = (time.perf_counter() - t) * 1000.0

    def detect(self, image: str | Path | bytes | Image.Image, *,
               quick: bool = False) -> tuple[np.ndarray, Detection, float]:
        """(BGR pixels, detection in those pixels, scale from the picture to them). `quick`:
        a picture larger than MAX_SIDE is looked at that small (enough to tell a page of text;
        read() looks again at the text's own size)."""
        bgr, scale = to_bgr(load_image(image), quick)
        return bgr, detect(self._det, bgr), scale

    def glance(self, image: str | Path | bytes | Image.Image) -> tuple[Detection, float]:
        """(detection, scale from the picture to it) on the picture brought down to GLANCE_SIDE
        pixels on its shorter side (and MAX_SIDE on its longer), never up (detect() brings
        small pictures up to 736)."""
        rgb = load_image(image)
        w, h = rgb.size
        scale = min(1.0, GLANCE_SIDE / min(w, h), MAX_SIDE / max(w, h))
        return detect(self._det, scaled_bgr(rgb, scale), limit_side=0), scale

    def read(self, image: str | Path | bytes | Image.Image,
             detection: tuple[np.ndarray, Detection, float] | None = None, *,
             on_text: Callable[[str], None] | None = None,
             should_stop: Callable[[], bool] | None = None) -> OcrResult:
        """All text in reading order; `detection` reuses an earlier `detect` of the same picture.

        With `on_text`, lines are read in reading order, a few at a time, and `on_text` hears
        the text read so far after each group (a full screen takes seconds on a small CPU; its
        first lines are ready in a fraction of that, so speech can start on them). It is the
        best guess of how the text begins: the result's text is ordered again from every line
        read, and a listener must take that final text as the truth."""
        timings: dict[str, float] = {"load": self.load_ms}
        t = time.perf_counter()
        if detection is not None:
            image = load_image(image)
            if detection[2] < reading_scale(image.size):
                detection = None  # a quick look at a smaller size: the text is read at its own
        bgr, found, scale = detection or self.detect(image)
        timings["detect"] = (time.perf_counter() - t) * 1000.0
        t = time.perf_counter()
        boxes = [_line_box(box, scale) for box in found.boxes]
        groups = [list(range(len(boxes)))]
        if on_text is not None and boxes:
            groups = reading_groups(boxes)
        lines: list[TextLine | None] = [None] * len(boxes)
        for group in groups:
            if should_stop is not None and should_stop():
                raise CancelledError("stopped")
            crops = [crop_line(bgr, found.boxes[i]) for i in group]
            if self._cls is not None:
                crops = turn_upside_down_lines(self._cls, crops)
            for i, (text, score) in zip(group, recognize(self._rec, crops, self._characters,
                                                             self._rec_workers)):
                if score >= TEXT_SCORE and text.strip():
                    lines[i] = TextLine(text.strip(), score, boxes[i])
            if on_text is not None and len(groups) > 1:
                if "first_group" not in timings:
                    timings["first_group"] = (time.perf_counter() - t) * 1000.0
                on_text("\n".join(reading_order([x for x in lines if x is not None])[1]))
        timings["recognize"] = (time.perf_counter() - t) * 1000.0
        ordered, paragraphs = reading_order([x for x in lines if x is not None])
        h, w = bgr.shape[:2]
        release_free_memory()  # what the detector's arena gave back, glibc would otherwise keep
        return OcrResult(ordered, paragraphs, (round(w / scale), round(h / scale)), timings)


# Lines read together while streaming: the first group small (first words soon), then larger
# groups (the recogniser batches lines of similar width; a group of 8 screen lines loses nothing).
FIRST_GROUP, GROUP = 2, 8


def _line_box(box: np.ndarray, scale: float) -> tuple[float, float, float, float]:
    x0, y0 = box.min(axis=0) / scale
    x1, y1 = box.max(axis=0) / scale
    return float(x0), float(y0), float(x1), float(y1)


def reading_groups(boxes: list[tuple[float, float, float, float]]) -> list[list[int]]:
    """Indices of `boxes` in reading order (as if every box held text), in groups."""
    placeholders = [TextLine(str(i), 1.0, box) for i, box in enumerate(boxes)]
    order = [int(t.text) for t in reading_order(placeholders)[0]]
    groups = [order[:FIRST_GROUP]]
    groups += [order[k:k + GROUP] for k in range(FIRST_GROUP, len(order), GROUP)]
    return [g for g in groups if g]
