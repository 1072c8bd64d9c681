"""The vision tower Lumen exports (export/florence2_vision.py: channels-last, so ONNX Runtime
folds the layout transposes into its convolution reorders) computes transformers' own image
features to the bit, on the tiny model and on the full-size Florence-2-base architecture."""
from __future__ import annotations

from pathlib import Path

import torch

from export.florence2 import VisionEncoder, load_model
from export.florence2_vision import vision_tower


def _same_features(model: object, size: int) -> None:
    pixels = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        expected = model.model.get_image_features(pixels).pooler_output  # type: ignore[attr-defined]
        ours = model.model.multi_modal_projector(vision_tower(model.model.vision_tower, pixels))  # type: ignore[attr-defined]
        # What the exporter traces: also its channel attention, which multiplies in another
        # order (export/florence2.py), so equal within rounding.
        exported = VisionEncoder(model)(pixels)
    assert torch.equal(ours, expected)
    torch.testing.assert_close(exported, expected, rtol=1e-4, atol=1e-5)


def test_tiny_model_gives_transformers_features_to_the_bit(tiny_florence2_hf: Path) -> None:
    from tests.support.tiny_models import FLORENCE_IMAGE_SIZE

    _same_features(load_model(tiny_florence2_hf), FLORENCE_IMAGE_SIZE)


def test_full_size_architecture_gives_transformers_features_to_the_bit(shared_dir: Path) -> None:
    """Florence-2-base's real config (four stages, pre-norm patch embeddings, 12 x 12 windows)
    with random weights, at a picture size whose stages need padding to whole windows."""
    from transformers import Florence2ForConditionalGeneration

    from export.benchmark.random_weights import native_config

    torch.manual_seed(0)
    model = Florence2ForConditionalGeneration(native_config(shared_dir / "florence2-base"))
    _same_features(model.eval(), 416)
