"""BLIP captioning: our export and ONNX engine against transformers' own `generate` on the same
tiny random weights, token for token."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.blip import CAPTION_ONLY, decoder_feeds
from models.captioner import Captioner
from models.errors import ModelRuntimeError
from models.results import DETAILS, DescribeOptions

from tests.support.require import require

torch = require("torch")
transformers = require("transformers")

MAX_TOKENS = 24
SEEDS = range(4)


def _image(seed: int) -> Image.Image:
    """Smooth shapes plus noise, a different size and pattern per seed."""
    rng = np.random.default_rng(seed)
    width, height = 90 + 17 * seed, 130 - 9 * seed
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([np.sin(x / (4 + seed)) * 120 + 128, np.cos(y / (3 + 2 * seed)) * 120 + 128,
                     (x * (seed + 1) + y) % 256], axis=-1)
    return Image.fromarray(np.clip(base + rng.normal(0, 30, base.shape), 0, 255).astype(np.uint8))


@pytest.fixture(scope="module")
def hf_model(tiny_blip_hf: Path):
    return transformers.BlipForConditionalGeneration.from_pretrained(tiny_blip_hf).eval()


@pytest.fixture(scope="module")
def hf_tokenizer(tiny_blip_hf: Path):
    return transformers.BertTokenizerFast.from_pretrained(tiny_blip_hf)


@pytest.fixture(scope="module")
def engine(tiny_blip_onnx: Path) -> Captioner:
    return Captioner.load(tiny_blip_onnx, device="cpu", dtype="fp32", cache_dir=None)


@pytest.fixture(scope="module")
def beam_folder(tiny_blip_onnx: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fp32 export with a generation_config.json as a hub folder might have it: beam 3,
    no_repeat_ngram_size 3, and eos_token_id copied from config.json ([CLS], not BLIP's [SEP])."""
    folder = tmp_path_factory.mktemp("blip-beam")
    for item in tiny_blip_onnx.iterdir():
        if item.suffix == ".json" and item.name != "lumen.json":
            shutil.copy(item, folder / item.name)
    (folder / "onnx").mkdir()
    for part in ("vision_model", "decoder_model_merged"):
        shutil.copy(tiny_blip_onnx / "onnx" / f"{part}.onnx", folder / "onnx" / f"{part}.onnx")
    config = json.loads((folder / "config.json").read_text())
    (folder / "generation_config.json").write_text(json.dumps({
        "num_beams": 3, "no_repeat_ngram_size": 3, "eos_token_id": config["text_config"]["eos_token_id"],
    }))
    return folder


def _hf_generate(hf_model, engine: Captioner, image: Image.Image, **kwargs) -> list[int]:
    pixels = torch.from_numpy(engine.adapter.pixels(image))
    with torch.no_grad():
        out = hf_model.generate(pixel_values=pixels, max_new_tokens=MAX_TOKENS, **kwargs)
    return out[0].tolist()


def _assert_varied(sequences: list[list[int]], sep: int) -> None:
    """Guard against a degenerate test model: the outputs must differ and some must end early."""
    assert len({tuple(s) for s in sequences}) == len(sequences), "every image should get its own caption"
    assert any(len(set(s)) > 6 for s in sequences), "tokens should vary within a caption"
    assert any(s[-1] == sep and len(s) <= MAX_TOKENS for s in sequences), "some caption should end at [SEP]"
    assert any(len(s) == MAX_TOKENS + 1 for s in sequences), "some caption should run to the limit"


def test_greedy_matches_transformers(hf_model, hf_tokenizer, engine: Captioner) -> None:
    """The default describe decodes as BLIP's generate does: greedily, ending at [SEP]."""
    seen = []
    for seed in SEEDS:
        image = _image(seed)
        expected = _hf_generate(hf_model, engine, image)
        got = engine.describe(image, DescribeOptions(max_tokens=MAX_TOKENS))
        assert got.token_ids == expected
        assert got.caption == hf_tokenizer.decode(expected, skip_special_tokens=True)
        assert 0.0 < got.confidence <= 1.0
        seen.append(expected)
    _assert_varied(seen, hf_model.config.text_config.sep_token_id)
    # The misleading config eos ([CLS]) occurs inside a caption without ending it.
    assert any(hf_model.config.text_config.eos_token_id in s[1:-1] for s in seen)


