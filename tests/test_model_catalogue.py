"""The catalogue of installable models and the recommendation for this computer."""
from __future__ import annotations

import pytest

from models import catalogue
from models.catalogue import UnknownModelError


def test_recommendation_on_cpu_and_gpu() -> None:
    cpu = catalogue.recommend(["CPUExecutionProvider"])
    assert (cpu.entry.name, cpu.dtype) == ("florence-2-base-ft", "int8")
    assert cpu.installed_name == "florence-2-base-ft-int8"
    gpu = catalogue.recommend(["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert (gpu.entry.name, gpu.dtype) == ("florence-2-large-ft", "fp16")
    assert "CUDA" in gpu.reason


def test_recommendation_follows_this_onnxruntime() -> None:
    import onnxruntime

    assert catalogue.recommend() == catalogue.recommend(onnxruntime.get_available_providers())
    assert catalogue.recommend([]) == catalogue.recommend(["CPUExecutionProvider"])


@pytest.mark.parametrize("name", [
    "florence-2-base-ft", "Florence-2-base-ft", "onnx-community/Florence-2-base-ft",
    "florence-community/Florence-2-base-ft",
])
def test_find_by_any_of_its_names(name: str) -> None:
    assert catalogue.find(name).repo_id == "onnx-community/Florence-2-base-ft"


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(UnknownModelError, match="florence-2-large-ft, florence-2-base"):
        catalogue.find("florence-3")
    assert UnknownModelError.exit_code == 2


def test_files_per_dtype() -> None:
    assert catalogue.onnx_files("florence2", "q4") == (
        "onnx/vision_encoder_q4.onnx", "onnx/embed_tokens_q4.onnx",
        "onnx/encoder_model_q4.onnx", "onnx/decoder_model_merged_q4.onnx",
    )
    assert catalogue.onnx_files("blip", "fp32") == (
        "onnx/vision_model.onnx", "onnx/decoder_model_merged.onnx")
    assert catalogue.onnx_files("florence2", "q8")[0] == "onnx/vision_encoder_quantized.onnx"
    entry = catalogue.find("florence-2-base-ft")
    assert "config.json" in entry.files("int8") and "tokenizer.json" in entry.files("int8")
    with pytest.raises(UnknownModelError, match="Unknown dtype 'int3'"):
        catalogue.onnx_files("florence2", "int3")


def test_sizes_are_plausible_and_ordered() -> None:
    base, large = catalogue.find("florence-2-base-ft"), catalogue.find("florence-2-large-ft")
    assert 200e6 < base.approx_bytes("int8") < 400e6
    assert 0.9e9 < base.approx_bytes("fp32") < 1.3e9
    assert large.approx_bytes("fp16") > base.approx_bytes("fp16") * 3
    assert base.approx_bytes("q4") < base.approx_bytes("int8") < base.approx_bytes("fp16")


def test_blip_is_export_only() -> None:
    blip = catalogue.find("blip-base")
    assert blip.export_only and blip.dtypes == ()
    assert blip.export_source == "Salesforce/blip-image-captioning-base"
    assert catalogue.default_dtype(blip, ["CPUExecutionProvider"]) in catalogue.EXPORT_DTYPES
    assert catalogue.default_dtype(catalogue.find("florence-2-large-ft"), ["CUDAExecutionProvider"]) == "fp16"
