"""The vision tower Lumen exports (export/florence2_vision.py: channels-last, so ONNX Runtime
folds the layout transposes into its convolution reorders) computes transformers' own image
features to the bit, on the tiny model and on the full-size Florence-2-base architecture; with
window attention's scores computed a group of windows at a time, within rounding (torch's
batched products block their work by batch size; ONNX Runtime's gave equal features)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from export import florence2_vision
from export.florence2 import VisionEncoder, load_model
from export.florence2_vision import vision_tower


def _same_features(model: object, size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    pixels = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(7))
    tower = lambda: model.model.multi_modal_projector(vision_tower(model.model.vision_tower, pixels))  # type: ignore[attr-defined]  # noqa: E731
    with torch.no_grad():
        expected = model.model.get_image_features(pixels).pooler_output  # type: ignore[attr-defined]
        grouped = tower()
        with monkeypatch.context() as m:
            m.setattr(florence2_vision, "SCORES_PER_GROUP", 2**62)  # every window's scores at once
            m.setattr(florence2_vision, "HIDDEN_PER_GROUP", 2**62)  # every token through the MLP at once
            ours = tower()
        # What the exporter traces: also its channel attention, which multiplies in another
        # order (export/florence2.py), so equal within rounding.
        exported = VisionEncoder(model)(pixels)
    assert torch.equal(ours, expected)
    torch.testing.assert_close(grouped, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(exported, expected, rtol=1e-4, atol=1e-5)


def test_tiny_model_gives_transformers_features_to_the_bit(tiny_florence2_hf: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.tiny_models import FLORENCE_IMAGE_SIZE

    _same_features(load_model(tiny_florence2_hf), FLORENCE_IMAGE_SIZE, monkeypatch)


def test_full_size_architecture_gives_transformers_features_to_the_bit(shared_dir: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Florence-2-base's real config (four stages, pre-norm patch embeddings, 12 x 12 windows)
    with random weights, at a picture size whose stages need padding to whole windows."""
    from transformers import Florence2ForConditionalGeneration

    from export.benchmark.random_weights import native_config

    torch.manual_seed(0)
    # Eager attention, as the exporter loads it (export/florence2.py load_model).
    model = Florence2ForConditionalGeneration._from_config(native_config(shared_dir / "florence2-base"),
                                                           attn_implementation="eager")
    _same_features(model.eval(), 416, monkeypatch)


def test_exported_groups_give_transformers_features(tiny_florence2_hf: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The tiny model exported with its attention scores and its MLPs split into several groups
    (as Florence-2-base's first stages are at 768 x 768): ONNX Runtime's features, for a batch of
    two, are transformers' within rounding."""
    import numpy as np
    import onnxruntime as ort

    from export.florence2 import export_part, florence_shapes, image_size, part_specs
    from export.onnx_utils import save_model
    from tests.support.tiny_models import FLORENCE_IMAGE_SIZE

    model = load_model(tiny_florence2_hf)
    monkeypatch.setattr(florence2_vision, "SCORES_PER_GROUP", 4096)
    monkeypatch.setattr(florence2_vision, "HIDDEN_PER_GROUP", 16384)
    tower = model.model.vision_tower
    first = tower.blocks[0][0].spatial_block
    tokens = (FLORENCE_IMAGE_SIZE // model.config.vision_config.patch_stride[0]) ** 2  # the first stage
    assert tokens * first.ffn.fc1.out_features * 4 > 2 * 16384  # so it really is split
    spec = part_specs(model, florence_shapes(model, image_size(tiny_florence2_hf)))["vision_encoder"]
    with torch.no_grad():
        proto = export_part(spec)
    # Every MatMul reads its weight as a stored tensor, or ONNX Runtime's quantizer leaves it
    # fp32 (the weights shared by the groups were exported as a Transpose run every time).
    stored = {i.name for i in proto.graph.initializer}
    assert not [n for n in proto.graph.node if n.op_type == "Transpose" and n.input[0] in stored]
    linear = [n for n in proto.graph.node if n.op_type == "MatMul" and n.input[1] in stored]
    blocks = 2 * sum(len(layers) for layers in tower.blocks)  # a spatial and a channel block each
    assert len(linear) > 4 * blocks  # qkv, proj, fc1 and fc2 each, and more where the MLP is grouped
    save_model(proto, tmp_path / "vision_encoder.onnx")
    pixels = torch.randn(2, 3, FLORENCE_IMAGE_SIZE, FLORENCE_IMAGE_SIZE, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = model.model.get_image_features(pixels).pooler_output.numpy()
    session = ort.InferenceSession(str(tmp_path / "vision_encoder.onnx"), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"pixel_values": pixels.numpy()})
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
