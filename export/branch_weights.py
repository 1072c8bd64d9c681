"""Weights of a merged decoder's If-branches, moved in for quantization and out again after.

merge.py keeps each weight once, in the outer graph, where both branches read it. onnxruntime's
dynamic quantizer looks for a MatMul's weight among the initializers of the graph the node is
in; one from the outer scope looks like an activation to it, so it quantizes the weight again on
every run (DynamicQuantizeLinear on 97 M floats per decoder step) and the file keeps its fp32
size. So: copy the weights into the branches that use them, quantize, then hoist them back,
keeping one copy of each tensor that both branches quantized alike.
"""
from __future__ import annotations

import hashlib

import onnx
from onnx import numpy_helper


def _subgraphs(graph: onnx.GraphProto) -> list[onnx.GraphProto]:
    return [a.g for node in graph.node for a in node.attribute if a.type == onnx.AttributeProto.GRAPH]


def _inputs_used(graph: onnx.GraphProto) -> set[str]:
    used = {name for node in graph.node for name in node.input}
    for sub in _subgraphs(graph):
        used |= _inputs_used(sub)
    return used


def has_branches(model: onnx.ModelProto) -> bool:
    return bool(_subgraphs(model.graph))


def localise(model: onnx.ModelProto) -> None:
    """Give every branch its own copy of the outer initializers it reads."""
    outer = {init.name: init for init in model.graph.initializer}
    top_level = {name for node in model.graph.node for name in node.input}
    for sub in _subgraphs(model.graph):
        for name in sorted(_inputs_used(sub) & outer.keys()):
            sub.initializer.append(outer[name])  # protobuf appends a copy
    kept = [init for init in model.graph.initializer if init.name in top_level]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)


def _digest(init: onnx.TensorProto) -> str:
    arr = numpy_helper.to_array(init)
    return hashlib.sha1(f"{arr.dtype}{arr.shape}".encode() + arr.tobytes()).hexdigest()


def _rename(graph: onnx.GraphProto, old: str, new: str) -> None:
    for node in graph.node:
        node.input[:] = [new if n == old else n for n in node.input]
    for sub in _subgraphs(graph):
        if old not in {i.name for i in sub.initializer}:
            _rename(sub, old, new)


def share(model: onnx.ModelProto) -> None:
    """Move branch initializers to the outer graph; identical tensors are kept once."""
    outer = {init.name: _digest(init) for init in model.graph.initializer}
    for sub in _subgraphs(model.graph):
        moved = []
        for init in sub.initializer:
            digest = _digest(init)
            if outer.get(init.name) == digest:
                continue  # the other branch already put this very tensor outside
            if init.name in outer:  # same name, other values: keep both, apart
                new = f"{sub.name}/{init.name}"
                _rename(sub, init.name, new)
                init.name = new
            outer[init.name] = digest
            moved.append(init)
        model.graph.initializer.extend(moved)  # copies them out before the branch lets go
        del sub.initializer[:]
