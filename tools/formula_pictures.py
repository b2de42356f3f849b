"""Render the closed-form chapter's formulas, as LaTeX, into docs/images/closed_forms.svg (the docs
build for pictures): python tools/formula_pictures.py"""

import pathlib

import sympy
from matplotlib.figure import Figure

import symflux as sf

OUT = pathlib.Path(__file__).resolve().parent.parent / "docs" / "images" / "closed_forms.svg"


def formulas() -> list[tuple[str, str]]:
    """(what, LaTeX) for the derivatives the guide's closed-form chapter shows."""
    m, n = sympy.symbols("m n", integer=True, positive=True)
    W, x = sf.symbols("W", shape=(m, n)), sf.symbols("x", shape=(n,))
    b, y = sf.symbols("b", shape=(m,)), sf.symbols("y", shape=(m,))
    A, X = sf.symbols("A", shape=(n, n)), sf.symbols("X", shape=(m, n))
    v = sf.symbols("v", shape=(4,))
    shown = [
        ("∂/∂W Σ tanh(Wx + b)", sf.gradient(lambda W: sf.sum(sf.tanh(W @ x + b)), W)[0]),
        ("∂/∂W Σ relu(Wx + b)", sf.gradient(lambda W: sf.sum(sf.relu(W @ x + b)), W)[0]),
        ("∂/∂W softmax cross-entropy", sf.gradient(lambda W: -sf.sum(y * sf.logsoftmax(W @ x)), W)[0]),
        ("∂/∂x logistic loss", sf.gradient(lambda z: sf.sum(sf.log(1 + sf.exp(-y * (X @ z)))), x)[0]),
        ("∇² xᵀAx", sf.hessian(lambda z: z @ A @ z, x)),
        ("∇² ‖Xw − y‖²", sf.hessian(lambda z: sf.sum((X @ z - y) ** 2), x)),
        ("∂/∂v Σ cumsum(v)²", sf.gradient(lambda u: sf.sum(sf.cumsum(u) ** 2), v)[0]),
    ]
    return [(what, sf.latex(f)) for what, f in shown]


def describe(rows) -> str:
    return " | ".join(tex for _, tex in rows)


def render(path: pathlib.Path = OUT) -> pathlib.Path:
    rows = formulas()
    fig = Figure(figsize=(9, 0.55 * len(rows) + 0.3))
    for k, (what, tex) in enumerate(rows):
        top = 1 - (k + 0.8) / (len(rows) + 0.5)
        fig.text(0.01, top, what, fontsize=11, family="DejaVu Sans")
        fig.text(0.33, top, f"${tex}$", fontsize=13)
    path.parent.mkdir(parents=True, exist_ok=True)
    # the LaTeX goes into the picture's description, so a test can tell whether the picture is current
    fig.savefig(path, metadata={"Date": None, "Description": describe(rows)})
    return path


if __name__ == "__main__":
    print(f"wrote {render()}")
