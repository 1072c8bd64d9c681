"""fp16 / int8 / q4 variants of an fp32 export, with onnxruntime's own tools."""
from __future__ import annotations

import logging
from pathlib import Path

import onnx

from export.onnx_utils import save_model

DTYPES = ("fp32", "fp16", "int8", "q4")
# File suffixes as published by onnx-community (transformers.js naming).
SUFFIX = {"fp32": "", "fp16": "_fp16", "int8": "_int8", "q4": "_q4"}


def quantize_file(src: Path, dst: Path, dtype: str) -> None:
    """Write `dst`, the `dtype` variant of the fp32 model at `src`."""
    logging.getLogger("onnxruntime").setLevel(logging.ERROR)
    if dtype == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # Weights int8 per channel, activations quantized on the fly; If-branches included.
        quantize_dynamic(
            src, dst, op_types_to_quantize=["MatMul", "Gemm"], per_channel=True,
            weight_type=QuantType.QInt8, extra_options={"EnableSubgraph": True},
        )
    elif dtype == "q4":
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

        model = onnx.load(str(src))
        quantizer = MatMulNBitsQuantizer(model, bits=4, block_size=32, is_symmetric=True)
        quantizer.process()
        save_model(quantizer.model.model, dst)
    elif dtype == "fp16":
        from onnxruntime.transformers.float16 import convert_float_to_float16

        model = onnx.load(str(src))
        # Inputs and outputs stay fp32 so callers feed the same arrays to every variant.
        half = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=True)
        save_model(half, dst)
    else:
        raise ValueError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPES)}")
