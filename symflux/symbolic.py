"""NumPy functions on matrix symbols: ``sf.sum(sf.exp(x))`` for ``x = sf.symbols("x", shape=(n,))``
is the formula ``sum(exp.(x))``, not SymPy's matrix exponential.

A function wrapped by ``on_symbols`` that gets SymPy matrix expressions (and no traced values) runs
on them as constants of a graph, which ``printing.formula`` turns back into a matrix expression.
"""

from __future__ import annotations

import functools

import sympy

from . import trace
from .array import Tracer
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
