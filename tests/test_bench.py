"""`lumen bench` runs end to end on the tiny model and writes the JSON contract.

Speed is not tested here (the numbers come from real runs on the full-size model); this checks
that the benchmark runs both engines, compares their tokens and reports every figure.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.require import require

CONTRACT = {"torch_s", "onnx_fp32_s", "onnx_int8_s", "ratio_fp32", "ratio_int8", "peak_rss_mb_int8",
            "first_token_s_int8", "gemm_gflops", "vision_gflops_fp32"}
PER_VARIANT = ("load_s", "preprocess_s", "vision_s", "encoder_s", "decode_per_token_s", "first_token_s",
               "total_s", "peak_rss_mb")


def lumen(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "desktop.cli", *args], capture_output=True, text=True,
                          timeout=600)


def test_bench_writes_the_json_contract(tiny_florence2_onnx: Path, tiny_florence2_hf: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = lumen("bench", "--model", str(tiny_florence2_onnx), "--torch-checkpoint", str(tiny_florence2_hf),
                 "--dtypes", "fp32,int8", "--tokens", "6", "--runs", "1", "--app-runs", "0", "--json", str(out))
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    assert CONTRACT <= set(data)
    for variant in ("fp32", "int8"):
        for key in PER_VARIANT:
            assert data[f"{key}_{variant}"] > 0
    assert data["ratio_int8"] == pytest.approx(data["onnx_int8_s"] / data["torch_s"])
    # The engine decodes what transformers decodes, and exactly the forced number of tokens.
    assert data["tokens_match_fp32"] is True
    assert data["tokens_fp32"] == data["tokens_torch"] and len(data["tokens_fp32"]) == 1 + 6
    assert data["logit_cosine_int8"] > 0.9
    # Fresh processes hold no torch: far less memory than the process that ran transformers.
    assert data["peak_rss_mb_int8"] < data["peak_rss_mb_torch"]
    assert data["describe_cold_s"] > 0 and data["describe_warm_s"] > 0
    assert data["torch_alone_s"] > 0 and data["ratio_alone_int8"] > 0
    assert "app_start_s" not in data
    # Every figure names the processor it was measured on.
    from export.benchmark.machine import processor

    assert data["cpu_features"] == list(processor().features) and data["cpu"] == processor().model
    assert f"Processor: {processor().describe()}." in done.stdout
    table = done.stdout.splitlines()
    assert table[0].startswith("| engine |") and any(r.startswith("| Lumen ONNX int8 |") for r in table)


def test_bench_without_a_model_is_one_line_error(tmp_path: Path) -> None:
    done = lumen("bench", "--model", str(tmp_path / "missing"), "--app-runs", "0")
    assert done.returncode == 3
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1


def test_torch_checkpoint_needs_a_model(tmp_path: Path) -> None:
    done = lumen("bench", "--random-weights", str(tmp_path), "--torch-checkpoint", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr


def test_original_config_maps_to_full_size_florence2(shared_dir: Path) -> None:
    torch = require("torch")
    from transformers import Florence2ForConditionalGeneration

    from export.benchmark.random_weights import native_config

    config = native_config(shared_dir / "florence2-base")
    with torch.device("meta"):
        model = Florence2ForConditionalGeneration(config)
    # The figure in ../shared/florence2-base/README.md for transformers' native classes.
    assert sum(p.numel() for p in model.parameters()) == 231_414_016
    assert config.image_token_id < config.text_config.vocab_size


def test_random_weights_are_built_once_and_exported(tiny_florence2_hf: Path, tmp_path: Path) -> None:
    from export.benchmark.random_weights import random_model

    lines: list[str] = []
    first = random_model(tiny_florence2_hf, tmp_path, ("fp32",), log=lines.append)
    assert first.dtypes == ("fp32",) and (first.onnx / "onnx" / "vision_encoder.onnx").is_file()
    assert (first.checkpoint / "model.safetensors").is_file()
    lines.clear()
    again = random_model(tiny_florence2_hf, tmp_path, ("fp32",), log=lines.append)
    assert again == first and not lines  # cached: nothing rebuilt, nothing exported


def test_profile_names_each_part_even_from_the_optimised_graph_cache(tiny_florence2_onnx: Path) -> None:
    """`lumen bench --profile` sums onnxruntime's profile per model part. Sessions opened from
    the cache read `<part>-<key>/graph.onnx`: each must still be named for its part."""
    from PIL import Image

    from export.benchmark.profiling import profile_table, profile_variant

    profiles = profile_variant(tiny_florence2_onnx, "int8", Image.new("RGB", (64, 48), "teal"), 4, 1)
    parts = {p.part for p in profiles}
    assert {"vision_encoder_int8", "encoder_model_int8", "decoder_model_merged_int8"} <= parts, parts
    vision = next(p for p in profiles if p.part == "vision_encoder_int8")
    assert vision.run_ms > 0 and sum(o.calls for o in vision.ops) > 10
    assert "vision_encoder_int8:" in profile_table(profiles)
