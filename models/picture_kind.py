"""What kind of picture this is, decided before describing it: blank, text or photo.

A caption model shown a page of text or a black screen invents a scene (the complaint that
sank NVDA's built-in captioner, nvaccess/nvda #19298). Lumen reads text and names blank
pictures instead. The figures are measured on tests/support/text_pages.py's pictures
(tests/test_picture_kind.py prints them) and on real ones: the photographs that ship with
scikit-image and screenshots of real programs (tests/test_picture_kind_real.py):

* blank: almost every pixel is the picture's own median colour;
* text: PP-OCR's detector finds lines of text over much of the picture, or over some of a
  picture made of flat areas (windows, dialogs, terminals: a screenshot), or over much of what
  is not background (a small dialog on a black screen);
* photo: anything else.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

KINDS = ("blank", "text", "photo")
# Share of pixels further than FAR from the median colour under which a picture is blank ...
FAR = 24
BLANK_FAR_SHARE = 0.0005
# ... or near-blank when the detector finds no text either (a pointer, a small icon, dither).
NEAR_BLANK_FAR_SHARE = 0.02
# Text kind: detected text boxes cover this share of the picture (a photographed page) ...
TEXT_COVERAGE = 0.3
# ... or this much on a picture whose pixels are mostly flat (a screenshot).
SCREEN_TEXT_COVERAGE = 0.02
FLAT_SHARE = 0.45
# A picture that is not flat is looked at small first (TextReader.glance): under this coverage
# it is a photograph, and only a likelier page of text gets the detector at full size.
GLANCE_TEXT_COVERAGE = TEXT_COVERAGE / 2
# ... or on a flat picture, this share of what differs from the background (the median colour):
# a 460x95 dialog alone on a black 1280x800 screen has text over 1.8% of the screen, 42% of the
# dialog.
CONTENT_TEXT_COVERAGE = 0.25
MIN_SCREEN_TEXT = 0.002
# A detected box is a line of text when it is low (at most this share of the picture's height)
# or long (this many times as wide as high): the detector also boxes a drawing's large dark
# shapes (a horse's silhouette, 188x185 px of a 400x328 picture), which are neither.
LINE_HEIGHT_SHARE = 0.15
LINE_ASPECT = 1.5


@dataclass(frozen=True)
class PictureKind:
    kind: str  # one of KINDS
    far_share: float  # pixels away from the median colour
    flat_share: float  # pixels equal to their right and lower neighbours
    text_coverage: float  # share of the picture inside detected text boxes
    mean: float  # mean brightness 0-255

    def blank_sentence(self, screen: bool = False) -> str:
        """"The screen is black." / "The picture is blank, all white." for a blank picture."""
        colour = "black" if self.mean < 48 else "white" if self.mean > 208 else "one colour"
        if screen:
            return "The screen is black." if colour == "black" else f"The screen is blank, all {colour}."
        return f"The picture is blank, all {colour}."


def pixel_statistics(rgb: Image.Image) -> tuple[float, float, float]:
    """(far share, flat share, mean brightness) on a copy no larger than 512 px."""
    small = rgb.convert("RGB")
    if max(small.size) > 512:
        small = small.copy()
        small.thumbnail((512, 512), Image.Resampling.NEAREST)  # nearest: keeps flat areas flat
    pixels = np.asarray(small, dtype=np.int16)
    median = np.median(pixels.reshape(-1, 3), axis=0)
    far = float((np.abs(pixels - median).max(axis=2) > FAR).mean())
    gray = pixels.mean(axis=2)
    flat = (np.abs(np.diff(gray, axis=1))[:-1, :] < 1) & (np.abs(np.diff(gray, axis=0))[:, :-1] < 1)
    return far, float(flat.mean()) if flat.size else 1.0, float(gray.mean())


def text_coverage(boxes: np.ndarray, size: tuple[int, int]) -> float:
    """Share of the picture (w, h) inside the union of the detected boxes that are lines of text."""
    w, h = size
    if len(boxes) == 0 or not w or not h:
        return 0.0
    mask = np.zeros((h, w), dtype=bool)
    for box in boxes:
        x0, y0 = np.floor(box.min(axis=0)).astype(int)
        x1, y1 = np.ceil(box.max(axis=0)).astype(int)
        if y1 - y0 > LINE_HEIGHT_SHARE * h and x1 - x0 < LINE_ASPECT * (y1 - y0):
            continue  # a tall, short box: a shape, not a line of text
        mask[max(0, y0):y1, max(0, x0):x1] = True
    return float(mask.mean())


def decide(far: float, flat: float, coverage: float | None, mean: float) -> PictureKind:
    """The kind from the measurements; coverage None: the detector was not needed."""
    if far < BLANK_FAR_SHARE or (coverage == 0.0 and far < NEAR_BLANK_FAR_SHARE):
        return PictureKind("blank", far, flat, coverage or 0.0, mean)
    coverage = coverage or 0.0
    screen_text = coverage >= SCREEN_TEXT_COVERAGE or (
        coverage >= MIN_SCREEN_TEXT and coverage >= CONTENT_TEXT_COVERAGE * far)
    is_text = coverage >= TEXT_COVERAGE or (screen_text and flat >= FLAT_SHARE)
    return PictureKind("text" if is_text else "photo", far, flat, coverage, mean)


def needs_detection(far: float) -> bool:
    return far >= BLANK_FAR_SHARE
