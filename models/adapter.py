"""What the Captioner needs from a model family (Florence-2, BLIP)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

import numpy as np
from PIL import Image

from models.generation import Decoder
from models.results import DescribeOptions, DetectedObject


@dataclass
class Prepared:
    """One image encoded and ready to decode."""

    decoder: Decoder
    prefix: list[int]
    partial_text: Callable[[list[int]], str]  # streaming: best sequence so far -> text
    answer: Callable[[list[int]], tuple[str, list[DetectedObject]]]  # final text and objects


class Adapter(Protocol):
    family: str
    provider: str
    warning: str | None

    def pixels(self, image: Image.Image) -> np.ndarray:
        """Preprocess an RGB image into the vision model's input."""
        ...

    def prepare(self, pixel_values: np.ndarray, image_size: tuple[int, int], options: DescribeOptions,
                timings: dict[str, float]) -> Prepared:
        """Run the encoders; fill timings_ms keys `vision` and `encoder`."""
        ...

    def generation_overrides(self) -> dict[str, Any]:
        """Settings this family's `generate` always uses, whatever generation_config.json says
        (GenerationSettings field -> value); {} for none."""
        ...
