"""Every CPU run gives its activations back (ONNX Runtime's arena shrinkage, and no memory reuse
between tensors): the run option is accepted by the shared CPU arena, and the results are the
same to the bit as a plain run's."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from models.captioner import Captioner
from models.session import run


def test_a_shrinking_run_gives_the_same_features(tiny_florence2_onnx: Path, tmp_path: Path) -> None:
    captioner = Captioner.load(tiny_florence2_onnx, device="cpu", dtype="fp32", cache_dir=tmp_path)
    vision = captioner.adapter.vision
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8))
    feeds = {"pixel_values": captioner.adapter.pixels(picture)}
    plain = vision.session.run(None, feeds)[0]  # onnxruntime's own run: no run options
    shrunk = run(vision, feeds)[0]
    again = run(vision, feeds)[0]  # the arena still serves after shrinking
    assert np.array_equal(plain, shrunk) and np.array_equal(plain, again)


def test_blocks_are_not_handed_on_between_tensors(tiny_florence2_onnx: Path, tmp_path: Path) -> None:
    """Memory reuse is off: a tensor's block goes back to the arena at its last use instead of
    waiting, allocated, for a later tensor of its size (Florence-2-base's vision encoder held
    eleven 18 MB blocks where three were alive; README, Memory at rest). The results stay the
    same to the bit as with reuse."""
    import onnxruntime as ort

    captioner = Captioner.load(tiny_florence2_onnx, device="cpu", dtype="fp32", cache_dir=tmp_path)
    vision = captioner.adapter.vision
    assert vision.session.get_session_options().enable_mem_reuse is False
    picture = Image.fromarray(np.random.default_rng(1).integers(0, 255, (96, 128, 3), dtype=np.uint8))
    feeds = {"pixel_values": captioner.adapter.pixels(picture)}
    options = ort.SessionOptions()  # onnxruntime's defaults: reuse on
    reusing = ort.InferenceSession(str(vision.path), options, providers=["CPUExecutionProvider"])
    assert np.array_equal(reusing.run(None, feeds)[0], run(vision, feeds)[0])
