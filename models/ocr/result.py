"""What reading a picture gives: its lines in reading order, as paragraphs. Apart from the reader
so that code handling results (documents, the command line) loads neither OpenCV nor ONNX
Runtime: importing OpenCV alone costs a process 45 MB."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from models.ocr.layout import TextLine


@dataclass
class OcrResult:
    lines: list[TextLine]  # reading order
    paragraphs: list[str]
    size: tuple[int, int]  # picture width, height
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)

    @property
    def confidence(self) -> float:
        return float(np.mean([t.score for t in self.lines])) if self.lines else 0.0

    @property
    def coverage(self) -> float:
        """Share of the picture inside the boxes of text that was read."""
        w, h = self.size
        area = sum((t.box[2] - t.box[0]) * (t.box[3] - t.box[1]) for t in self.lines)
        return min(1.0, area / float(w * h)) if w and h else 0.0
