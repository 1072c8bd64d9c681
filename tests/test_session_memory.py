"""The vision encoder's run gives its activations back (ONNX Runtime's arena shrinkage): the
run option is accepted by the shared CPU arena, and the features are the same to the bit."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from models.captioner import Captioner
from models.session import run


def test_a_shrinking_run_gives_the_same_features(tiny_florence2_onnx: Path, tmp_path: Path) -> None:
    captioner = Captioner.load(tiny_florence2_onnx, device="cpu", dtype="fp32", cache_dir=tmp_path)
    adapter = captioner.adapter
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8))
    pixels = adapter.pixels(picture)
    plain = run(adapter.vision, {"pixel_values": pixels})[0]
    shrunk = run(adapter.vision, {"pixel_values": pixels}, shrink=True)[0]
    again = run(adapter.vision, {"pixel_values": pixels})[0]  # the arena still serves after shrinking
    assert np.array_equal(plain, shrunk) and np.array_equal(plain, again)
