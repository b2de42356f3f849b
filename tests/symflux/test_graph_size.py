"""Graph size is a property of the program, not of the data: it grows with model depth, never with
tensor width, and nested derivatives stay as small as SymPy's own closed forms."""

import numpy as np
import pytest
import sympy

import symflux as sf
from symflux import gradient


def mlp_gradient_graph(width, depth, batch=8):
    rng = np.random.default_rng(0)
    layers = [(rng.standard_normal((width, width)), rng.standard_normal(width)) for _ in range(depth)]
    x, y = rng.standard_normal((batch, width)), rng.standard_normal((batch, width))

    def loss(*flat):
        h = x
        for W, b in zip(flat[::2], flat[1::2]):
            h = sf.tanh(h @ W.T + b)
        return sf.mean((h - y) ** 2)

    flat = [p for layer in layers for p in layer]
    return sf.make_graph(lambda *ps: gradient(loss, *ps), *flat)


def test_mlp_gradient_graph_is_independent_of_width():
    small, wide = mlp_gradient_graph(4, 2), mlp_gradient_graph(256, 2)
    assert len(small) == len(wide) < 60
    assert small.op_counts() == wide.op_counts()


def test_mlp_gradient_graph_grows_linearly_with_depth():
    sizes = [len(mlp_gradient_graph(8, d)) for d in (1, 2, 3, 4)]
    steps = np.diff(sizes)
    assert len(set(steps)) == 1 and steps[0] <= 16


def _sympy_cse_ops(expr):
    replacements, (body,) = sympy.cse(expr)
    return sum(sympy.count_ops(e) for _, e in replacements) + sympy.count_ops(body)


@pytest.mark.parametrize("k", range(1, 9))
def test_nested_derivatives_are_no_larger_than_sympy_cse(k):
    f = lambda v: sf.exp(sf.sin(v)) / (1 + v**2)
    for _ in range(k):
        f = (lambda g: (lambda v: gradient(g, v)[0]))(f)
    graph = sf.make_graph(f, 0.7)
    x = sympy.Symbol("x")
    reference = sympy.diff(sympy.exp(sympy.sin(x)) / (1 + x**2), x, k)
    assert graph.count_ops() <= _sympy_cse_ops(reference)
    value = f(0.7)
    assert value == pytest.approx(float(reference.subs(x, 0.7)), rel=1e-12)


def test_hash_consing_shares_identical_subgraphs():
    g = sf.make_graph(lambda x: (sf.sin(x) * 2, sf.sin(x) * 2, sf.sin(x) + 1), np.ones(3))
    assert g.outputs[0] is g.outputs[1]
    assert len(g) == 4  # input, sin, 2·sin, sin + 1  — sin is built once
