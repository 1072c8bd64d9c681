"""CLIP: our export of a tiny random CLIPModel against transformers, and keywords from captions."""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.support.clip_fixtures import tiny_clip_hf, tiny_clip_onnx  # noqa: F401 (fixtures)

# What Xenova/clip-vit-base-patch32 publishes (optimum's CLIPTextWithProjection and
# CLIPVisionWithProjection ONNX configs, which transformers.js' CLIPTextModelWithProjection and
# CLIPVisionModelWithProjection load by these file names): our files must be drop-in compatible.
PUBLISHED = {
    "onnx/text_model.onnx": (["input_ids"], ["text_embeds", "last_hidden_state"]),
    "onnx/vision_model.onnx": (["pixel_values"], ["image_embeds", "last_hidden_state"]),
}
CAPTIONS = ["a red sofa with two dogs on it", "dogs sitting on the sofa", "a man and a cat on a beach"]


def _pictures() -> list[Image.Image]:
    rng = np.random.default_rng(3)
    noise = Image.fromarray(rng.integers(0, 256, (45, 60, 3), dtype=np.uint8))
    stripes = Image.fromarray(np.kron(rng.integers(0, 256, (4, 1, 3), dtype=np.uint8),
                                      np.ones((10, 70, 1), dtype=np.uint8)))
    return [noise, stripes]


@pytest.fixture(scope="module")
def reference(tiny_clip_hf: Path):
    from transformers import CLIPModel, CLIPProcessor

    return CLIPModel.from_pretrained(tiny_clip_hf).eval(), CLIPProcessor.from_pretrained(tiny_clip_hf)


def _transformers_logits(reference, image: Image.Image, texts: list[str]) -> np.ndarray:
    import torch

    model, processor = reference
    inputs = processor(text=texts, images=image, return_tensors="pt", padding=True)
    with torch.no_grad():
        return model(**inputs).logits_per_image.numpy()


def test_exported_files_have_the_published_names(tiny_clip_onnx: Path) -> None:
    import onnxruntime as ort

    for name, (inputs, outputs) in PUBLISHED.items():
        session = ort.InferenceSession(str(tiny_clip_onnx / name), providers=["CPUExecutionProvider"])
        assert [i.name for i in session.get_inputs()] == inputs
        assert [o.name for o in session.get_outputs()] == outputs
    assert json.loads((tiny_clip_onnx / "lumen.json").read_text())["family"] == "clip"
    assert (tiny_clip_onnx / "preprocessor_config.json").is_file()


def test_logits_equal_transformers(tiny_clip_onnx: Path, reference) -> None:
    from models.clip import Clip

    clip = Clip.load(tiny_clip_onnx, device="cpu")
    assert clip.logit_scale == pytest.approx(float(reference[0].logit_scale.detach()), abs=1e-6)
    texts = ["a photo of a dog", "a photo of a red sofa", "beach", "a photo of a man on a beach at night"]
    for picture in _pictures():
        ours = clip.logits(picture, texts)
        theirs = _transformers_logits(reference, picture, texts)
        assert ours.shape == theirs.shape == (1, len(texts))
        assert np.abs(ours - theirs).max() < 1e-4


def test_keywords_rank_as_transformers_scores_them(tiny_clip_onnx: Path, reference) -> None:
    from models.clip import Clip, softmax
    from models.keywords import PROMPT, candidates, keywords

    clip = Clip.load(tiny_clip_onnx, device="cpu")
    words = candidates(CAPTIONS)
    for picture in _pictures():
        got = keywords(clip, picture, CAPTIONS)
        probs = softmax(_transformers_logits(reference, picture, [PROMPT.format(w) for w in words]))[0]
        expected = sorted(zip(words, probs), key=lambda pair: -pair[1])
        assert [k.word for k in got] == [w for w, _ in expected]
        assert np.allclose([k.score for k in got], [p for _, p in expected], atol=1e-5)
        assert sum(k.score for k in got) == pytest.approx(1.0, abs=1e-5)
        pair = got[0].to_json()
        assert isinstance(pair[0], str) and pair[1] == round(pair[1], 4)


