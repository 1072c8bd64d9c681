"""Our ONNX engine against transformers' own `generate` on the same tiny random weights."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.captioner import Captioner
from models.results import DETAILS, DescribeOptions
from models.tasks import florence_task
from models.tokenizer import TextTokenizer

from tests.support.require import require

torch = require("torch")
transformers = require("transformers")


def _image(seed: int, size: tuple[int, int] = (150, 110)) -> Image.Image:
    rng = np.random.default_rng(seed)
    # Smooth shapes plus noise: closer to a photo than pure noise, and different per seed.
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    base = np.stack([np.sin(x / (7 + seed)) * 120 + 128, np.cos(y / (5 + seed)) * 120 + 128,
                     (x + y) % 256], axis=-1)
    noisy = base + rng.normal(0, 25, base.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


@pytest.fixture(scope="module")
def hf_model(tiny_florence2_hf: Path):
    return transformers.Florence2ForConditionalGeneration.from_pretrained(tiny_florence2_hf).eval()


@pytest.fixture(scope="module")
def engine(tiny_florence2_onnx: Path) -> Captioner:
    return Captioner.load(tiny_florence2_onnx, device="cpu", dtype="fp32", cache_dir=None)


def _hf_generate(hf_model, engine: Captioner, image: Image.Image, task: str, detail: str,
                 beams: int, max_tokens: int) -> list[int]:
    tokenizer = TextTokenizer.from_folder(engine.folder.path)
    prompt = tokenizer.encode(florence_task(task, detail).prompt)
    pixels = torch.from_numpy(engine.adapter.pixels(image))
    n_image = hf_model.model.get_image_features(pixels).pooler_output.shape[1]
    ids = torch.tensor([[hf_model.config.image_token_id] * n_image + prompt])
    with torch.no_grad():
        out = hf_model.generate(input_ids=ids, pixel_values=pixels, num_beams=beams,
                                max_new_tokens=max_tokens, do_sample=False)
    return out[0].tolist()


@pytest.mark.parametrize("detail", DETAILS)
@pytest.mark.parametrize("beams", [1, 3])
def test_tokens_match_transformers(hf_model, engine: Captioner, detail: str, beams: int) -> None:
    for seed in (0, 1):
        image = _image(seed)
        expected = _hf_generate(hf_model, engine, image, "caption", detail, beams, 24)
        got = engine.describe(image, DescribeOptions(detail=detail, beams=beams, max_tokens=24))
        assert got.token_ids == expected
        assert len(set(expected)) > 4, "degenerate test model: the tokens should vary"


@pytest.mark.parametrize("task", ["ocr", "objects"])
def test_other_tasks_match_transformers(hf_model, engine: Captioner, task: str) -> None:
    image = _image(3)
    expected = _hf_generate(hf_model, engine, image, task, "brief", 3, 30)
    got = engine.describe(image, DescribeOptions(task=task, max_tokens=30))
    assert got.token_ids == expected


def test_generation_config_is_honoured(engine: Captioner) -> None:
    # The tiny model's generation_config.json asks for beam 3, no_repeat_ngram_size 3 and
    # forced BOS/EOS: the default describe must show all three.
    got = engine.describe(_image(5), DescribeOptions(max_tokens=30))
    ids = got.token_ids
    assert ids[:2] == [2, 0]
    assert ids[-1] == 2
    trigrams = [tuple(ids[i : i + 3]) for i in range(len(ids) - 2)]
    assert len(trigrams) == len(set(trigrams))


@pytest.mark.parametrize("dtype", ["int8", "q4", "fp16"])
def test_quantized_exports_describe(tiny_florence2_onnx: Path, dtype: str) -> None:
    captioner = Captioner.load(tiny_florence2_onnx, device="cpu", dtype=dtype, cache_dir=None)
    assert captioner.folder.dtype == dtype
    result = captioner.describe(_image(0), DescribeOptions(max_tokens=12))
    assert result.token_ids[:2] == [2, 0] and len(result.token_ids) > 3
    assert 0.0 < result.confidence <= 1.0
