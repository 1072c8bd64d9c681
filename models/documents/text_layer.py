"""A PDF page's text layer as lines with boxes, and its figures, read through PDFium.

PDFium gives every character with its box (and the line breaks it generates itself); we cut
them into line pieces and hand those to the same reading order as PP-OCR's lines
(models/ocr/layout.py), so a two-column page is read column by column whichever way it was
written into the file. Boxes are in pixels of the page rendered at `scale` (72 dpi x scale),
from the top-left, as PP-OCR's are.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from models.ocr.layout import TextLine

if TYPE_CHECKING:  # PDFium loads with the first PDF: describing a picture needs none of it
    import pypdfium2 as pdfium

# A gap between two characters of one line wider than this many font sizes cuts the line
# (text placed in table cells or columns in one text object).
WORD_GAP = 1.5
# Pictures smaller than this share of the page, or this many points on a side, are decoration
# (bullets, logos, rules), not figures to describe.
FIGURE_MIN_SHARE = 0.015
FIGURE_MIN_SIDE = 36.0


@dataclass(frozen=True)
class Figure:
    """A picture placed on the page; box (x0, y0, x1, y1) in page pixels at the page's scale."""

    box: tuple[float, float, float, float]


def _flip(box: tuple[float, float, float, float], origin: tuple[float, float], height: float,
          scale: float) -> tuple[float, float, float, float]:
    """PDF (left, bottom, right, top) from the bottom-left -> pixels (x0, y0, x1, y1) from the top-left."""
    left, bottom, right, top = box
    x, y = origin
    return ((left - x) * scale, (height - (top - y)) * scale,
            (right - x) * scale, (height - (bottom - y)) * scale)


def text_lines(page: pdfium.PdfPage, scale: float) -> list[TextLine]:
    """The page's text as line pieces in the file's order (reading_order() sorts them)."""
    import pypdfium2.raw as pdfium_c

    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        left, bottom, right, top = page.get_bbox()
        height = top - bottom
        pieces: list[TextLine] = []
        chars: list[str] = []
        box: list[float] | None = None
        last_right = None

        def cut() -> None:
            nonlocal chars, box, last_right
            text = " ".join("".join(chars).split())
            if text and box is not None:
                pieces.append(TextLine(text, 1.0, _flip(tuple(box), (left, bottom), height, scale)))
            chars, box, last_right = [], None, None

        for i in range(count):
            code = pdfium_c.FPDFText_GetUnicode(textpage.raw, i)
            char = chr(code) if code else ""
            if char in ("\x02", "\ufffe"):  # a hyphen PDFium found at the end of a line
                chars.append("-")
                cut()
                continue
            if char in ("\r", "\n") or not char:
                cut()  # PDFium's own line breaks
                continue
            if char.isspace():
                chars.append(" ")
                continue
            l, b, r, t = textpage.get_charbox(i, loose=True)
            size = pdfium_c.FPDFText_GetFontSize(textpage.raw, i) or (t - b)
            if box is not None and last_right is not None and (
                    l - last_right > WORD_GAP * size or b >= box[3] or t <= box[1]):
                cut()  # a wide gap, or the next character is on another line
            chars.append(char)
            box = [l, b, r, t] if box is None else [min(box[0], l), min(box[1], b),
                                                     max(box[2], r), max(box[3], t)]
            last_right = r
        cut()
        return pieces
    finally:
        textpage.close()


def figures(page: pdfium.PdfPage, scale: float) -> list[Figure]:
    """Pictures on the page big enough to describe, top to bottom."""
    import pypdfium2.raw as pdfium_c

    left, bottom, right, top = page.get_bbox()
    width, height = right - left, top - bottom
    found: list[Figure] = []
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]):
        l, b, r, t = obj.get_bounds()
        l, b, r, t = max(l, left), max(b, bottom), min(r, right), min(t, top)  # what is visible
        w, h = r - l, t - b
        if w < FIGURE_MIN_SIDE or h < FIGURE_MIN_SIDE or w * h < FIGURE_MIN_SHARE * width * height:
            continue
        found.append(Figure(_flip((l, b, r, t), (left, bottom), height, scale)))
    return sorted(found, key=lambda f: (f.box[1], f.box[0]))
