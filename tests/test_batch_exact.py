"""`lumen batch --batch-size` never changes results: the vision encoder runs on several pictures
at once only for variants whose features do not depend on the batch (fp32, fp16). The int8
variant quantizes activations with one scale over the whole batch: at full size that changed
the tokens (`lumen bench --batch`), so it encodes each picture alone."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from models.captioner import BATCH_EXACT_DTYPES, Captioner
from models.picture_cache import PictureCache


def _pictures() -> list[Image.Image]:
    rng = np.random.default_rng(7)
    return [Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)) for _ in range(3)]


def test_fp32_batch_features_equal_each_picture_alone(tiny_florence2_onnx: Path) -> None:
    pictures = _pictures()
    together = Captioner.load(tiny_florence2_onnx, device="cpu", dtype="fp32", threads=1)
    together.cache = PictureCache(64 << 20)  # each its own cache: the default one is shared
    assert together.folder.dtype in BATCH_EXACT_DTYPES
    assert together.encode_together(pictures) == len(pictures)
    alone = Captioner.load(tiny_florence2_onnx, device="cpu", dtype="fp32", threads=1)
    alone.cache = PictureCache(64 << 20)
    for picture in pictures:
        assert alone.encode_together([picture]) == 1
        key = alone._features_key(picture.convert("RGB"))
        np.testing.assert_allclose(together.cache.get(key), alone.cache.get(key), rtol=1e-4, atol=1e-5)


def test_int8_encodes_each_picture_alone(tiny_florence2_onnx: Path) -> None:
    captioner = Captioner.load(tiny_florence2_onnx, device="cpu", dtype="int8", threads=1)
    captioner.cache = PictureCache(64 << 20)
    assert captioner.folder.dtype not in BATCH_EXACT_DTYPES
    assert captioner.encode_together(_pictures()) == 0  # describe encodes each one itself
