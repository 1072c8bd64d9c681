"""Pillow's own broken and edge-case images: each loads to sane RGB or raises a one-line ImageError."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.errors import ImageError
from models.image_io import MAX_SIDE, load_image
from models.preprocess import ImagePreprocessor

BLIP = ImagePreprocessor.from_config({"image_processor_type": "BlipImageProcessor"})


@pytest.fixture(scope="module")
def corpus(shared_dir: Path) -> Path:
    folder = shared_dir / "corpus" / "pillow"
    assert folder.is_dir(), f"{folder} is absent: the corpus ships in ../shared beside the checkout"
    return folder


@pytest.mark.timeout(300)
def test_every_corpus_file_loads_or_fails_cleanly(corpus: Path) -> None:
    loaded: list[str] = []
    refused: dict[str, str] = {}
    wrong: list[str] = []
    started = time.perf_counter()
    for path in sorted(p for p in corpus.iterdir() if p.is_file()):
        try:
            image = load_image(path)
        except ImageError as e:
            message = str(e)
            if not message or "\n" in message or not message.endswith("."):
                wrong.append(f"{path.name}: ImageError message is not one sentence: {message!r}")
            refused[path.name] = message
            continue
        except Exception as e:  # the contract: nothing but ImageError escapes
            wrong.append(f"{path.name}: {type(e).__name__}: {e}")
            continue
        w, h = image.size
        if image.mode != "RGB" or not (1 <= w <= MAX_SIDE and 1 <= h <= MAX_SIDE):
            wrong.append(f"{path.name}: {image.mode} {image.size}")
            continue
        pixels = BLIP(image)  # the engine's next step must accept whatever loaded
        if pixels.shape != (1, 3, 384, 384) or not np.isfinite(pixels).all():
            wrong.append(f"{path.name}: preprocessing gave {pixels.shape}")
        loaded.append(path.name)
    elapsed = time.perf_counter() - started
    print(f"\ncorpus: {len(loaded)} loaded, {len(refused)} refused in {elapsed:.2f} s")
    for name, message in sorted(refused.items()):
        print(f"  refused {name}: {message}")

    assert not wrong, "\n".join(wrong)
    assert len(loaded) + len(refused) >= 300, "the corpus was not walked"
    assert len(loaded) >= 200 and len(refused) >= 50
    # Spot checks that the outcome is the right one, not merely a clean one.
    for name in ("hopper.jpg", "pil_sample_cmyk.jpg", "12in16bit.tif", "hopper_16bit.pgm",
                 "transparent_background_text.png", "apng__mode_16bit.png", "g4_orientation_6.tif"):
        assert name in loaded, refused.get(name)
    for name, needle in [
        ("decompression_bomb.gif", "too large"),
        ("decompression_bomb.ico", "too large"),
        ("truncated_jpeg.jpg", "damaged or incomplete"),
        ("truncated_image.png", "damaged or incomplete"),
        ("README.md", "not an image"),
        ("zero_width.gif", "not an image"),
    ]:
        assert needle in refused.get(name, ""), (name, refused.get(name))


@pytest.mark.parametrize("ext", ["jpg", "webp"])
def test_corpus_orientation_variants_come_out_upright(corpus: Path, ext: str) -> None:
    upright = np.asarray(load_image(corpus / "hopper.jpg")).astype(np.int16)
    for n in range(2, 9):
        turned = np.asarray(load_image(corpus / f"hopper_orientation_{n}.{ext}")).astype(np.int16)
        assert turned.shape == upright.shape
        assert np.abs(turned - upright).mean() < 8, n  # lossy re-encodes, same picture


def test_corpus_transparent_text_stays_readable(corpus: Path) -> None:
    # White text on a transparent background: on white it would vanish entirely.
    text = np.asarray(load_image(corpus / "transparent_background_text.png").convert("L"))
    assert text.min() < 50 and text.max() > 200
    with Image.open(corpus / "transparent_background_text.png") as original:
        assert original.mode == "RGBA"
