"""Inspecting traced graphs (``make_graph(f, *example_args)``), and running them in the reference
interpreter as a backend (``backend="interpreter"``: NumPy op by op, the graph as its source)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from . import backends, ir
from .functions import evaluated
from .interp import evaluate
from .ops import fmt_shape
from .simplify import fuse
from .tracing import Trace


def node_label(node) -> tuple[str, str]:
    """(op, detail) describing a node: the input's name, the map's body, the op's attributes."""
    if node.op == "input":
        return node.op, node.attrs[1]
    if node.op == "map":
        return node.op, str(evaluated(node.body))
    if node.op == "const":
        return node.op, repr(node.attrs[0])
    return node.op, ", ".join(map(str, node.attrs))


class Graph:
    """The graph of a traced function: its inputs, outputs and every node in between."""

    def __init__(self, inputs, outputs):
        self.inputs, self.outputs = list(inputs), list(outputs)

    @property
    def nodes(self) -> list:
        return ir.toposort(self.outputs)

    def __len__(self):
        return len(self.nodes)

    def op_counts(self) -> Counter:
        return Counter(n.op for n in self.nodes)

    def count_ops(self) -> int:
        return ir.count_ops(self.outputs)

    def fused(self) -> Graph:
        return Graph(self.inputs, fuse(self.outputs))

    def __str__(self):
        names = {}
        lines = []
        for node in self.nodes:
            names[id(node)] = name = f"%{len(names)}"
            args = ", ".join(names[id(a)] for a in node.args)
            op, detail = node_label(node)
            lines.append(f"{name} = {op}[{detail}]({args}) : {fmt_shape(node.shape)} {node.dtype}")
        outs = ", ".join(names[id(o)] for o in self.outputs)
        return "\n".join(lines + [f"return {outs}"])

    __repr__ = __str__


def make_graph(f: Callable[..., Any], *example_args: Any) -> Graph:
    """Trace ``f`` on inputs shaped like ``example_args``; the outputs may be a tuple."""
    t = Trace(f, example_args)
    return Graph([lf.node for lf in t.leaves], [n for n in t.nodes if n is not None])


class Interpreted(backends.Executable):
    """A graph run by the reference interpreter; donated inputs receive their outputs' values."""

    def __call__(self, values) -> list:
        results = evaluate(self.outputs, dict(zip(self.inputs, values)))
        for k, j in self.in_place.items():
            values[j][...] = results[k]
            results[k] = values[j]
        return results

    def source(self) -> str:
        return str(Graph(self.inputs, self.outputs))


backends.register("interpreter", Interpreted)
