"""Small model folders for the model-manager tests: real ONNX files, fake weights.

The manager checks, copies, hashes and downloads model folders; it never runs them, so the
graphs here are a valid one-node ONNX model padded with an initializer to a chosen size.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from models.catalogue import CONFIG_FILES, onnx_files
from models.families import alternatives
from models.manifest import write_manifest


def onnx_bytes(size: int = 2048, seed: int = 0) -> bytes:
    """A valid ONNX model of roughly `size` bytes (Identity graph plus a random initializer)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    pad = np.random.default_rng(seed).integers(0, 255, max(size - 200, 1), dtype=np.uint8)
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "fake",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
        initializer=[numpy_helper.from_array(pad, "padding")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return model.SerializeToString()


def config_files(family: str = "florence2") -> dict[str, bytes]:
    model_type = {"florence2": "florence2", "blip": "blip"}[family]
    # The published form of each required file (the first of its alternatives).
    names = [alternatives(entry)[0] for entry in CONFIG_FILES[family]]
    files = {name: json.dumps({"name": name}).encode() for name in names}
    files["config.json"] = json.dumps({"model_type": model_type, "vocab_size": 10}).encode()
    files["special_tokens_map.json"] = b'{"bos_token": "<s>"}'
    files["tokenizer_config.json"] = b'{"model_max_length": 1024}'
    return files


def model_files(
    family: str = "florence2", dtype: str = "int8", onnx_size: int = 2048
) -> dict[str, bytes]:
    files = config_files(family)
    for i, rel in enumerate(onnx_files(family, dtype)):
        files[rel] = onnx_bytes(onnx_size, seed=i)
    return files


def write_files(folder: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    return folder


def make_model_folder(
    folder: Path, *, name: str = "fake-florence", family: str = "florence2", dtype: str = "int8",
    manifest: bool = True, onnx_size: int = 2048,
) -> Path:
    """A whole model folder (with lumen.json unless `manifest=False`)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_files(folder, model_files(family, dtype, onnx_size))
    if manifest:
        write_manifest(folder, name=name, family=family, dtype=dtype, source="tests")
    return folder
