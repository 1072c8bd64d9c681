"""ModelFolder is the one source of truth: check_folder agrees with ModelFolder.open, settings
come from the folder's files (never a guessed default), and both saved forms of the image
processor settings are read."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from models.errors import ModelFolderError
from models.families import FAMILIES, family_for_model_type
from models.folder import ModelFolder, image_processor_config
from models.folder_check import check_folder
from models.manifest import write_manifest
from tests.support.model_fakes import make_model_folder


def test_florence_2_with_a_hyphen_opens_and_checks_alike(tmp_path: Path) -> None:
    folder = make_model_folder(tmp_path / "m", manifest=False)
    (folder / "config.json").write_text(json.dumps({"model_type": "florence-2"}))
    assert check_folder(folder).family == ModelFolder.open(folder).family == "florence2"


def test_an_asked_for_complete_dtype_opens_and_checks_alike(tmp_path: Path) -> None:
    folder = make_model_folder(tmp_path / "m", dtype="fp32", manifest=False)
    for src in (folder / "onnx").glob("*.onnx"):
        shutil.copyfile(src, src.with_name(src.stem + "_int8.onnx"))
    write_manifest(folder, name="m", family="florence2", dtype="fp32", source="tests")
    assert ModelFolder.open(folder, "int8").dtype == check_folder(folder, dtype="int8").dtype == "int8"
    with pytest.raises(ModelFolderError, match="holds the fp32 variant, not q4"):
        check_folder(folder, dtype="q4")
    with pytest.raises(ModelFolderError, match="holds the fp32 variant, not q4"):
        ModelFolder.open(folder, "q4")


def test_every_model_type_names_one_family() -> None:
    seen = [t for f in FAMILIES.values() for t in f.model_types]
    assert len(seen) == len(set(seen))
    assert family_for_model_type("Florence-2").name == "florence2"
    assert family_for_model_type("llama") is None


def test_processor_config_json_of_transformers_5_is_read(tmp_path: Path, tiny_florence2_hf: Path) -> None:
    folder = make_model_folder(tmp_path / "m", manifest=False)
    (folder / "preprocessor_config.json").unlink()
    # The file as Florence2Processor.save_pretrained wrote it (transformers 5: image settings nested).
    saved = tiny_florence2_hf / "processor_config.json"
    nested = json.loads(saved.read_text())["image_processor"]
    (folder / "processor_config.json").write_bytes(saved.read_bytes())
    assert ModelFolder.open(folder).preprocessor_config == nested == image_processor_config(folder)
    (folder / "processor_config.json").unlink()
    with pytest.raises(ModelFolderError, match="missing preprocessor_config.json or processor_config.json"):
        ModelFolder.open(folder)


def test_text_settings_and_start_token_come_from_the_files(tmp_path: Path) -> None:
    folder = make_model_folder(tmp_path / "m", manifest=False)
    (folder / "config.json").write_text(json.dumps({
        "model_type": "florence2", "text_config": {"d_model": 32, "decoder_attention_heads": 4}}))
    (folder / "generation_config.json").write_text(json.dumps({"decoder_start_token_id": 7}))
    opened = ModelFolder.open(folder)
    assert opened.text_setting("decoder_attention_heads") == 4 and opened.decoder_start_id() == 7
    with pytest.raises(ModelFolderError, match="config.json in .* has no encoder_layers"):
        opened.text_setting("encoder_layers")  # no fallback to a base-model default
    (folder / "generation_config.json").write_text("{}")
    with pytest.raises(ModelFolderError, match="decoder_start_token_id"):
        ModelFolder.open(folder).decoder_start_id()  # never the literal 2


def test_start_token_follows_the_folder(tiny_florence2_onnx: Path, tmp_path: Path) -> None:
    from models.captioner import Captioner
    from models.results import DescribeOptions

    copy = tmp_path / "m"
    shutil.copytree(tiny_florence2_onnx, copy)
    generation = json.loads((copy / "generation_config.json").read_text())
    (copy / "generation_config.json").write_text(json.dumps({**generation, "decoder_start_token_id": 0}))
    (copy / "lumen.json").unlink()  # the files changed on purpose
    got = Captioner.load(copy, device="cpu", dtype="fp32", cache_dir=None).describe(
        _picture(),
        DescribeOptions(max_tokens=4, beams=1))
    assert got.token_ids[0] == 0
    (copy / "generation_config.json").write_text(json.dumps({**generation, "num_beams": 0}))
    with pytest.raises(ModelFolderError, match="generation settings .* are invalid"):
        Captioner.load(copy, device="cpu", dtype="fp32", cache_dir=None).describe(_picture())


def _picture():
    from PIL import Image

    return Image.new("RGB", (64, 48), (200, 40, 40))