def test_candidates_are_content_words_singular_once() -> None:
    from models.keywords import candidates

    assert candidates(CAPTIONS) == ["red", "sofa", "dog", "man", "cat", "beach"]
    assert candidates(["Two buses and a glass of water near the boxes", "people playing tennis"]) == [
        "bus", "glass", "water", "box", "person", "playing", "tennis"]
    assert candidates(["", "a the of 3 42"]) == []


def test_logit_scale_comes_from_the_folder(tiny_clip_onnx: Path, tmp_path: Path) -> None:
    """Our export writes the trained value; a published folder without one gets CLIP's 100."""
    from models.clip import Clip

    copy = tmp_path / "published"
    shutil.copytree(tiny_clip_onnx, copy)
    config = json.loads((copy / "config.json").read_text())
    assert config["logit_scale"] == pytest.approx(3.1, abs=1e-6)
    del config["logit_scale"]
    (copy / "config.json").write_text(json.dumps(config))
    (copy / "lumen.json").unlink()
    assert Clip.load(copy, device="cpu").logit_scale == pytest.approx(math.log(100.0))


def test_catalogue_installs_the_published_clip() -> None:
    from models.catalogue import find

    entry = find("clip-vit-base-patch32")
    assert entry.family == "clip" and entry.repo_id == "Xenova/clip-vit-base-patch32"
    assert {"onnx/text_model.onnx", "onnx/vision_model.onnx", "tokenizer.json"} <= set(entry.files("fp32"))
    assert "onnx/text_model_quantized.onnx" in entry.files("q8")


def test_a_caption_model_is_refused_as_clip(tiny_blip_onnx: Path) -> None:
    from models.clip import Clip
    from models.errors import ModelFolderError

    with pytest.raises(ModelFolderError, match="not CLIP"):
        Clip.load(tiny_blip_onnx, device="cpu")


def test_lumen_describe_tags(tiny_blip_onnx: Path, tiny_clip_onnx: Path, tmp_path: Path) -> None:
    """--tags adds tags from the captions and english_captions; without CLIP, captions still come."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    picture = tmp_path / "p.png"
    _pictures()[0].save(picture)
    env = {**os.environ, "LUMEN_MODELS_DIR": str(tmp_path / "none"), "PYTHONPATH": str(root)}
    base = [sys.executable, "-m", "desktop.cli", "describe", str(picture), "--model", str(tiny_blip_onnx),
            "--device", "cpu", "--json", "--tags", "--alternatives", "2", "--seed", "0"]
    done = subprocess.run([*base, "--tags-model", str(tiny_clip_onnx)], env=env, capture_output=True,
                          text=True, timeout=180, cwd=root)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["english_captions"] == [data["caption"], *data["alternatives"]]
    from models.keywords import candidates

    assert sorted(w for w, _ in data["tags"]) == sorted(candidates(data["english_captions"]))
    bare = subprocess.run(base, env=env, capture_output=True, text=True, timeout=180, cwd=root)
    assert bare.returncode == 0 and "needs a CLIP model" in bare.stderr and "Traceback" not in bare.stderr
    plain = json.loads(bare.stdout)
    assert plain["tags"] == [] and plain["caption"] == data["caption"]


def test_an_installed_clip_never_becomes_the_description_model(tiny_clip_onnx: Path, tmp_path: Path) -> None:
    from models.captioner import Captioner
    from models.clip import installed_clip
    from models.errors import ModelFolderError
    from models.registry import Registry

    registry = Registry(tmp_path / "models")
    registry.link(tiny_clip_onnx, "clip-vit-base-patch32-fp32")
    assert registry.default_name() is None and registry._state().get("default") is None
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LUMEN_MODELS_DIR", str(tmp_path / "models"))
        assert installed_clip() == tiny_clip_onnx
    with pytest.raises(ModelFolderError, match="keywords"):
        Captioner.load(tiny_clip_onnx, device="cpu")
