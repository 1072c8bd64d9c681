"""What the exporter's speed work must keep: quantized weights stored quantized, fused GELU
equal to the unfused one, the int8 embedding close to fp32."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from export.fusions import fuse_gelu
from models.folder import ModelFolder


def _graphs(graph: onnx.GraphProto):
    yield graph
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from _graphs(attr.g)


def _nodes(model: onnx.ModelProto, op: str) -> list[onnx.NodeProto]:
    return [n for g in _graphs(model.graph) for n in g.node if n.op_type == op]


def test_int8_decoder_weights_are_stored_int8(tiny_florence2_onnx: Path) -> None:
    # A merged decoder keeps its weights outside the If-branches; the quantizer must still see
    # them as weights, not quantize them afresh on every step.
    folder = ModelFolder.open(tiny_florence2_onnx, "int8")
    model = onnx.load(str(folder.onnx_file("decoder_model_merged")))
    int8 = {i.name for i in model.graph.initializer if i.data_type == TensorProto.INT8}
    products = _nodes(model, "MatMulInteger")
    assert products and all(n.input[1] in int8 for n in products)
    fp32 = ModelFolder.open(tiny_florence2_onnx, "fp32").onnx_file("decoder_model_merged")
    assert folder.onnx_file("decoder_model_merged").stat().st_size < 0.8 * fp32.stat().st_size


def test_int8_embedding_is_int8_and_close(tmp_path: Path) -> None:
    from export.quantize import EMBEDDING_MIN, quantize_file

    rows, width = 4096, EMBEDDING_MIN // 4096
    table = np.random.default_rng(0).standard_normal((rows, width)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "input_ids"], ["inputs_embeds"])], "embed",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "n"])],
        [helper.make_tensor_value_info("inputs_embeds", TensorProto.FLOAT, [1, "n", width])],
        [numpy_helper.from_array(table, "table")],
    )
    src, dst = tmp_path / "embed.onnx", tmp_path / "embed_int8.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8), str(src))
    quantize_file(src, dst, "int8")
    assert dst.stat().st_size < 0.3 * src.stat().st_size
    ids = np.array([[0, 5, 4095, 17, 5]], dtype=np.int64)
    got = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"]).run(None, {"input_ids": ids})[0]
    want = table[ids]
    step = np.abs(want).max(axis=-1, keepdims=True) / 127.0
    assert (np.abs(got - want) <= step / 2 + 1e-6).all()


def _gelu_model(order: str) -> onnx.ModelProto:
    """x -> exact GELU in one of torch's arrangements -> y, plus a consumer of x."""
    c = lambda name, v: numpy_helper.from_array(np.array(v, dtype=np.float32), name)  # noqa: E731
    nodes = [helper.make_node("Div", ["x", "sqrt2"], ["d"]), helper.make_node("Erf", ["d"], ["e"]),
             helper.make_node("Add", ["e", "one"], ["a"])]
    if order == "half_first":  # x * (0.5 * (1 + erf))
        nodes += [helper.make_node("Mul", ["half", "a"], ["h"]), helper.make_node("Mul", ["x", "h"], ["y"])]
    else:  # (x * 0.5) * (1 + erf)
        nodes += [helper.make_node("Mul", ["x", "half"], ["h"]), helper.make_node("Mul", ["h", "a"], ["y"])]
    nodes.append(helper.make_node("Neg", ["x"], ["z"]))
    graph = helper.make_graph(
        nodes, "gelu", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 8]),
         helper.make_tensor_value_info("z", TensorProto.FLOAT, [4, 8])],
        [c("sqrt2", 2.0**0.5), c("one", 1.0), c("half", 0.5)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)


@pytest.mark.parametrize("order", ["half_first", "half_with_x"])
def test_gelu_fusion_is_one_node_with_the_same_output(order: str) -> None:
    model = _gelu_model(order)
    x = {"x": np.linspace(-4, 4, 32, dtype=np.float32).reshape(4, 8)}
    want = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, x)
    assert fuse_gelu(model) == 1
    assert [n.op_type for n in model.graph.node] == ["Gelu", "Neg"]
    assert not model.graph.initializer  # the pattern's constants went with it
    got = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, x)
    np.testing.assert_allclose(got[0], want[0], atol=1e-6)
    np.testing.assert_array_equal(got[1], want[1])


def test_gelu_fusion_leaves_other_erf_alone() -> None:
    model = _gelu_model("half_first")
    model.graph.initializer[0].CopyFrom(numpy_helper.from_array(np.array(3.0, dtype=np.float32), "sqrt2"))
    assert fuse_gelu(model) == 0
    assert "Erf" in [n.op_type for n in model.graph.node]
