"""Image preprocessing built from a model folder's `preprocessor_config.json`.

The result equals transformers' PIL-backed image processors (CLIPImageProcessorPil for
Florence-2, BlipImageProcessorPil for BLIP) to the bit: they resize with PIL on uint8 RGB, crop,
then rescale in float64, cast to float32 and normalise in float32. Rescale and normalise map
each of the 256 byte values through the same arithmetic, so here they are one lookup table per
channel: identical numbers, and a few milliseconds for a 768 x 768 image.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from models.errors import ModelFolderError
from models.image_io import to_rgb

__all__ = [
    "CenterCrop",
    "Compose",
    "ConvertRGB",
    "ImagePreprocessor",
    "RescaleNormalize",
    "Resize",
    "ToArray",
]

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

# The class defaults transformers uses when a key is absent, per processor type.
_KNOWN_DEFAULTS: dict[str, dict[str, Any]] = {
    "CLIPImageProcessor": {
        "size": {"shortest_edge": 224},
        "crop_size": {"height": 224, "width": 224},
        "do_center_crop": True,
        "resample": Image.Resampling.BICUBIC,
        "image_mean": OPENAI_CLIP_MEAN,
        "image_std": OPENAI_CLIP_STD,
        "default_to_square": False,
    },
    "BlipImageProcessor": {
        "size": {"height": 384, "width": 384},
        "do_center_crop": False,
        "resample": Image.Resampling.BICUBIC,
        "image_mean": OPENAI_CLIP_MEAN,
        "image_std": OPENAI_CLIP_STD,
        "default_to_square": True,
    },
}
# Shared by every type; an unknown type must spell out size, image_mean and image_std.
_COMMON_DEFAULTS: dict[str, Any] = {
    "do_convert_rgb": True,
    "do_resize": True,
    "resample": Image.Resampling.BILINEAR,
    "do_center_crop": False,
    "do_rescale": True,
    "rescale_factor": 1 / 255,
    "do_normalize": True,
    "default_to_square": True,
}

Transform = Callable[[Any], Any]


@dataclass(frozen=True)
class ConvertRGB:
    """Any PIL mode to RGB, compositing transparency as `models.image_io` does."""

    def __call__(self, image: Image.Image) -> Image.Image:
        return image if image.mode == "RGB" else to_rgb(image)


@dataclass(frozen=True)
class Resize:
    """PIL resize to a fixed (height, width), or by the shortest edge keeping the aspect ratio."""

    resample: int
    height: int | None = None
    width: int | None = None
    shortest_edge: int | None = None
    longest_edge: int | None = None

    def __post_init__(self) -> None:
        if not ((self.height and self.width) or self.shortest_edge):
            raise ValueError("Resize needs height and width, or shortest_edge")

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) after resizing an image of the given size, as transformers computes it."""
        if self.height and self.width:
            return self.height, self.width
        assert self.shortest_edge is not None
        if self.longest_edge:
            return _size_with_max(height, width, self.shortest_edge, self.longest_edge)
        short, long = (width, height) if width <= height else (height, width)
        new_short, new_long = self.shortest_edge, int(self.shortest_edge * long / short)
        return (new_long, new_short) if width <= height else (new_short, new_long)

    def __call__(self, image: Image.Image) -> Image.Image:
        height, width = self.output_size(image.height, image.width)
        return image.resize((width, height), resample=self.resample)


@dataclass(frozen=True)
class ToArray:
    """PIL RGB image to a (H, W, 3) uint8 array."""

    def __call__(self, image: Image.Image) -> np.ndarray:
        return np.asarray(image, dtype=np.uint8)


@dataclass(frozen=True)
class CenterCrop:
    """Centre crop of a (H, W, C) array; zero-pads first when the image is smaller."""

    height: int
    width: int

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        h, w = pixels.shape[:2]
        if h == self.height and w == self.width:
            return pixels
        new_h, new_w = max(h, self.height), max(w, self.width)
        if (new_h, new_w) != (h, w):
            # Same offsets as transformers' center_crop: pad rounding up, crop rounding down.
            top, left = math.ceil((new_h - h) / 2), math.ceil((new_w - w) / 2)
            padded = np.zeros((new_h, new_w) + pixels.shape[2:], dtype=pixels.dtype)
            padded[top : top + h, left : left + w] = pixels
            pixels, h, w = padded, new_h, new_w
        top, left = (h - self.height) // 2, (w - self.width) // 2
        return pixels[top : top + self.height, left : left + self.width]


@dataclass(frozen=True)
class RescaleNormalize:
    """Rescale and normalise (H, W, 3) uint8 pixels into a (1, 3, H, W) float32 batch.

    The table holds, for every channel and byte value, exactly what transformers computes:
    float32(float64(v) * rescale_factor), then (x - mean) / std in float32.
    """

    table: np.ndarray = field(repr=False)  # (3, 256) float32

    @classmethod
    def build(
        cls,
        rescale_factor: float | None,
        mean: Sequence[float] | None,
        std: Sequence[float] | None,
    ) -> RescaleNormalize:
        values = np.arange(256, dtype=np.float64)
        if rescale_factor is not None:
            values = values * float(rescale_factor)
        table = np.broadcast_to(values.astype(np.float32), (3, 256))
        if mean is not None and std is not None:
            mean32 = np.asarray(mean, dtype=np.float32).reshape(3, 1)
            std32 = np.asarray(std, dtype=np.float32).reshape(3, 1)
            table = (table - mean32) / std32
        return cls(np.ascontiguousarray(table, dtype=np.float32))

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        h, w = pixels.shape[:2]
        out = np.empty((1, 3, h, w), dtype=np.float32)
        for channel in range(3):
            np.take(self.table[channel], pixels[:, :, channel], out=out[0, channel])
        return out