def test_beam_search_with_no_repeat_ngram_matches_transformers(hf_model, engine: Captioner,
                                                               beam_folder: Path) -> None:
    captioner = Captioner.load(beam_folder, device="cpu", cache_dir=None)
    seen = []
    for seed in SEEDS:
        image = _image(seed)
        expected = _hf_generate(hf_model, engine, image, num_beams=3, no_repeat_ngram_size=3)
        got = captioner.describe(image, DescribeOptions(max_tokens=MAX_TOKENS))
        assert got.token_ids == expected
        trigrams = [tuple(expected[i:i + 3]) for i in range(len(expected) - 2)]
        assert len(trigrams) == len(set(trigrams))
        seen.append(expected)
    _assert_varied(seen, hf_model.config.text_config.sep_token_id)


def test_beams_option_matches_transformers(hf_model, engine: Captioner) -> None:
    for seed in (0, 3):
        image = _image(seed)
        expected = _hf_generate(hf_model, engine, image, num_beams=3)
        assert engine.describe(image, DescribeOptions(beams=3, max_tokens=MAX_TOKENS)).token_ids == expected


def test_every_detail_gives_the_same_caption(engine: Captioner) -> None:
    results = [engine.describe(_image(2), DescribeOptions(detail=d, max_tokens=MAX_TOKENS)) for d in DETAILS]
    assert len({tuple(r.token_ids) for r in results}) == 1
    assert [r.detail for r in results] == list(DETAILS)


@pytest.mark.parametrize("task", ["ocr", "objects"])
def test_other_tasks_explain_that_blip_only_describes(engine: Captioner, task: str) -> None:
    with pytest.raises(ModelRuntimeError, match="Florence-2") as caught:
        engine.describe(_image(0), DescribeOptions(task=task))
    assert str(caught.value) == CAPTION_ONLY


def test_streaming_text_grows_into_the_caption(engine: Captioner) -> None:
    texts: list[str] = []
    result = engine.describe(_image(1), DescribeOptions(max_tokens=MAX_TOKENS), on_text=texts.append)
    assert texts and texts[-1] == result.caption
    assert all(later.startswith(earlier) for earlier, later in zip(texts, texts[1:]))


def test_alternatives_are_sampled(engine: Captioner) -> None:
    result = engine.describe(_image(4), DescribeOptions(max_tokens=12, alternatives=3, seed=7))
    assert len(result.alternatives) == 3 and all(isinstance(a, str) for a in result.alternatives)
    again = engine.describe(_image(4), DescribeOptions(max_tokens=12, alternatives=3, seed=7))
    assert again.alternatives == result.alternatives


@pytest.mark.parametrize("dtype", ["int8", "q4", "fp16"])
def test_quantized_exports_describe(tiny_blip_onnx: Path, hf_tokenizer, dtype: str) -> None:
    captioner = Captioner.load(tiny_blip_onnx, device="cpu", dtype=dtype, cache_dir=None)
    assert captioner.folder.dtype == dtype and captioner.family == "blip"
    result = captioner.describe(_image(0), DescribeOptions(max_tokens=12))
    bos = captioner.folder.config["text_config"]["bos_token_id"]
    assert result.token_ids[0] == bos and len(result.token_ids) > 3
    assert result.caption == hf_tokenizer.decode(result.token_ids, skip_special_tokens=True)
    assert 0.0 < result.confidence <= 1.0


def test_export_writes_the_blip_layout_and_real_generation_settings(tiny_blip_onnx: Path) -> None:
    for suffix in ("", "_int8", "_q4", "_fp16"):
        for part in ("vision_model", "decoder_model_merged"):
            assert (tiny_blip_onnx / "onnx" / f"{part}{suffix}.onnx").is_file()
    manifest = json.loads((tiny_blip_onnx / "lumen.json").read_text())
    assert manifest["family"] == "blip"
    text = json.loads((tiny_blip_onnx / "config.json").read_text())["text_config"]
    gen = json.loads((tiny_blip_onnx / "generation_config.json").read_text())
    # The source's outer settings (num_beams 3, max_length 20) are not what BLIP decodes with.
    assert "num_beams" not in gen and "max_length" not in gen
    assert (gen["bos_token_id"], gen["eos_token_id"], gen["pad_token_id"]) == (
        text["bos_token_id"], text["sep_token_id"], text["pad_token_id"])


def test_decoder_feeds_add_a_mask_only_when_the_decoder_takes_one() -> None:
    ids = np.array([[5], [6]], dtype=np.int64)
    assert set(decoder_feeds(ids, 4, wants_mask=False)) == {"input_ids"}
    feeds = decoder_feeds(ids, 4, wants_mask=True)
    assert feeds["attention_mask"].shape == (2, 5) and feeds["attention_mask"].all()
    first = decoder_feeds(np.array([[9, 10, 11]]), 0, wants_mask=True)
    assert first["attention_mask"].shape == (1, 3)
