"""Pictures: ``sf.draw(f, *args)`` renders a traced graph (or its gradient's graph) as SVG, PNG, dot or
text; ``sf.plot_history(history)`` draws a loss curve.

Inputs carry the names the user gave them: argument names, and for the arrays ``f`` reads, the
variables and fields they are reached by (``m.layers[0].W``). Graphviz (the ``graphviz`` package and
the ``dot`` program) lays the picture out, with inputs and outputs coloured and one cluster per layer
of a ``Chain``; without ``dot`` a built-in layered layout writes the SVG and matplotlib the PNG."""

from __future__ import annotations

import functools
import html
import io
import itertools
import shutil
from collections.abc import Callable, Sequence
from typing import Any

import graphviz
import numpy as np

from . import ir
from .functor import named_arrays
from .grad import gradient as grad_of
from .graph import Graph, node_label
from .tracing import Trace

BOX_W, BOX_H, GAP_X, GAP_Y = 190, 34, 30, 46
INPUT, OUTPUT, OTHER = "#dbe9ff", "#ffe3c2", "#f2f2f2"


class Drawing:
    """A traced graph with what a picture shows: each node's label and colour, and its layer path."""

    def __init__(self, f, args, gradient):
        fn = (lambda *a: grad_of(f, *a)) if gradient else f
        with ir.recording_origins() as origins:
            t = Trace(fn, args, read_as_inputs=True)
        self.graph = Graph([lf.node for lf in t.leaves] + t.array_inputs, [n for n in t.nodes if n is not None])
        known = _user_arrays(f)
        by_id = {id(a): name for name, a in reversed(known)}
        named = {id(node): by_id.get(id(a), node.attrs[1]) for node, a in zip(t.array_inputs, t.arrays)}
        outputs = {id(o) for o in self.graph.outputs}
        self.labels, self.colours, self.layers = {}, {}, {}
        for node in self.graph.nodes:
            op, detail = node_label(node)
            if node.op == "const":  # a plain NumPy array the function captured is a constant
                detail = next((name for name, a in known if _same(a, node.value)), detail)
            self.labels[id(node)] = (op, named.get(id(node), detail))
            self.colours[id(node)] = INPUT if node.op == "input" else OUTPUT if id(node) in outputs else OTHER
            self.layers[id(node)] = origins.get(node, ())


def _user_arrays(f) -> list:
    """[(name, array)] for the arrays ``f`` reaches through its closure, its globals or its fields."""
    code = getattr(f, "__code__", None)
    if code is None:  # a model: its fields
        return named_arrays(f)
    cells = [(name, cell) for name, cell in zip(code.co_freevars, f.__closure__ or ())]
    values = [(name, cell.cell_contents) for name, cell in cells if _filled(cell)]
    values += [(name, f.__globals__[name]) for name in code.co_names if name in f.__globals__]
    return [found for name, value in values for found in named_arrays(value, name)]


def _same(a, value) -> bool:
    return isinstance(value, np.ndarray) and value.ndim > 0 and a.shape == value.shape and np.array_equal(a, value)


def _filled(cell) -> bool:
    try:
        _ = cell.cell_contents
    except ValueError:  # a variable not assigned yet
        return False
    return True


def _layers(graph: Graph):
    depth = {}
    for node in graph.nodes:
        depth[id(node)] = 1 + max((depth[id(a)] for a in node.args), default=-1)
    rows: dict[int, list] = {}
    for node in graph.nodes:
        rows.setdefault(depth[id(node)], []).append(node)
    return [rows[d] for d in sorted(rows)]


def _positions(graph: Graph):
    layers = _layers(graph)
    width = max(len(row) for row in layers) * (BOX_W + GAP_X) + GAP_X
    pos = {}
    for r, row in enumerate(layers):
        offset = (width - len(row) * (BOX_W + GAP_X) + GAP_X) / 2
        for c, node in enumerate(row):
            pos[id(node)] = (offset + c * (BOX_W + GAP_X), GAP_Y + r * (BOX_H + GAP_Y))
    height = len(layers) * (BOX_H + GAP_Y) + GAP_Y
    return pos, width, height


