"""One way to turn a torch module into an ONNX file: dynamo exporter, opset 18."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import onnx

OPSET = 18
# protobuf cannot hold a file over 2 GiB; larger models keep their weights beside the graph.
EXTERNAL_DATA_OVER = 1_800_000_000


def export_module(
    module: Any,
    args: tuple[Any, ...],
    input_names: list[str],
    output_names: list[str],
    dynamic_shapes: Any,
) -> onnx.ModelProto:
    """Export with torch.onnx's dynamo path and return the model in memory."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            module,
            args,
            input_names=input_names,
            output_names=output_names,
            dynamic_shapes=dynamic_shapes,
            opset_version=OPSET,
            dynamo=True,
            optimize=True,
            verbose=False,
        )
    return program.model_proto


def save_model(model: onnx.ModelProto, path: Path) -> None:
    """Save, moving weights to `<name>_data` only when the file would be too large."""
    path.parent.mkdir(parents=True, exist_ok=True)
    big = model.ByteSize() > EXTERNAL_DATA_OVER
    onnx.save_model(
        model,
        str(path),
        save_as_external_data=big,
        all_tensors_to_one_file=True,
        location=f"{path.name}_data" if big else None,
        size_threshold=1024,
    )
