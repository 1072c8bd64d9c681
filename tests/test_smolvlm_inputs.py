"""SmolVLM's tiles and prompt equal transformers' SmolVLMProcessor, read from either saved
form: transformers 5's (processor_config.json with the image settings nested,
chat_template.jinja, extra_special_tokens) and the published one (preprocessor_config.json,
chat_template.json, model_type idefics3), saved by the transformers 4.48.3 of its day."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.support.require import require

require("torch")

from models.asker import Asker  # noqa: E402
from models.folder import ModelFolder  # noqa: E402
from models.picture_cache import PictureCache  # noqa: E402
from models.tokenizer import TextTokenizer  # noqa: E402
from models.smolvlm_inputs import SmolVLMSettings, conversation  # noqa: E402
from tests.support.smolvlm_fixtures import tiny_smolvlm_hf, tiny_smolvlm_onnx  # noqa: E402,F401
from tests.support.tiny_smolvlm import load_processor  # noqa: E402
from tests.test_smolvlm_parity import picture  # noqa: E402

SIZES = [(150, 100), (90, 200), (40, 30), (64, 64), (128, 64), (300, 31)]


@pytest.fixture(scope="module")
def processor(tiny_smolvlm_hf: Path):
    return load_processor(tiny_smolvlm_hf)


@pytest.fixture(scope="module")
def legacy_transformers() -> Path:
    """A virtual environment with the transformers that wrote the published SmolVLM folders."""
    from tests.conftest import SUPPORT, cached_dir
    from tests.support.legacy_smolvlm import build_environment

    try:
        return cached_dir("legacy-transformers", build_environment, SUPPORT / "legacy_smolvlm.py")
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        pytest.fail(f"the published form needs {e}; check that pip can reach the package registry", pytrace=False)


def published_form(environment: Path, folder: Path, out: Path) -> Path:
    """The same model laid out as onnx-community publishes SmolVLM: saved by transformers
    4.48.3's Idefics3 classes (tests/support/legacy_smolvlm.py)."""
    from tests.support.legacy_smolvlm import save_published_form

    save_published_form(environment, folder, out)
    assert json.loads((out / "config.json").read_text())["model_type"] == "idefics3"
    assert {"preprocessor_config.json", "chat_template.json"} <= {f.name for f in out.iterdir()}
    assert "chat_template.jinja" not in {f.name for f in out.iterdir()}
    return out


def settings_of(folder: Path) -> SmolVLMSettings:
    opened = ModelFolder.open(folder)
    return SmolVLMSettings.from_folder(folder, opened.config, opened.preprocessor_config)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("one_tile", [False, True])
def test_tiles_and_prompt_equal_the_processor(tiny_smolvlm_onnx, processor, size, one_tile):
    settings = settings_of(tiny_smolvlm_onnx)
    image = picture(7, size)
    ours = settings.picture(image, one_tile)
    expected = processor.image_processor(images=[image], return_tensors="np", return_row_col_info=True,
                                         do_image_splitting=not one_tile)
    np.testing.assert_array_equal(ours.pixel_values, expected["pixel_values"])
    np.testing.assert_array_equal(ours.pixel_attention_mask, expected["pixel_attention_mask"].astype(bool))
    assert (ours.rows, ours.cols) == (expected["rows"][0][0], expected["cols"][0][0])
    turns = [("Is it red?", "Yes."), ("What else?", None)]
    text = processor.apply_chat_template(conversation(turns), add_generation_prompt=True)
    inputs = processor(text=text, images=[image], return_tensors="np",
                       images_kwargs={"do_image_splitting": not one_tile})
    ids = TextTokenizer.from_folder(tiny_smolvlm_onnx).encode(settings.prompt(conversation(turns), ours))
    assert ids == inputs["input_ids"][0].tolist()


def test_published_form_reads_the_same(legacy_transformers, tiny_smolvlm_onnx, tmp_path):
    published = published_form(legacy_transformers, tiny_smolvlm_onnx, tmp_path / "published")
    assert ModelFolder.open(published).family == "smolvlm"
    ours, theirs = settings_of(tiny_smolvlm_onnx), settings_of(published)
    assert (theirs.chat_template, theirs.image_seq_len, theirs.tile, theirs.longest_edge) == \
        (ours.chat_template, ours.image_seq_len, ours.tile, ours.longest_edge)
    image = picture(8, (100, 140))
    answers = [Asker.load(f, "cpu", threads=1, cache=PictureCache()).conversation(image).ask("Why?", max_tokens=8)
               for f in (tiny_smolvlm_onnx, published)]
    assert answers[0].token_ids == answers[1].token_ids
