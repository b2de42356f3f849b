"""A layer's formula: ``Dense(10, 5, σ).expr()`` prints ``σ(W·x + b)``.

The layer is traced on a symbolic input with its parameters as matrix symbols named after their
fields, the graph becomes a SymPy matrix expression, and ``FormulaPrinter`` prints products with
``·`` and elementwise activations by name.
"""

from __future__ import annotations

import numpy as np
import sympy
from sympy.printing.precedence import precedence
from sympy.printing.str import StrPrinter

from ..functions import VectorSymbol
from ..functor import field_names
from ..params import params
from ..printing import Entrywise, formulas
from ..tracing import Trace


class FormulaPrinter(StrPrinter):
    """Matrix products as ``W·x``, entrywise functions as plain calls: ``σ(W·x + b)``."""

    def _print(self, expr, **kwargs):
        if isinstance(expr, Entrywise):
            return super()._print(expr._spelled(self), **kwargs)
        return super()._print(expr, **kwargs)

    def _print_MatMul(self, expr):
        scalar = sympy.Mul(*[a for a in expr.args if not a.is_Matrix])
        product = "·".join(self.parenthesize(a, precedence(expr)) for a in expr.args if a.is_Matrix)
        if scalar == 1:
            return product
        if scalar == -1:
            return "-" + product
        return f"{self.parenthesize(scalar, precedence(expr))}*{product}"


class Formula:
    """A layer's formula; ``str`` prints it, ``.expr`` is the SymPy matrix expression."""

    def __init__(self, expr):
        self.expr = expr

    def __str__(self):
        return FormulaPrinter().doprint(self.expr)

    __repr__ = __str__

    def _repr_latex_(self):
        return f"$\\displaystyle {sympy.latex(self.expr)}$"

    def _sympy_(self):  # sf.latex(formula), sympy.sympify(formula)
        return self.expr

    def __eq__(self, other):
        return str(self) == str(other) if isinstance(other, (str, Formula)) else NotImplemented

    __hash__ = None


def _symbol(name, shape):
    if len(shape) > 2:  # an array: formulas in index notation
        return sympy.IndexedBase(name, shape=shape)
    if len(shape) == 1:
        return VectorSymbol(name, shape[0], 1)
    return sympy.MatrixSymbol(name, *(shape if len(shape) == 2 else (1, 1)))


def template(layer, input_shape=None, call=None) -> Formula:
    """The formula of ``layer`` (or of ``call``, a function of the input using the layer) applied to a
    symbolic input ``x`` (a vector of its input size)."""
    sizes = getattr(layer, "sizes", None)
    if input_shape is None and sizes is not None:
        input_shape = (sizes[0],)
    if input_shape is None:
        weight = next(iter(params(layer)), None)
        if weight is None or weight.ndim > 2:
            raise ValueError(f"{layer!r}: pass input_shape to show its formula")
        input_shape = (weight.shape[-1],) if weight.ndim == 2 else (weight.shape[0],)
    ps = params(layer)
    t = Trace(call or layer, (np.zeros(tuple(input_shape), np.float32),), params=ps, read_as_inputs=True)
    names = field_names(layer)
    bindings = {t.leaves[0].node: _symbol("x", input_shape)}
    arrays = [(leaf.node, p) for leaf, p in zip(t.param_leaves, ps)] + list(zip(t.array_inputs, t.arrays))
    for i, (node, a) in enumerate(arrays):  # parameters, then state such as running statistics
        bindings[node] = _symbol(names.get(id(a), f"p{i}"), a.shape)
    (expr,) = formulas([t.out.node], bindings)
    return Formula(expr)


def applied(name: str, *args, activation: str | None = None, **options) -> Formula:
    """The formula ``activation(name(args, options…))`` of a layer whose operation has no matrix form
    (a convolution, a pooling): ``relu(conv(x, weight, stride=(2, 2)) + bias)``. ``args`` are SymPy
    expressions or names; options print as ``key=value``."""
    symbols = [sympy.Symbol(a) if isinstance(a, str) else a for a in args]
    expr = sympy.Function(name)(*symbols, *[sympy.Symbol(f"{k}={v}") for k, v in options.items()])
    return Formula(sympy.Function(activation)(expr) if activation else expr)
