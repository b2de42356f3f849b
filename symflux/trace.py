"""Tracing state: which arrays are being tracked, and turning Python values into graph operands.

``gradient(f, params(W, b))`` tracks ``W`` and ``b`` by identity: while ``f`` runs, any operation
that touches them produces ``Tracer`` values instead of numbers. The stack of tracking scopes
lets nested gradients track the same array at several levels.
"""

from __future__ import annotations

import contextlib
import fractions
import numbers
import weakref

import numpy as np
import sympy

from . import ops
from .device import GPUArray
from .ir import OBJECT, Node

_scopes: list[dict[int, object]] = []
# Graph inputs that some operation consumed. An argument that was used but whose derivative folded
# away (0*x) gets a zero gradient; one that was never used gets None, as in Zygote.
used_inputs: weakref.WeakSet = weakref.WeakSet()


# Open gradient computations; layers like Dropout and BatchNorm are active while one is.
_differentiating: list[list] = []


@contextlib.contextmanager
def differentiating():
    """Within the block a gradient is being taken. Yields the list of state updates made meanwhile."""
    updates: list = []
    _differentiating.append(updates)
    try:
        yield updates
    finally:
        _differentiating.pop()


def is_differentiating() -> bool:
    return bool(_differentiating)


def set_state(obj, attr: str, value) -> None:
    """``setattr(obj, attr, value)`` for layer state (running statistics, recurrent state). A traced
    value assigned while a gradient is taken is replaced by its concrete value afterwards."""
    setattr(obj, attr, value)
    parts = value if isinstance(value, tuple) else (value,)
    if _differentiating and any(isinstance(v, _tracer_type()) for v in parts):
        _differentiating[-1].append((obj, attr, value))


def _tracer_type():
    from .array import Tracer
    return Tracer


class TracingError(TypeError):
    """A Python operation that needs a concrete value was applied to a traced (symbolic) value."""


@contextlib.contextmanager
def tracking(mapping):
    """Within the block, arrays whose id is in ``mapping`` stand for the mapped Tracers
    (``mapping`` may also be an ``InputScope``)."""
    _scopes.append(mapping)
    try:
        yield
    finally:
        _scopes.pop()


class InputScope:
    """A tracking scope that makes every array it is asked about a graph input (how ``compile``
    passes model parameters without copying them: the same arrays are bound at every call)."""

    def __init__(self):
        self.arrays, self.tracers = [], {}

    def get(self, x):
        hit = self.tracers.get(id(x))
        if hit is None:
            from .array import Tracer
            from .ir import new_input
            hit = Tracer(new_input(x.shape, x.dtype, f"array{len(self.arrays)}"))
            self.tracers[id(x)] = hit
            self.arrays.append(x)
        return hit


def tracked(x):
    """The Tracer standing for array ``x`` in the innermost scope that tracks it, else None."""
    for scope in reversed(_scopes):
        hit = scope.get(x) if isinstance(scope, InputScope) else scope.get(id(x))
        if hit is not None:
            return hit
    return None


def is_traced(x) -> bool:
    from .array import Array, Tracer
    if isinstance(x, Tracer):
        return True
    return bool(_scopes) and isinstance(x, (Array, GPUArray)) and tracked(x) is not None


def any_traced(values) -> bool:
    return any(is_traced(v) for v in values)


def is_symbolic(x) -> bool:
    """SymPy values (or arrays holding them) that call for exact evaluation."""
    if isinstance(x, (sympy.Basic, sympy.MatrixBase)):
        return True
    return isinstance(x, np.ndarray) and x.dtype == OBJECT


def operand(x):
    """A graph operand for ``x``: a Node, or a weakly typed SymPy scalar to inline into bodies."""
    from .array import Array, Tracer
    if isinstance(x, Tracer):
        if x.node.op == "input":
            used_inputs.add(x.node)
        return x.node
    if isinstance(x, Array):
        hit = tracked(x) if _scopes else None
        return operand(hit) if hit is not None else ops.const(x.view(np.ndarray))
    if isinstance(x, GPUArray):
        return operand(x._operand())
    if isinstance(x, bool):
        return sympy.Integer(int(x))
    if isinstance(x, (int, float, complex, fractions.Fraction)) and not isinstance(x, np.generic):
        return sympy.sympify(x)
    if isinstance(x, sympy.Expr) and not isinstance(x, sympy.MatrixExpr):
        return x
    if isinstance(x, (sympy.MatrixBase, sympy.MatrixExpr)):
        return ops.const(x)
    if isinstance(x, (np.ndarray, np.generic, list, tuple, numbers.Number)):
        return ops.const(as_numpy(x))
    raise TypeError(f"cannot use a value of type {type(x).__name__} in a traced computation")


def operand_node(x) -> Node:
    """Like ``operand`` but always a Node (weak scalars become 0-d fills)."""
    op = operand(x)
    if isinstance(op, Node):
        return op
    return ops.map_(op, [], shape=())


def as_numpy(x) -> np.ndarray:
    """``x`` as a NumPy array; nested lists holding SymPy values become object arrays."""
    arr = np.asarray(x)
    if arr.dtype == OBJECT:
        return arr
    if arr.dtype.kind in "US":
        raise TypeError(f"cannot use strings as numbers: {x!r}")
    return arr
