"""Graph fusions onnxruntime's own optimiser misses in torch.onnx's output.

`fuse_gelu`: torch exports exact GELU at opset 18 as x * (0.5 * (1 + erf(x / sqrt 2))), five
element-wise passes over the MLP's widest tensor; onnxruntime's GeluFusion does not match that
arrangement, so the pattern is replaced here by one com.microsoft Gelu node (which onnxruntime
then merges with the preceding bias Add into BiasGelu). Same function, same erf: outputs agree
to float rounding.

`fold_weight_transposes`: a Linear whose weight several MatMuls read (Florence-2's vision MLPs,
run a group of tokens at a time) is exported as Transpose(weight) computed on every run, which
torch.onnx's folding leaves alone so as not to copy a large tensor. ONNX Runtime's dynamic
quantizer only quantizes a MatMul whose weight is an initializer, so those stayed fp32: the
int8 vision encoder ran 1.35 -> 2.1-2.6 s. The transposed weight is stored once instead.
"""
from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import helper, numpy_helper

MS_DOMAIN = "com.microsoft"


class _Graph:
    """Producers, consumers and constant values of one graph (outer scopes for constants too)."""

    def __init__(self, graph: onnx.GraphProto, outer: dict[str, np.ndarray]) -> None:
        self.graph = graph
        self.consts = dict(outer)
        self.consts.update({i.name: numpy_helper.to_array(i) for i in graph.initializer})
        for node in graph.node:
            if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
                self.consts[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
        self.producer = {o: n for n in graph.node for o in n.output}
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for node in graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        # Graph outputs and values read inside subgraphs must survive any fusion.
        self.outputs = {o.name for o in graph.output} | _read_in_subgraphs(graph)

    def scalar(self, name: str) -> float | None:
        value = self.consts.get(name)
        return float(value.ravel()[0]) if value is not None and value.size == 1 else None

    def only_consumer(self, name: str) -> onnx.NodeProto | None:
        users = self.consumers.get(name, [])
        return users[0] if len(users) == 1 and name not in self.outputs else None

    def other(self, node: onnx.NodeProto, name: str) -> str | None:
        rest = [i for i in node.input if i != name]
        return rest[0] if len(rest) == 1 else None


def _read_in_subgraphs(graph: onnx.GraphProto) -> set[str]:
    names: set[str] = set()
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                names |= {i for n in attr.g.node for i in n.input} | _read_in_subgraphs(attr.g)
    return names


def _close(value: float | None, target: float) -> bool:
    return value is not None and abs(value - target) <= 1e-4 * abs(target)


def _match(g: _Graph, erf: onnx.NodeProto) -> tuple[str, list[onnx.NodeProto], str] | None:
    """(x, nodes to remove, output) when `erf` is the heart of an exact GELU of x."""
    scale = g.producer.get(erf.input[0])
    if scale is None or scale.op_type not in ("Div", "Mul") or len(scale.input) != 2:
        return None
    x, c = scale.input
    if scale.op_type == "Div" and not _close(g.scalar(c), math.sqrt(2.0)):
        return None
    if scale.op_type == "Mul":
        if g.scalar(x) is not None:
            x, c = c, x
        if not _close(g.scalar(c), 1.0 / math.sqrt(2.0)):
            return None
    plus = g.only_consumer(erf.output[0])
    if plus is None or plus.op_type != "Add" or not _close(g.scalar(g.other(plus, erf.output[0]) or ""), 1.0):
        return None
    first = g.only_consumer(plus.output[0])
    if first is None or first.op_type != "Mul":
        return None
    partner = g.other(first, plus.output[0])
    if partner is None:
        return None
    removed = [scale, erf, plus, first]
    if _close(g.scalar(partner), 0.5) or partner == x:  # (0.5 * a) * x  or  (x * a) * 0.5
        last = g.only_consumer(first.output[0])
        want = x if partner != x else None
        if last is None or last.op_type != "Mul":
            return None
        rest = g.other(last, first.output[0])
        if (want is not None and rest != want) or (want is None and not _close(g.scalar(rest or ""), 0.5)):
            return None
        return x, removed + [last], last.output[0]
    half = g.producer.get(partner)  # (x * 0.5) * a
    if half is not None and half.op_type == "Mul" and x in half.input and \
            _close(g.scalar(g.other(half, x) or ""), 0.5) and g.only_consumer(half.output[0]) is first:
        return x, removed + [half], first.output[0]
    return None


def _fuse_graph(graph: onnx.GraphProto, outer: dict[str, np.ndarray]) -> int:
    g = _Graph(graph, outer)
    fused = 0
    for node in list(graph.node):
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                fused += _fuse_graph(attr.g, g.consts)
    replaced: dict[int, onnx.NodeProto] = {}
    dropped: set[int] = set()
    for erf in [n for n in graph.node if n.op_type == "Erf"]:
        found = _match(g, erf)
        if found is None:
            continue
        x, nodes, out = found
        if any(id(n) in dropped for n in nodes):
            continue
        gelu = helper.make_node("Gelu", [x], [out], name=f"{erf.name}_gelu", domain=MS_DOMAIN)
        replaced[id(g.producer[out])] = gelu  # where the output was made: x is ready there
        dropped.update(id(n) for n in nodes)
        fused += 1
    if fused:
        kept = []
        for node in graph.node:
            if id(node) in replaced:
                kept.append(replaced[id(node)])
            elif id(node) not in dropped:
                kept.append(node)
        del graph.node[:]
        graph.node.extend(kept)
    return fused


def _all_read(graph: onnx.GraphProto) -> set[str]:
    """Every name a node or a graph output reads, subgraphs included."""
    names = {o.name for o in graph.output} | {i for n in graph.node for i in n.input}
    for sub in (a.g for n in graph.node for a in n.attribute if a.type == onnx.AttributeProto.GRAPH):
        names |= _all_read(sub)
    return names


def _drop_unread(graph: onnx.GraphProto, read: set[str]) -> None:
    """Remove initializers no node reads any more (the fused patterns' constants)."""
    kept = [i for i in graph.initializer if i.name in read]
    if len(kept) != len(graph.initializer):
        del graph.initializer[:]
        graph.initializer.extend(kept)
    for sub in (a.g for n in graph.node for a in n.attribute if a.type == onnx.AttributeProto.GRAPH):
        _drop_unread(sub, read)


def fuse_gelu(model: onnx.ModelProto) -> int:
    """Replace every exact-GELU subgraph by com.microsoft Gelu; returns how many."""
    fused = _fuse_graph(model.graph, {})
    if fused:
        _drop_unread(model.graph, _all_read(model.graph))
        if not any(o.domain == MS_DOMAIN for o in model.opset_import):
            model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
    return fused


def fold_weight_transposes(model: onnx.ModelProto) -> int:
    """Replace each Transpose of an initializer in the main graph by the transposed tensor,
    stored once under the Transpose's output name; returns how many."""
    graph = model.graph
    weights = {i.name: i for i in graph.initializer}
    kept, folded = [], 0
    for node in graph.node:
        if node.op_type != "Transpose" or node.input[0] not in weights:
            kept.append(node)
            continue
        perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), None)
        value = numpy_helper.to_array(weights[node.input[0]])
        value = np.ascontiguousarray(value.transpose(perm) if perm else value.transpose())
        graph.initializer.append(numpy_helper.from_array(value, node.output[0]))
        folded += 1
    if folded:
        del graph.node[:]
        graph.node.extend(kept)
        _drop_unread(graph, _all_read(graph))
    return folded
