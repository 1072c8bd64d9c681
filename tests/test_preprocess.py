"""models.preprocess: pixel_values equal transformers' PIL image processors for the same image."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from transformers.models.blip.image_processing_pil_blip import BlipImageProcessorPil
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

from models.errors import ModelFolderError
from models.image_io import load_image
from models.preprocess import ImagePreprocessor

# Florence-2-base's preprocessor_config.json, trimmed to the keys that matter; the test below
# also reads the real file from ../shared when it is there.
FLORENCE2 = {
    "do_convert_rgb": None,
    "do_normalize": True,
    "do_rescale": True,
    "do_resize": True,
    "do_center_crop": False,
    "image_processor_type": "CLIPImageProcessor",
    "image_mean": [0.485, 0.456, 0.406],
    "image_std": [0.229, 0.224, 0.225],
    "resample": 3,
    "size": {"height": 768, "width": 768},
    "crop_size": {"height": 768, "width": 768},
}
# (height, width) chosen to be odd, tiny, extreme in aspect ratio or already at the target size.
SHAPES = [(301, 517), (17, 1000), (1000, 3), (1, 1), (768, 768), (385, 383)]
MODES = ["RGB", "L", "RGBA", "LA", "P", "P+transparency", "CMYK", "1"]


def random_image(shape: tuple[int, int], mode: str, seed: int) -> Image.Image:
    """Random pixels in `mode`; transparent ones keep dark content (white background path)."""
    rng = np.random.default_rng(seed)
    h, w = shape
    rgb = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    if mode in ("RGBA", "LA"):
        rgb = Image.fromarray(rng.integers(0, 120, (h, w, 3), dtype=np.uint8))
        alpha = Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8))
        img = rgb.convert("L") if mode == "LA" else rgb
        img = img.copy()
        img.putalpha(alpha)
        return img
    if mode in ("P", "P+transparency"):
        img = Image.fromarray(rng.integers(0, 64, (h, w), dtype=np.uint8), "P")
        img.putpalette(rng.integers(0, 256, 64 * 3, dtype=np.uint8).tobytes())
        if mode == "P+transparency":
            img.info["transparency"] = 3  # a colour key, as GIF and PNG tRNS store it
        return img
    return rgb.convert(mode)


def reference(processor: Any, image: Image.Image) -> np.ndarray:
    # Lumen always converts to RGB; Florence-2's config has do_convert_rgb null, which
    # transformers reads as off and then fails on anything but RGB input.
    return processor(image, do_convert_rgb=True, return_tensors="np")["pixel_values"]


def assert_same(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.dtype == np.float32 and ours.flags.c_contiguous
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() < 1e-5


@pytest.mark.parametrize("mode", MODES)
def test_florence2_matches_transformers(mode: str) -> None:
    ours = ImagePreprocessor.from_config(FLORENCE2)
    theirs = CLIPImageProcessorPil.from_dict(FLORENCE2)
    assert ours.size == (768, 768)
    for seed, shape in enumerate(SHAPES):
        image = random_image(shape, mode, seed)
        assert_same(ours(image), reference(theirs, image))


@pytest.mark.parametrize("mode", MODES)
def test_blip_defaults_match_transformers(mode: str) -> None:
    ours = ImagePreprocessor.from_config({"image_processor_type": "BlipImageProcessor"})
    theirs = BlipImageProcessorPil()
    assert ours.size == (384, 384)
    for seed, shape in enumerate(SHAPES):
        image = random_image(shape, mode, 100 + seed)
        out = ours(image)
        assert out.shape == (1, 3, 384, 384)
        assert_same(out, reference(theirs, image))


def test_real_florence2_config(shared_dir: Path) -> None:
    config = json.loads((shared_dir / "florence2-base" / "preprocessor_config.json").read_text())
    ours = ImagePreprocessor.from_config(config)
    theirs = CLIPImageProcessorPil.from_dict(config)
    for seed, shape in enumerate(SHAPES[:3]):
        image = random_image(shape, "RGB", 200 + seed)
        assert_same(ours(image), reference(theirs, image))


# Each case: our config dict, and the transformers processor built from the same values.
VARIANTS = [
    ({"image_processor_type": "CLIPImageProcessor"}, CLIPImageProcessorPil()),  # 224 crop
    (
        {"image_processor_type": "CLIPImageProcessor", "size": 100, "crop_size": 131, "resample": 2},
        CLIPImageProcessorPil(size=100, crop_size=131, resample=2),  # crop pads with zeros
    ),
    (
        {"image_processor_type": "BlipImageProcessor", "size": 97, "resample": 1},
        BlipImageProcessorPil(size=97, resample=1),  # int size is square for BLIP
    ),
    (
        {"image_processor_type": "CLIPImageProcessor", "size": {"shortest_edge": 64}, "do_center_crop": False},
        CLIPImageProcessorPil(size={"shortest_edge": 64}, do_center_crop=False),
    ),
    (
        {"image_processor_type": "CLIPImageProcessor", "size": {"shortest_edge": 64, "longest_edge": 90},
         "do_center_crop": False, "resample": 0},
        CLIPImageProcessorPil(size={"shortest_edge": 64, "longest_edge": 90}, do_center_crop=False, resample=0),
    ),
    (
        {"image_processor_type": "BlipImageProcessor", "size": [50, 70], "resample": 4, "image_mean": 0.5,
         "image_std": 0.25},
        BlipImageProcessorPil(size={"height": 50, "width": 70}, resample=4, image_mean=0.5, image_std=0.25),
    ),
    (
        {"image_processor_type": "BlipImageProcessor", "do_normalize": False, "resample": 5},
        BlipImageProcessorPil(do_normalize=False, resample=5),
    ),
    (
        {"image_processor_type": "BlipImageProcessor", "do_rescale": False, "rescale_factor": 0.5},
        BlipImageProcessorPil(do_rescale=False, rescale_factor=0.5),
    ),
    (
        {"image_processor_type": "CLIPImageProcessor", "do_resize": False, "crop_size": {"height": 40, "width": 31}},
        CLIPImageProcessorPil(do_resize=False, crop_size={"height": 40, "width": 31}),
    ),
    (
        {"image_processor_type": "BlipImageProcessor", "do_resize": None, "size": None},
        BlipImageProcessorPil.from_dict({"do_resize": None}),  # explicit null flag: off
    ),
]


@pytest.mark.parametrize(("config", "theirs"), VARIANTS)
def test_config_variants_match_transformers(config: dict[str, Any], theirs: Any) -> None:
    ours = ImagePreprocessor.from_config(config)
    for seed, shape in enumerate([(301, 517), (17, 100), (100, 3), (64, 64)]):
        image = random_image(shape, "RGB", 300 + seed)
        assert_same(ours(image), reference(theirs, image).astype(np.float32))


def test_size_follows_the_image_only_for_shortest_edge_without_crop() -> None:
    config = {"image_processor_type": "CLIPImageProcessor", "size": 64, "do_center_crop": False}
    ours = ImagePreprocessor.from_config(config)
    assert ours.size is None
    assert ours(random_image((100, 50), "RGB", 1)).shape == (1, 3, 128, 64)
    assert ImagePreprocessor.from_config({"image_processor_type": "CLIPImageProcessor"}).size == (224, 224)


def test_loaded_images_feed_straight_in(tmp_path: Path) -> None:
    image = random_image((123, 77), "RGBA", 5)
    image.save(tmp_path / "a.png")
    ours = ImagePreprocessor.from_config(FLORENCE2)
    theirs = CLIPImageProcessorPil.from_dict(FLORENCE2)
    assert_same(ours(load_image(tmp_path / "a.png")), reference(theirs, image))


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        ({"image_processor_type": "SomethingNew", "size": {"height": 8, "width": 8}}, "image_mean"),
        ({"image_processor_type": "BlipImageProcessor", "size": {"width": 8}}, "size"),
        ({"image_processor_type": "BlipImageProcessor", "image_mean": [0.5, 0.5]}, "image_mean needs 3"),
        ({"image_processor_type": "CLIPImageProcessor", "crop_size": "large"}, "crop_size"),
    ],
)
def test_unusable_configs_raise_model_folder_error(config: dict[str, Any], needle: str) -> None:
    with pytest.raises(ModelFolderError) as excinfo:
        ImagePreprocessor.from_config(config)
    message = str(excinfo.value)
    assert needle in message and "preprocessor_config.json" in message and "\n" not in message
