"""Reading order for text found on a page or a screen.

Recursive XY-cut: a page is split where a horizontal band of empty space runs across it (top to
bottom) or where a vertical gutter runs down it (columns, left to right), whichever is wider for
its kind, and again inside each part. A cut needs a gap wider than ordinary line and word spacing, so the lines of two
columns are never interleaved. Inside a block, boxes on the same line are joined left to right,
and a line that runs to the block's right edge, or ends too close to it for the next line's first
word to have fitted, continues into the next (a paragraph), with
"exam-/ple" hyphenation undone. Written here because no maintained Python library orders OCR
boxes without pulling a layout model in.
"""
from __future__ import annotations

from dataclasses import dataclass
from statistics import median

# Gaps, in multiples of the median line height.
BAND_GAP = 0.6  # empty rows wider than this separate blocks (more than line spacing)
GUTTER_GAP = 1.2  # empty columns wider than this separate columns (more than word spacing)
PARAGRAPH_GAP = 0.6  # lines further apart than this start a new paragraph
FULL_LINE = 0.82  # a line this wide (of its block) wraps into the next one


@dataclass(frozen=True)
class TextLine:
    text: str
    score: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in picture pixels

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


def _widest_cut(items: list[TextLine], axis: int) -> tuple[float, int, list[TextLine]]:
    """(width, index) of the widest empty stretch along axis (0: x, 1: y) between the items
    sorted along that axis (cut before that index; width 0 when there is none), and that order."""
    ordered = sorted(items, key=lambda t: t.box[axis])
    end, widest, at = ordered[0].box[axis + 2], 0.0, 0
    for i, item in enumerate(ordered[1:], start=1):
        if item.box[axis] - end > widest:
            widest, at = item.box[axis] - end, i
        end = max(end, item.box[axis + 2])
    return widest, at, ordered


def _xy_cut(items: list[TextLine], unit: float) -> list[list[TextLine]]:
    """Cut at the widest empty stretch, for its axis (as a multiple of its threshold), and again
    inside each part. One cut at a time: a page whose heading sits above two columns is cut
    under the heading first, then between the columns, never across both columns at every
    paragraph gap (a gutter is wider than a paragraph gap is tall)."""
    if len(items) <= 1:
        return [items]
    best: tuple[float, int, list[TextLine]] | None = None
    for axis, gap in ((1, BAND_GAP), (0, GUTTER_GAP)):
        widest, at, ordered = _widest_cut(items, axis)
        if widest > gap * unit and (best is None or widest / gap > best[0]):
            best = (widest / gap, at, ordered)
    if best is None:
        return [items]
    _, at, ordered = best
    return _xy_cut(ordered[:at], unit) + _xy_cut(ordered[at:], unit)


def _rows(block: list[TextLine]) -> list[list[TextLine]]:
    """Boxes whose vertical extents overlap by half the smaller height share a row."""
    rows: list[list[TextLine]] = []
    for item in sorted(block, key=lambda t: (t.box[1] + t.box[3]) / 2):
        if rows:
            top = min(t.box[1] for t in rows[-1])
            bottom = max(t.box[3] for t in rows[-1])
            overlap = min(bottom, item.box[3]) - max(top, item.box[1])
            if overlap >= 0.5 * min(item.height, bottom - top):
                rows[-1].append(item)
                continue
        rows.append([item])
    return [sorted(row, key=lambda t: t.box[0]) for row in rows]


def _join(previous: str, following: str) -> str:
    if len(previous) > 1 and previous.endswith("-") and previous[-2].isalpha() and following[:1].islower():
        return previous[:-1] + following
    return f"{previous} {following}"


def _char_width(line: TextLine) -> float:
    return (line.box[2] - line.box[0]) / max(1, len(line.text))


def _first_word_width(row: list[TextLine], previous_row: list[TextLine]) -> float:
    """About how wide the row's first word is, with a space (at the narrower of the two rows'
    character widths: when unsure, a new paragraph)."""
    first = row[0]
    word = first.text.split()[0] if first.text.split() else first.text
    return (len(word) + 1) * min(_char_width(first), _char_width(previous_row[-1]))


def _paragraphs(block: list[TextLine], unit: float) -> list[str]:
    left = min(t.box[0] for t in block)
    width = max(t.box[2] for t in block) - left
    paragraphs: list[str] = []
    previous_row: list[TextLine] | None = None
    for row in _rows(block):
        text = " ".join(t.text for t in row).strip()
        if not text:
            continue
        if previous_row is not None and paragraphs:
            gap = min(t.box[1] for t in row) - max(t.box[3] for t in previous_row)
            end = max(t.box[2] for t in previous_row)
            full = end - left >= FULL_LINE * width or left + width - end < _first_word_width(row, previous_row)
            if full and gap <= PARAGRAPH_GAP * unit:
                paragraphs[-1] = _join(paragraphs[-1], text)
                previous_row = row
                continue
        paragraphs.append(text)
        previous_row = row
    return paragraphs


def reading_order(lines: list[TextLine]) -> tuple[list[TextLine], list[str]]:
    """(lines in reading order, paragraphs of text in reading order)."""
    lines = [t for t in lines if t.text.strip()]
    if not lines:
        return [], []
    unit = median(t.height for t in lines)
    blocks = _xy_cut(lines, unit)
    ordered = [t for block in blocks for row in _rows(block) for t in row]
    return ordered, [p for block in blocks for p in _paragraphs(block, unit)]
