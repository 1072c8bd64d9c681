"""The exported folder uses the tensor names of the published onnx-community Florence-2 files.

Written down from onnx-community/Florence-2-base-ft (as transformers.js's Florence-2 code feeds
them: vision_encoder(pixel_values) -> image_features; embed_tokens(input_ids) -> inputs_embeds;
encoder_model(inputs_embeds, attention_mask) -> last_hidden_state; decoder_model_merged with
encoder_attention_mask, encoder_hidden_states, inputs_embeds, past_key_values.{i}.{decoder,
encoder}.{key,value}, use_cache_branch -> logits, present.{i}.{decoder,encoder}.{key,value}).
A user who downloads those files must be able to use them as they are.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import onnxruntime as ort
import pytest

from models.folder import ModelFolder, dtypes_present

PUBLISHED = {
    "vision_encoder": (["pixel_values"], ["image_features"]),
    "embed_tokens": (["input_ids"], ["inputs_embeds"]),
    "encoder_model": (["attention_mask", "inputs_embeds"], ["last_hidden_state"]),
}
# The file names onnx-community publishes (transformers.js naming), written down once here.
PUBLISHED_SUFFIXES = {"fp32": "", "fp16": "_fp16", "int8": "_int8", "uint8": "_uint8",
                      "q8": "_quantized", "q4": "_q4", "q4f16": "_q4f16", "bnb4": "_bnb4"}
PARTS = ("vision_encoder", "embed_tokens", "encoder_model", "decoder_model_merged")


def _decoder_names(layers: int) -> tuple[set[str], set[str]]:
    kv = [f"{i}.{part}.{t}" for i in range(layers) for part in ("decoder", "encoder") for t in ("key", "value")]
    inputs = {"encoder_attention_mask", "encoder_hidden_states", "inputs_embeds", "use_cache_branch"}
    return inputs | {f"past_key_values.{n}" for n in kv}, {"logits"} | {f"present.{n}" for n in kv}


@pytest.mark.parametrize("dtype", ["fp32", "int8", "q4", "fp16"])
def test_exported_files_have_the_published_names(tiny_florence2_onnx: Path, dtype: str) -> None:
    names = {p.name for p in (tiny_florence2_onnx / "onnx").iterdir()}
    assert {f"{part}{PUBLISHED_SUFFIXES[dtype]}.onnx" for part in PARTS} <= names


@pytest.mark.parametrize("dtype", sorted(PUBLISHED_SUFFIXES))
def test_a_published_folder_opens_in_every_dtype(tiny_florence2_onnx: Path, tmp_path: Path, dtype: str) -> None:
    """A downloaded folder holding only one variant, named as published, opens in that variant."""
    copy = tmp_path / "m"
    shutil.copytree(tiny_florence2_onnx, copy, ignore=shutil.ignore_patterns("*.onnx", "lumen.json"))
    for part in PARTS:
        shutil.copyfile(tiny_florence2_onnx / "onnx" / f"{part}.onnx",
                        copy / "onnx" / f"{part}{PUBLISHED_SUFFIXES[dtype]}.onnx")
    folder = ModelFolder.open(copy)
    assert folder.dtype == dtype
    assert [folder.onnx_file(p).name for p in PARTS] == [f"{p}{PUBLISHED_SUFFIXES[dtype]}.onnx" for p in PARTS]


@pytest.mark.parametrize("dtype", ["fp32", "int8", "q4", "fp16"])
def test_exported_tensor_names(tiny_florence2_onnx: Path, dtype: str) -> None:
    folder = ModelFolder.open(tiny_florence2_onnx, dtype)
    for part, (inputs, outputs) in PUBLISHED.items():
        s = ort.InferenceSession(str(folder.onnx_file(part)), providers=["CPUExecutionProvider"])
        assert sorted(i.name for i in s.get_inputs()) == inputs
        assert [o.name for o in s.get_outputs()] == outputs
    s = ort.InferenceSession(str(folder.onnx_file("decoder_model_merged")), providers=["CPUExecutionProvider"])
    inputs, outputs = _decoder_names(layers=2)
    assert {i.name for i in s.get_inputs()} == inputs
    assert {o.name for o in s.get_outputs()} == outputs
    assert next(i for i in s.get_inputs() if i.name == "use_cache_branch").type == "tensor(bool)"


def test_folder_lists_complete_dtypes_only(tiny_florence2_onnx: Path, tmp_path: Path) -> None:
    assert set(dtypes_present(tiny_florence2_onnx / "onnx", "florence2")) == {"fp32", "int8", "q4", "fp16"}
    copy = tmp_path / "m"
    shutil.copytree(tiny_florence2_onnx, copy)
    (copy / "onnx" / "encoder_model_q4.onnx").unlink()
    assert "q4" not in dtypes_present(copy / "onnx", "florence2")
    assert ModelFolder.open(copy).dtype == "fp32"  # the manifest's dtype
