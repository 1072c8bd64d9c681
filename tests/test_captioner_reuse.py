"""Describe again at another detail level reuses the picture's encoded image (no vision run),
and gives exactly what a fresh describe of the picture gives."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from models.captioner import Captioner
from models.picture_cache import PictureCache
from models.results import DescribeOptions


def test_describe_again_reuses_the_encoded_picture(tiny_florence2_onnx: Path) -> None:
    rng = np.random.default_rng(3)
    picture = Image.fromarray(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8))
    captioner = Captioner.load(tiny_florence2_onnx, device="cpu", dtype="fp32", cache_dir=None)
    captioner.cache = PictureCache()
    first = captioner.describe(picture, DescribeOptions(detail="brief", max_tokens=8))
    assert first.timings_ms["vision"] > 0 and captioner.cache.stats.entries == 1
    again = captioner.describe(picture.copy(), DescribeOptions(detail="detailed", max_tokens=8))
    assert again.timings_ms["vision"] == 0.0 and captioner.cache.stats.hits == 1

    fresh = Captioner.load(tiny_florence2_onnx, device="cpu", dtype="fp32", cache_dir=None)
    fresh.cache = PictureCache()
    expected = fresh.describe(picture, DescribeOptions(detail="detailed", max_tokens=8))
    assert again.token_ids == expected.token_ids and again.caption == expected.caption

    other = Image.fromarray(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8))
    assert captioner.describe(other, DescribeOptions(max_tokens=4)).timings_ms["vision"] > 0
