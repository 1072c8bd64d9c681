"""fp16 / int8 / q4 variants of an fp32 export, with onnxruntime's own tools."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx

from export.onnx_utils import save_model
from models.families import DTYPE_SUFFIX

DTYPES = ("fp32", "fp16", "int8", "q4")
# File suffixes as published by onnx-community (transformers.js naming).
SUFFIX = {d: DTYPE_SUFFIX[d] for d in DTYPES}  # the published names (models/families.py)
# The q4 variant is 4-bit where a part reads its weights once per token (the decoder, the
# embedding): there smaller weights are faster. Parts that run hundreds of tokens at once are
# bound by arithmetic, where int8 products are fastest and 4 bits lose the most: they get
# int8. Florence-2-base on 2 cores, against all-4-bit: vision 2.2 -> 1.2 s, text encoder
# 0.30 -> 0.18 s, peak RSS the same (0.9 GB), text-encoder output cosine with fp32 0.975 -> 0.9996.
BATCHED_PARTS = ("vision_encoder", "encoder_model", "vision_model")


def quantize_file(src: Path, dst: Path, dtype: str) -> None:
    """Write `dst`, the `dtype` variant of the fp32 model at `src`."""
    logging.getLogger("onnxruntime").setLevel(logging.ERROR)
    if dtype == "int8":
        _dynamic_int8(src, dst)
    elif dtype == "q4" and src.stem in BATCHED_PARTS:
        _dynamic_int8(src, dst)
    elif dtype == "q4":
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

        model = onnx.load(str(src))
        # Embedding tables too (GatherBlockQuantized). accuracy_level 4 multiplies in int8
        # (VNNI / dot-product instructions) instead of unpacking every weight to fp32.
        quantizer = MatMulNBitsQuantizer(model, bits=4, block_size=32, is_symmetric=True, accuracy_level=4,
                                         op_types_to_quantize=("MatMul", "Gather"))
        with np.errstate(divide="ignore", invalid="ignore"):  # all-zero blocks (a padding row) get scale 0
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


class _DropMessage(logging.Filter):
    def __init__(self, start: str) -> None:
        super().__init__()
        self.start = start

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.start)


def _dynamic_int8(src: Path, dst: Path) -> None:
    """Weights int8 per channel, activations quantized on the fly; If-branches included."""
    import tempfile

    from onnxruntime.quantization import QuantType, quantize_dynamic

    from export import branch_weights

    model = onnx.load(str(src))
    branches = branch_weights.has_branches(model)
    if branches:  # the quantizer finds weights only inside the branch that uses them
        branch_weights.localise(model)
    advice = _DropMessage("Please consider to run pre-processing")  # logged on the root logger
    logging.getLogger().addFilter(advice)
    try:
        with tempfile.TemporaryDirectory(prefix="lumen-int8-") as tmp:
            out = Path(tmp) / dst.name
            quantize_dynamic(
                model, out, op_types_to_quantize=["MatMul", "Gemm"], per_channel=True,
                weight_type=QuantType.QInt8, extra_options={"EnableSubgraph": True},
            )
            quantized = onnx.load(str(out))
    finally:
        logging.getLogger().removeFilter(advice)
    if branches:
        branch_weights.share(quantized)
    _int8_embeddings(quantized)
    save_model(quantized, dst)


# Embedding tables smaller than this stay fp32 (position tables and the like).
EMBEDDING_MIN = 1 << 20


def _int8_embeddings(model: onnx.ModelProto) -> int:
    """Gathers from a large constant table read int8 rows scaled back, one scale per row.

    quantize_dynamic leaves Gather alone, and Florence-2's word embedding alone is 157 MB in
    fp32; per-row symmetric int8 keeps it to 39 MB with an error of half a step (1/254 of the
    row's largest value). Plain ONNX ops: Gather, Cast, Gather, Mul.
    """
    from onnx import TensorProto, helper, numpy_helper

    outer = {init.name: init for init in model.graph.initializer}
    made: dict[str, tuple[str, str]] = {}
    count = 0

    def visit(graph: onnx.GraphProto) -> None:
        nonlocal count
        local = {init.name: init for init in graph.initializer}
        nodes = []
        for node in graph.node:
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    visit(attr.g)
            table = (local.get(node.input[0]) or outer.get(node.input[0])) if node.op_type == "Gather" else None
            axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
            if table is None or axis != 0 or table.data_type != TensorProto.FLOAT or len(table.dims) != 2 \
                    or table.dims[0] * table.dims[1] < EMBEDDING_MIN:
                nodes.append(node)
                continue
            if table.name not in made:
                values = numpy_helper.to_array(table)
                scale = np.maximum(np.abs(values).max(axis=1, keepdims=True), 1e-12) / 127.0
                q = np.clip(np.rint(values / scale), -127, 127).astype(np.int8)
                made[table.name] = (f"{table.name}_int8", f"{table.name}_row_scale")
                model.graph.initializer.extend([numpy_helper.from_array(q, made[table.name][0]),
                                                numpy_helper.from_array(scale.astype(np.float32), made[table.name][1])])
            q_name, s_name = made[table.name]
            out, ids = node.output[0], node.input[1]
            base = f"{node.name or out}_int8"
            nodes += [
                helper.make_node("Gather", [q_name, ids], [f"{base}/q"], name=f"{base}/gather"),
                helper.make_node("Cast", [f"{base}/q"], [f"{base}/f"], name=f"{base}/cast", to=TensorProto.FLOAT),
                helper.make_node("Gather", [s_name, ids], [f"{base}/scale"], name=f"{base}/gather_scale"),
                helper.make_node("Mul", [f"{base}/f", f"{base}/scale"], [out], name=f"{base}/mul"),
            ]
            count += 1
        del graph.node[:]
        graph.node.extend(nodes)

    visit(model.graph)
    used = _names_read(model.graph)
    kept = [init for init in model.graph.initializer if init.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    return count


def _names_read(graph: onnx.GraphProto) -> set[str]:
    names = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                names |= _names_read(attr.g)
    return names