@dataclass(frozen=True)
class Compose:
    """Apply transforms in order."""

    transforms: tuple[Transform, ...]

    def __call__(self, value: Any) -> Any:
        for transform in self.transforms:
            value = transform(value)
        return value


@dataclass(frozen=True)
class ImagePreprocessor:
    """PIL image in, `pixel_values` (1, 3, H, W) float32 out, as the model folder prescribes.

    `size` is the output (height, width), or None when it follows each image's aspect ratio
    (shortest-edge resizing without a centre crop).
    """

    pipeline: Compose
    size: tuple[int, int] | None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ImagePreprocessor:
        """Build from a parsed `preprocessor_config.json`; raises ModelFolderError when unusable."""
        try:
            return cls._build(config)
        except (KeyError, TypeError, ValueError) as e:
            raise ModelFolderError(
                f"preprocessor_config.json is not usable ({' '.join(str(e).split())}): "
                "export the model again or fix the file."
            ) from e

    @classmethod
    def _build(cls, config: Mapping[str, Any]) -> ImagePreprocessor:
        kind = str(config.get("image_processor_type") or "").removesuffix("Fast").removesuffix("Pil")
        defaults = {**_COMMON_DEFAULTS, **_KNOWN_DEFAULTS.get(kind, {})}

        def get(key: str) -> Any:
            value = config.get(key)
            if value is not None:
                return value
            if key in config and key.startswith("do_"):
                return False  # transformers 5 keeps an explicit null flag, which then reads as off
            if key not in defaults:
                raise ValueError(f"{key} is missing and {kind or 'this processor type'} has no default")
            return defaults[key]

        # Always: the models take 3 channels, whatever do_convert_rgb says (Florence-2 has null).
        steps: list[Transform] = [ConvertRGB()]
        size: tuple[int, int] | None = None
        if get("do_resize"):
            resize = _resize_from(get("size"), int(get("resample")), bool(get("default_to_square")))
            steps.append(resize)
            if resize.height and resize.width:
                size = (resize.height, resize.width)
        steps.append(ToArray())
        if get("do_center_crop"):
            crop_h, crop_w = _height_width(get("crop_size"), "crop_size")
            steps.append(CenterCrop(crop_h, crop_w))
            size = (crop_h, crop_w)
        normalize = bool(get("do_normalize"))
        steps.append(
            RescaleNormalize.build(
                float(get("rescale_factor")) if get("do_rescale") else None,
                _three(get("image_mean"), "image_mean") if normalize else None,
                _three(get("image_std"), "image_std") if normalize else None,
            )
        )
        return cls(Compose(tuple(steps)), size)

    def __call__(self, image: Image.Image) -> np.ndarray:
        return self.pipeline(image)


def _resize_from(size: Any, resample: int, default_to_square: bool) -> Resize:
    """Read `size` in any of the shapes transformers accepts (dict, int, [h, w])."""
    if isinstance(size, bool):
        raise TypeError(f"size must be a number or a dict, not {size!r}")
    if isinstance(size, int):
        if default_to_square:
            return Resize(resample, height=size, width=size)
        return Resize(resample, shortest_edge=size)
    if isinstance(size, (list, tuple)) and len(size) == 2:
        return Resize(resample, height=int(size[0]), width=int(size[1]))
    if isinstance(size, Mapping):
        keys = set(size)
        if keys == {"height", "width"}:
            return Resize(resample, height=int(size["height"]), width=int(size["width"]))
        if keys == {"shortest_edge"}:
            return Resize(resample, shortest_edge=int(size["shortest_edge"]))
        if keys == {"shortest_edge", "longest_edge"}:
            return Resize(
                resample,
                shortest_edge=int(size["shortest_edge"]),
                longest_edge=int(size["longest_edge"]),
            )
    raise ValueError(f"size {size!r} is not supported")


def _height_width(size: Any, name: str) -> tuple[int, int]:
    if isinstance(size, int) and not isinstance(size, bool):
        return size, size
    if isinstance(size, (list, tuple)) and len(size) == 2:
        return int(size[0]), int(size[1])
    if isinstance(size, Mapping) and set(size) == {"height", "width"}:
        return int(size["height"]), int(size["width"])
    raise ValueError(f"{name} {size!r} is not supported")


def _three(values: Any, name: str) -> tuple[float, float, float]:
    if isinstance(values, (int, float)):
        return (float(values),) * 3
    values = tuple(float(v) for v in values)
    if len(values) != 3:
        raise ValueError(f"{name} needs 3 values, got {len(values)}")
    return values  # type: ignore[return-value]


def _size_with_max(height: int, width: int, size: int, max_size: int) -> tuple[int, int]:
    """transformers' get_size_with_aspect_ratio: shortest edge `size`, longest at most `max_size`."""
    raw_size = None
    short, long = float(min(height, width)), float(max(height, width))
    if long / short * size > max_size:
        raw_size = max_size * short / long
        size = int(round(raw_size))
    if (height <= width and height == size) or (width <= height and width == size):
        return height, width
    if width < height:
        ow = size
        oh = int(raw_size * height / width) if raw_size is not None else int(size * height / width)
        return oh, ow
    oh = size
    ow = int(raw_size * width / height) if raw_size is not None else int(size * width / height)
    return oh, ow
