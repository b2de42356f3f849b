"""Pictures: ``sf.draw(f, *args)`` renders a traced graph (or its gradient's graph) as SVG, PNG or a
text tree; ``sf.plot_history(history)`` draws a loss curve. graphviz (``dot``) is used when it is
installed; otherwise a built-in layered layout writes the SVG, and matplotlib draws PNGs."""

from __future__ import annotations

import html
import shutil
import subprocess
from collections.abc import Callable, Sequence
from typing import Any

from .grad import gradient as grad_of
from .graph import Graph, make_graph, node_label

BOX_W, BOX_H, GAP_X, GAP_Y = 190, 34, 30, 46


def _graph(f, args, gradient) -> Graph:
    if not gradient:
        return make_graph(f, *args)
    return make_graph(lambda *a: grad_of(f, *a), *args)


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


def svg(graph: Graph) -> str:
    """The graph as SVG: one box per node (its op and detail), arrows from arguments to users."""
    pos, width, height = _positions(graph)
    outputs = {id(o) for o in graph.outputs}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
             f'font-family="monospace" font-size="11">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" '
             'orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>']
    for node in graph.nodes:
        x, y = pos[id(node)]
        for arg in node.args:
            ax, ay = pos[id(arg)]
            parts.append(f'<line x1="{ax + BOX_W / 2:.0f}" y1="{ay + BOX_H:.0f}" x2="{x + BOX_W / 2:.0f}" '
                         f'y2="{y:.0f}" stroke="#555" marker-end="url(#arrow)"/>')
    for node in graph.nodes:
        x, y = pos[id(node)]
        fill = "#dbe9ff" if node.op == "input" else "#ffe3c2" if id(node) in outputs else "#f2f2f2"
        op, detail = node_label(node)
        parts.append(f'<rect x="{x:.0f}" y="{y:.0f}" width="{BOX_W}" height="{BOX_H}" rx="6" fill="{fill}" '
                     f'stroke="#333"/>')
        parts.append(f'<text x="{x + BOX_W / 2:.0f}" y="{y + 14:.0f}" text-anchor="middle">'
                     f'{html.escape(op)}</text>')
        parts.append(f'<text x="{x + BOX_W / 2:.0f}" y="{y + 27:.0f}" text-anchor="middle" fill="#444">'
                     f'{html.escape(_short(detail))}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def dot_source(graph: Graph) -> str:
    lines = ["digraph symflux {",
             '  node [shape=box, style="rounded,filled", fillcolor="#f2f2f2", fontname=monospace];']
    index = {id(n): k for k, n in enumerate(graph.nodes)}
    for node in graph.nodes:
        op, detail = node_label(node)
        label = html.escape(f"{op}\\n{_short(detail, 40)}").replace('"', "'")
        lines.append(f'  n{index[id(node)]} [label="{label}"];')
        lines += [f"  n{index[id(a)]} -> n{index[id(node)]};" for a in node.args]
    return "\n".join(lines + ["}"])


def png(graph: Graph, path: str) -> None:
    from matplotlib.figure import Figure  # no pyplot: the user's backend is left alone
    from matplotlib.patches import Rectangle

    pos, width, height = _positions(graph)
    fig = Figure(figsize=(width / 100, height / 100), dpi=100)
    ax = fig.subplots()
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")
    for node in graph.nodes:
        x, y = pos[id(node)]
        for arg in node.args:
            ax0, ay0 = pos[id(arg)]
            ax.annotate("", (x + BOX_W / 2, y), (ax0 + BOX_W / 2, ay0 + BOX_H), arrowprops={"arrowstyle": "->"})
        ax.add_patch(Rectangle((x, y), BOX_W, BOX_H, fill=True, facecolor="#f2f2f2", edgecolor="#333"))
        op, detail = node_label(node)
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
    picture), or the path written. graphviz renders when it is installed, the built-in layout otherwise."""
    graph = _graph(f, args, gradient)
    format = format or (path.rsplit(".", 1)[-1].lower() if path and "." in path else "svg")
    if format == "text":
        out = str(graph)
    elif format == "dot":
        out = dot_source(graph)
    elif format == "png":
        if path is None:
            raise ValueError("draw(..., format='png') needs a path to write to")
        if shutil.which("dot"):
            subprocess.run(["dot", "-Tpng", "-o", path], input=dot_source(graph), text=True, check=True)
        else:
            png(graph, path)
        return path
    elif format == "svg":
        dot = shutil.which("dot")
        out = subprocess.run([dot, "-Tsvg"], input=dot_source(graph), text=True, capture_output=True,
                             check=True).stdout if dot else svg(graph)
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
    return fig