def _short(text: str, n: int = 28) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def svg(d: Drawing) -> str:
    """The built-in layout as SVG: one box per node (its op and detail), arrows from arguments to users."""
    pos, width, height = _positions(d.graph)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
             f'font-family="monospace" font-size="11">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" '
             'orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>']
    for node in d.graph.nodes:
        x, y = pos[id(node)]
        for arg in node.args:
            ax, ay = pos[id(arg)]
            parts.append(f'<line x1="{ax + BOX_W / 2:.0f}" y1="{ay + BOX_H:.0f}" x2="{x + BOX_W / 2:.0f}" '
                         f'y2="{y:.0f}" stroke="#555" marker-end="url(#arrow)"/>')
    for node in d.graph.nodes:
        x, y = pos[id(node)]
        op, detail = d.labels[id(node)]
        parts.append(f'<rect x="{x:.0f}" y="{y:.0f}" width="{BOX_W}" height="{BOX_H}" rx="6" '
                     f'fill="{d.colours[id(node)]}" stroke="#333"/>')
        parts.append(f'<text x="{x + BOX_W / 2:.0f}" y="{y + 14:.0f}" text-anchor="middle">'
                     f'{html.escape(op)}</text>')
        parts.append(f'<text x="{x + BOX_W / 2:.0f}" y="{y + 27:.0f}" text-anchor="middle" fill="#444">'
                     f'{html.escape(_short(detail))}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def digraph(d: Drawing) -> graphviz.Digraph:
    """The graph for Graphviz: coloured inputs and outputs, a nested cluster per layer."""
    dot = graphviz.Digraph("symflux", node_attr={"shape": "box", "style": "rounded,filled", "fontname": "monospace"})
    index = {id(n): f"n{k}" for k, n in enumerate(d.graph.nodes)}
    clusters: dict[tuple, list] = {}
    for node in d.graph.nodes:
        clusters.setdefault(d.layers[id(node)], []).append(node)
    _add_cluster(dot, (), clusters, d, index, itertools.count())
    for node in d.graph.nodes:
        for a in node.args:
            dot.edge(index[id(a)], index[id(node)])
    return dot


def _add_cluster(parent, path, clusters, d, index, numbers):
    """The nodes made directly in layer ``path``, then a subgraph for each layer inside it."""
    for node in clusters.get(path, []):
        op, detail = d.labels[id(node)]
        parent.node(index[id(node)], f"{op}\\n{_short(detail, 40)}", fillcolor=d.colours[id(node)])
    inner = sorted({p[:len(path) + 1] for p in clusters if len(p) > len(path) and p[:len(path)] == path})
    for sub in inner:
        with parent.subgraph(name=f"cluster_{next(numbers)}") as cluster:
            cluster.attr(label=sub[-1], style="rounded", color="#999999", fontname="monospace")
            _add_cluster(cluster, sub, clusters, d, index, numbers)


def png(d: Drawing, path: str) -> None:
    """The built-in layout as a PNG (matplotlib, without pyplot: the user's backend is left alone)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    pos, width, height = _positions(d.graph)
    fig = Figure(figsize=(width / 100, height / 100), dpi=100)
    ax = fig.subplots()
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")
    for node in d.graph.nodes:
        x, y = pos[id(node)]
        for arg in node.args:
            ax0, ay0 = pos[id(arg)]
            ax.annotate("", (x + BOX_W / 2, y), (ax0 + BOX_W / 2, ay0 + BOX_H), arrowprops={"arrowstyle": "->"})
        ax.add_patch(Rectangle((x, y), BOX_W, BOX_H, fill=True, facecolor=d.colours[id(node)], edgecolor="#333"))
        op, detail = d.labels[id(node)]
        ax.text(x + BOX_W / 2, y + BOX_H / 2, f"{op}\n{_short(detail)}", ha="center", va="center",
                fontsize=7, family="monospace")
    fig.savefig(path)


class Picture(str):
    """The text of a drawing (SVG, dot or plain text) that Jupyter shows as a picture when it is SVG."""

    def __new__(cls, text, format):
        picture = super().__new__(cls, text)
        picture.format = format
        return picture

    def _repr_svg_(self):
        return str(self) if self.format == "svg" else None


def draw(f: Callable[..., Any], *args: Any, path: str | None = None, gradient: bool = False,
         format: str | None = None) -> str:
    """draw(f, *args; path=None, gradient=False, format=None): a picture of the traced graph of f
    (of its gradient with ``gradient=True``). ``format`` is "svg", "png", "dot" or "text" (default:
    from ``path``, else "svg"); returns the SVG/dot/text (a ``str`` that notebooks show as the
    picture), or the path written. Graphviz lays it out when ``dot`` is installed, a built-in
    layout otherwise."""
    d = Drawing(f, args, gradient)
    format = format or (path.rsplit(".", 1)[-1].lower() if path and "." in path else "svg")
    has_dot = shutil.which("dot") is not None
    if format == "text":
        out = str(d.graph)
    elif format == "dot":
        out = digraph(d).source
    elif format == "png":
        if path is None:
            raise ValueError("draw(..., format='png') needs a path to write to")
        if has_dot:
            with open(path, "wb") as fh:
                fh.write(digraph(d).pipe(format="png"))
        else:
            png(d, path)
        return path
    elif format == "svg":
        out = digraph(d).pipe(format="svg", encoding="utf-8") if has_dot else svg(d)
    else:
        raise ValueError(f"unknown format {format!r}; use 'svg', 'png', 'dot' or 'text'")
    if path:
        with open(path, "w") as fh:
            fh.write(out)
        return path
    return Picture(out, format)


def plot_history(history: Sequence[float], path: str | None = None, title: str = "training loss") -> Any:
    """plot_history(history, path=None): the loss curve of ``sf.train``'s history (matplotlib);
    saved to ``path`` (PNG, SVG, PDF by extension) when given; returns the figure, which a notebook
    shows once. The global matplotlib backend is left as it is."""
    from matplotlib.figure import Figure  # no pyplot: nothing switches backends or shows twice

    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.plot(range(1, len(history) + 1), list(history))
    ax.set(xlabel="step", ylabel="loss", title=title)
    if min(history) > 0:
        ax.set_yscale("log")
    fig.tight_layout()
    if path:
        fig.savefig(path)
    fig._repr_png_ = functools.partial(_png_bytes, fig)  # shown by notebooks without pyplot's inline hook
    return fig


def _png_bytes(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
