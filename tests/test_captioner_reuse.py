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
    # Kept: the image features and this level's encoded prompt.
    assert first.timings_ms["vision"] > 0 and captioner.cache.stats.entries == 2
    again = captioner.describe(picture.copy(), DescribeOptions(detail="detailed", max_tokens=8))
    assert again.timings_ms["vision"] == 0.0 and captioner.cache.stats.hits == 1

    fresh = Captioner.load(tiny_florence2_onnx, device="cpu", dtype="fp32", cache_dir=None)
    fresh.cache = PictureCache()
    expected = fresh.describe(picture, DescribeOptions(detail="detailed", max_tokens=8))
    assert again.token_ids == expected.token_ids and again.caption == expected.caption

    other = Image.fromarray(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8))
    assert captioner.describe(other, DescribeOptions(max_tokens=4)).timings_ms["vision"] > 0


def test_prompts_encoded_ahead_skip_the_text_encoder_and_change_nothing(tiny_florence2_onnx: Path) -> None:
    rng = np.random.default_rng(4)
    picture = Image.fromarray(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8))
    captioner = Captioner.load(tiny_florence2_onnx, device="cpu", dtype="fp32", cache_dir=None)
    captioner.cache = PictureCache()
    others = [DescribeOptions(detail=d, max_tokens=8) for d in ("detailed", "more")]
    assert captioner.prepare_ahead(picture, others) == 0  # the picture is not encoded yet
    captioner.describe(picture, DescribeOptions(detail="brief", max_tokens=8))
    assert captioner.prepare_ahead(picture, others, should_stop=lambda: True) == 0
    assert captioner.prepare_ahead(picture, others) == 2
    assert captioner.prepare_ahead(picture, others) == 0  # already there
    again = captioner.describe(picture.copy(), others[1])
    assert again.timings_ms["vision"] == 0.0 and again.timings_ms["encoder"] == 0.0
    back = captioner.describe(picture, DescribeOptions(detail="brief", max_tokens=8))  # the first level
    assert back.timings_ms["encoder"] == 0.0

    fresh = Captioner.load(tiny_florence2_onnx, device="cpu", dtype="fp32", cache_dir=None)
    fresh.cache = PictureCache()
    expected = fresh.describe(picture, others[1])
    assert expected.timings_ms["encoder"] > 0
    assert again.token_ids == expected.token_ids and again.caption == expected.caption
