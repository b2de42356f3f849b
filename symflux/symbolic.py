"""NumPy functions on matrix symbols: ``sf.sum(sf.exp(x))`` for ``x = sf.symbols("x", shape=(n,))``
is the formula ``sum(exp.(x))``, not SymPy's matrix exponential.

A function wrapped by ``on_symbols`` that gets SymPy matrix expressions (and no traced values) runs
on them as constants of a graph, which ``printing.formula`` turns back into a matrix expression; one
wrapped by ``exactly`` that gets SymPy values runs on them the same way, evaluated exactly.
"""

from __future__ import annotations

import functools

import numpy as np
import sympy

from . import interp, pytree, trace
from .array import Array, Tracer
from .printing import formula


def on_symbols(f):
    """``f`` applied to matrix symbols gives their formula (as it does inside ``gradient``)."""
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        if not any(isinstance(a, sympy.MatrixExpr) for a in args) or trace.any_traced(args):
            return f(*args, **kwargs)
        out = f(*[Tracer(trace.operand_node(a)) if isinstance(a, sympy.MatrixExpr) else a for a in args], **kwargs)
        return formula(out.node) if isinstance(out, Tracer) else out
    return wrapper


def exactly(f):
    """``f`` applied to SymPy values (a ``sympy.Matrix``, an array of expressions, and no traced
    values) gives its exact value, as inside ``gradient``: for functions NumPy has no object loop
    for (LAPACK's). A ``sympy.Matrix`` argument gives matrices for two-dimensional results."""
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        if not any(map(trace.is_symbolic, args)) or trace.any_traced(args):
            return f(*args, **kwargs)
        out = f(*[Tracer(trace.operand_node(_array(a))) if trace.is_symbolic(a) else a for a in args], **kwargs)
        leaves, tree = pytree.flatten(out)
        traced = [leaf for leaf in leaves if isinstance(leaf, Tracer)]
        values = iter(interp.evaluate([leaf.node for leaf in traced], {}, exact=True))
        as_matrix = any(isinstance(a, sympy.MatrixBase) for a in args)
        return pytree.unflatten(tree, [_exact_result(next(values), as_matrix) if isinstance(leaf, Tracer) else leaf
                                       for leaf in leaves])
    return wrapper


def _array(value):
    return np.array(value.tolist(), dtype=object) if isinstance(value, sympy.MatrixBase) else value


def _exact_result(value: np.ndarray, as_matrix: bool):
    if value.ndim == 0:
        return value[()]
    return sympy.Matrix(value.tolist()) if as_matrix and value.ndim == 2 else value.view(Array)
