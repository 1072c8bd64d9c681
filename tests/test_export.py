"""`lumen export`: the exporter run as users run it, its validation and its failures."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import onnx

from tests.support.require import require

require("torch")


def lumen(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "desktop.cli", *args], capture_output=True,
                          text=True, timeout=600)


def test_export_cli_writes_a_validated_folder(tiny_blip_hf: Path, tmp_path: Path) -> None:
    """The command as users run it (BLIP: the quickest family to export; Florence-2's export
    through the same code builds the tiny_florence2_onnx fixture, every dtype validated)."""
    out = tmp_path / "exported"
    done = lumen("export", str(tiny_blip_hf), str(out), "--dtype", "fp32,int8")
    assert done.returncode == 0, done.stderr
    # Every output of every part was compared with PyTorch and printed, for both dtypes.
    assert "blip fp32:" in done.stdout and "blip int8:" in done.stdout
    diffs = [line for line in done.stdout.splitlines() if "max abs diff" in line]
    assert len(diffs) >= 2 * 2 and len(diffs) % 2 == 0 and all(line.rstrip().endswith("(ok)") for line in diffs)
    manifest = json.loads((out / "lumen.json").read_text())
    assert manifest["family"] == "blip" and manifest["dtype"] == "fp32"
    assert {"onnx/decoder_model_merged.onnx", "onnx/decoder_model_merged_int8.onnx", "onnx/vision_model_int8.onnx",
            "tokenizer.json", "generation_config.json"} <= set(manifest["files"])
    assert all(len(f["sha256"]) == 64 and f["size"] > 0 for f in manifest["files"].values())
    assert {"torch", "transformers", "onnxruntime"} <= set(manifest["versions"])


def test_merged_decoder_stores_weights_once(tiny_florence2_onnx: Path) -> None:
    merged = onnx.load(str(tiny_florence2_onnx / "onnx" / "decoder_model_merged.onnx"))
    onnx.checker.check_model(merged)
    (node,) = merged.graph.node
    assert node.op_type == "If" and node.input[0] == "use_cache_branch"
    for branch in node.attribute:
        assert len(branch.g.initializer) == 0  # all weights live once, in the outer graph
    names = [i.name for i in merged.graph.initializer]
    assert len(names) == len(set(names))
    embedding = [i for i in merged.graph.initializer if i.dims and i.dims[0] == 1417]
    assert len(embedding) <= 1, "the word embedding / lm_head matrix must not be duplicated"


def test_unknown_family_and_missing_source(tmp_path: Path) -> None:
    (tmp_path / "gpt").mkdir()
    (tmp_path / "gpt" / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    done = lumen("export", str(tmp_path / "gpt"), str(tmp_path / "o"))
    assert done.returncode == 5 and "Traceback" not in done.stderr
    assert "'gpt2' model" in done.stderr and all(f in done.stderr for f in ("florence2", "blip"))
    done = lumen("export", str(tmp_path / "nope" / "x"), str(tmp_path / "o"))
    assert done.returncode == 5 and done.stderr.startswith("error: ")


def test_bad_dtype_is_a_usage_error(tmp_path: Path) -> None:
    done = lumen("export", str(tmp_path), str(tmp_path / "o"), "--dtype", "int3")
    assert done.returncode == 2 and "choose from" in done.stderr
