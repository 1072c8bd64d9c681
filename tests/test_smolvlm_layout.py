"""Our SmolVLM export has the published onnx-community layout and tensor names.

Published names (onnx-community/SmolVLM-256M-Instruct, read by transformers.js
Idefics3ForConditionalGeneration and the model card's onnxruntime example):
- onnx/vision_encoder{suffix}.onnx: pixel_values (batch, tiles, 3, H, W) float,
  pixel_attention_mask (batch, tiles, H, W) bool -> image_features
- onnx/embed_tokens{suffix}.onnx: input_ids -> inputs_embeds
- onnx/decoder_model_merged{suffix}.onnx: inputs_embeds, attention_mask, position_ids,
  past_key_values.{i}.key, past_key_values.{i}.value -> logits, present.{i}.key, present.{i}.value
  (no use_cache_branch: the first step is fed a past of length 0)
Published dtype suffixes: "", _fp16, _int8, _uint8, _quantized, _q4, _q4f16, _bnb4.
"""
from __future__ import annotations

from pathlib import Path

from tests.support.smolvlm_fixtures import tiny_smolvlm_hf, tiny_smolvlm_onnx  # noqa: F401

PUBLISHED = {
    "vision_encoder": ({"pixel_values": "tensor(float)", "pixel_attention_mask": "tensor(bool)"},
                       ["image_features"]),
    "embed_tokens": ({"input_ids": "tensor(int64)"}, ["inputs_embeds"]),
}
PUBLISHED_SUFFIXES = ("", "_fp16", "_int8", "_uint8", "_quantized", "_q4", "_q4f16", "_bnb4")


def decoder_names(layers: int) -> tuple[list[str], list[str]]:
    inputs = ["inputs_embeds", "attention_mask", "position_ids"]
    inputs += [f"past_key_values.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
    return inputs, ["logits"] + [f"present.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]


def test_family_entry_matches_the_published_layout():
    from models.families import DTYPE_SUFFIX, FAMILIES

    family = FAMILIES["smolvlm"]
    assert family.parts == ("vision_encoder", "embed_tokens", "decoder_model_merged")
    assert {"smolvlm", "idefics3"} <= set(family.model_types)  # the published configs say idefics3
    assert tuple(DTYPE_SUFFIX.values()) == PUBLISHED_SUFFIXES
    assert family.onnx_files("q4f16")[2] == "onnx/decoder_model_merged_q4f16.onnx"


def test_exported_tensor_names_are_the_published_ones(tiny_smolvlm_onnx: Path):
    import onnxruntime as ort

    layers = 2  # tests/support/tiny_smolvlm.py
    for part, (inputs, outputs) in PUBLISHED.items():
        session = ort.InferenceSession(str(tiny_smolvlm_onnx / "onnx" / f"{part}.onnx"))
        assert {i.name: i.type for i in session.get_inputs()} == inputs
        assert [o.name for o in session.get_outputs()] == outputs
    session = ort.InferenceSession(str(tiny_smolvlm_onnx / "onnx" / "decoder_model_merged.onnx"))
    inputs, outputs = decoder_names(layers)
    assert [i.name for i in session.get_inputs()] == inputs
    assert [o.name for o in session.get_outputs()] == outputs
    types = {i.name: i.type for i in session.get_inputs()}
    assert types["attention_mask"] == types["position_ids"] == "tensor(int64)"
    past = session.get_inputs()[3].shape
    assert isinstance(past[0], str) and isinstance(past[2], str) and past[1] == 2  # batch, heads, length, dim


def test_exported_folder_keeps_the_chat_template_and_image_settings(tiny_smolvlm_onnx: Path):
    import json

    assert (tiny_smolvlm_onnx / "chat_template.jinja").read_text().startswith("<|im_start|>")
    settings = json.loads((tiny_smolvlm_onnx / "preprocessor_config.json").read_text())
    assert settings["max_image_size"] == {"longest_edge": 64} and settings["do_image_splitting"] is True


def test_folder_opens_as_smolvlm(tiny_smolvlm_onnx: Path):
    from models.folder import ModelFolder

    folder = ModelFolder.open(tiny_smolvlm_onnx)
    assert folder.family == "smolvlm" and folder.dtype == "fp32"
