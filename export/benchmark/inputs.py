"""The one image and the one set of decoding settings every side of the benchmark gets."""
from __future__ import annotations

import numpy as np
from PIL import Image

# A phone-camera-like 4:3 picture; every Florence-2 preprocessor resizes it to 768 x 768.
IMAGE_SIZE = (1024, 768)


def bench_image(size: tuple[int, int] = IMAGE_SIZE, seed: int = 0) -> Image.Image:
    """Smooth shapes plus noise: closer to a photo than pure noise, the same on every run."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    base = np.stack([np.sin(x / 37.0) * 120 + 128, np.cos(y / 23.0) * 120 + 128, (x + y) % 256], axis=-1)
    noisy = base + rng.normal(0, 25, base.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def forced_length(tokens: int) -> dict[str, int]:
    """transformers `generate` arguments that make every run produce exactly `tokens` tokens.

    EOS is banned until the last step, where the forced EOS ends every beam: both engines run
    the same number of decoder steps whatever the random weights prefer.
    """
    return {"min_new_tokens": tokens, "max_new_tokens": tokens}
