"""A checkpoint with a vocabulary of a few dozen ids and a short position table (a model trained
from scratch on one domain) exports, validates and captions as transformers' generate does."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.support.require import require
from PIL import Image

from models.captioner import Captioner
from models.results import DescribeOptions
from tests.conftest import EXPORT_SOURCES, SUPPORT, cached_dir

torch = require("torch")
transformers = require("transformers")

SOURCES = (SUPPORT / "small_vocab_blip.py", SUPPORT / "tiny_models.py")


@pytest.fixture(scope="module")
def small_blip_hf() -> Path:
    from tests.support.small_vocab_blip import build_small_vocab_blip

    return cached_dir("small-vocab-blip-hf", build_small_vocab_blip, *SOURCES)


@pytest.fixture(scope="module")
def small_blip_onnx(small_blip_hf: Path) -> Path:
    """Exported by our exporter, validation included (it fed ids past the vocabulary before)."""
    from export.api import export_model

    def build(out: Path) -> None:
        export_model(small_blip_hf, out, ("fp32",), log=lambda _: None)

    return cached_dir("small-vocab-blip-onnx", build, *SOURCES, *EXPORT_SOURCES)


def _image(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (70 + 9 * seed, 90, 3), dtype=np.uint8))


def test_small_vocabulary_blip_exports_and_matches_generate(small_blip_hf: Path, small_blip_onnx: Path) -> None:
    from tests.support.small_vocab_blip import POSITIONS

    config = json.loads((small_blip_hf / "config.json").read_text())["text_config"]
    assert config["vocab_size"] < 50 and config["max_position_embeddings"] == POSITIONS
    captioner = Captioner.load(small_blip_onnx, device="cpu", dtype="fp32", cache_dir=None)
    model = transformers.BlipForConditionalGeneration.from_pretrained(small_blip_hf).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(small_blip_hf)
    seen = set()
    for seed in range(3):
        image = _image(seed)
        pixels = torch.from_numpy(captioner.adapter.pixels(image))
        with torch.no_grad():
            expected = model.generate(pixel_values=pixels, max_new_tokens=POSITIONS - 1)[0].tolist()
        got = captioner.describe(image, DescribeOptions(max_tokens=POSITIONS - 1))
        assert got.token_ids == expected
        assert got.caption == tokenizer.decode(expected, skip_special_tokens=True)
        seen.add(tuple(expected))
    assert len(seen) > 1, "the pictures should get different captions"
    # Without a limit the caption stops at the end of the position table, never past it.
    assert len(captioner.describe(_image(0), DescribeOptions()).token_ids) <= POSITIONS


def test_training_batches_and_captions_stay_within_the_position_table(small_blip_hf: Path) -> None:
    """`lumen train` on such a base: a caption longer than the position table is cut to fit."""
    from tests.support.small_vocab_blip import POSITIONS
    from training.families import TrainingFamily

    family = TrainingFamily(small_blip_hf)
    long = " ".join(["a red square on a white ground"] * 6)  # over 40 tokens
    batch = family.batch([_image(0), _image(1)], [long, "a blue circle"])
    assert batch.inputs["input_ids"].shape[1] == POSITIONS
    with torch.no_grad():
        assert torch.isfinite(family.model(**batch.inputs).loss)
    assert len(family.captions([_image(0)])) == 1
