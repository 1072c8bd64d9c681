"""Merge a decoder and a decoder-with-past into one graph switched by `use_cache_branch`.

One file instead of two: weights are stored once (the word embedding alone is 157 MB in
Florence-2-base) and one session serves every step. The first step runs the else-branch (it
computes the cross-attention keys/values); later steps run the then-branch and return empty
tensors for `present.*.encoder.*`, which callers keep from the first step.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import onnx
from onnx import TensorProto, helper, numpy_helper

USE_CACHE = "use_cache_branch"


def _digest(t: TensorProto) -> str:
    arr = numpy_helper.to_array(t)
    return hashlib.sha1(f"{arr.dtype}{arr.shape}".encode() + arr.tobytes()).hexdigest()


def _rename_inside(graph: onnx.GraphProto, keep: set[str], prefix: str, alias: dict[str, str]) -> None:
    """Prefix every value name the graph defines; map shared weights to their one copy."""
    def new(name: str) -> str:
        if name in alias:
            return alias[name]
        if not name or name in keep:
            return name
        return prefix + name

    for node in graph.node:
        node.input[:] = [new(n) for n in node.input]
        node.output[:] = [new(n) for n in node.output]
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                _rename_inside(attr.g, keep, prefix, alias)
    for vi in list(graph.output) + list(graph.value_info):
        vi.name = new(vi.name)


def _hoist(graph: onnx.GraphProto, prefix: str, store: dict[str, TensorProto],
           by_digest: dict[str, str]) -> dict[str, str]:
    """Move a branch's initializers to the outer graph, sharing identical tensors."""
    alias: dict[str, str] = {}
    for init in graph.initializer:
        digest = _digest(init)
        if digest in by_digest:
            alias[init.name] = by_digest[digest]
            continue
        name = prefix + init.name
        alias[init.name] = name
        init.name = name
        store[name] = init
        by_digest[digest] = name
    del graph.initializer[:]
    return alias


def _open_shape(value: onnx.ValueInfoProto, rank: int) -> None:
    shape = value.type.tensor_type.shape
    del shape.dim[:]
    for _ in range(rank):
        shape.dim.add()


def merge_decoders(no_past: onnx.ModelProto, with_past: onnx.ModelProto) -> onnx.ModelProto:
    outer_inputs = list(with_past.graph.input)
    input_names = {i.name for i in outer_inputs}
    missing = [i.name for i in no_past.graph.input if i.name not in input_names]
    if missing:
        raise ValueError(f"decoder inputs missing from the with-past decoder: {missing}")

    store: dict[str, TensorProto] = {}
    by_digest: dict[str, str] = {}
    branches = []
    for model, prefix in ((with_past, "past/"), (no_past, "nopast/")):
        graph = onnx.GraphProto()
        graph.CopyFrom(model.graph)
        alias = _hoist(graph, prefix, store, by_digest)
        _rename_inside(graph, input_names, prefix, alias)
        del graph.input[:]
        branches.append(graph)
    then_graph, else_graph = branches

    # The with-past branch lacks present.*.encoder.*: return empty tensors in their place.
    have = {o.name.removeprefix("past/") for o in then_graph.output}
    for out in else_graph.output:
        name = out.name.removeprefix("nopast/")
        if name in have:
            continue
        empty = helper.make_tensor(f"past/empty/{name}", TensorProto.FLOAT, [0, 0, 0, 0], [])
        elem = out.type.tensor_type.elem_type
        const = helper.make_node("Constant", [], [f"past/{name}"], value=empty)
        if elem != TensorProto.FLOAT:
            const.output[0] = f"past/{name}/f32"
            then_graph.node.append(const)
            const = helper.make_node("Cast", [f"past/{name}/f32"], [f"past/{name}"], to=elem)
        then_graph.node.append(const)
        then_graph.output.append(helper.make_tensor_value_info(f"past/{name}", elem, None))
    order = [o.name.removeprefix("nopast/") for o in else_graph.output]
    by_name = {o.name.removeprefix("past/"): o for o in then_graph.output}
    then_outputs = [by_name[n] for n in order]
    del then_graph.output[:]
    then_graph.output.extend(then_outputs)
    for g in (then_graph, else_graph):
        for o in g.output:  # branch outputs differ in shape: keep only element type and rank
            _open_shape(o, 3 if o.name.endswith("logits") else 4)
    then_graph.name, else_graph.name = "decoder_with_past", "decoder_without_past"

    if_node = helper.make_node("If", [USE_CACHE], order, then_branch=then_graph, else_branch=else_graph)
    outputs = []
    for name, src in zip(order, no_past.graph.output):
        out = onnx.ValueInfoProto()
        out.CopyFrom(src)
        if ".encoder." in name:  # empty on the cache branch: keep only the rank
            _open_shape(out, 4)
        outputs.append(out)
    graph = helper.make_graph(
        [if_node], "decoder_model_merged",
        [*outer_inputs, helper.make_tensor_value_info(USE_CACHE, TensorProto.BOOL, [1])],
        outputs, initializer=list(store.values()),
    )
    merged = helper.make_model(graph, opset_imports=list(with_past.opset_import),
                               producer_name="lumen-export")
    merged.ir_version = with_past.ir_version
    return merged


def export_decoder_pair(no_past: Any, with_past: Any, out: Path) -> None:
    """Export both decoder variants (specs: module, args, inputs, outputs, dynamic) and save
    them merged as one file with `use_cache_branch`."""
    from export.onnx_utils import export_module, save_model

    protos = [export_module(s["module"], s["args"], s["inputs"], s["outputs"], s["dynamic"])
              for s in (no_past, with_past)]
    save_model(merge_decoders(*protos), out)
