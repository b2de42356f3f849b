"""The two array types users meet, and the error of asking a symbolic value for a number.

``Array`` is a NumPy array (a subclass) that gradient can track by identity: outside tracing it
is exactly NumPy; inside ``gradient(f, params(W))`` every operation on a tracked ``W`` is
recorded. ``Tracer`` is the symbolic value that flows through a traced function. Both are plain
data here: their NumPy operators, methods and protocols are installed by the array namespace
(``array_methods``), as JAX's numpy installs the methods of its tracers, so this module depends on
nothing that traces.
"""

from __future__ import annotations

import numpy as np
import sympy

from .ir import Node
from .ops import fmt_shape


class TracingError(TypeError):
    """A Python operation that needs a concrete value was applied to a traced (symbolic) value."""


class Trackable:
    """An array that a tracking scope can stand a Tracer in for (``Array``, ``GPUArray``); its
    ``host_value()`` is its values as a plain NumPy array (a constant when it is not tracked)."""


class Array(np.ndarray, Trackable):
    """A NumPy array that ``params`` can track by identity (``sf.array``, ``sf.rand``, …)."""

    def __array_finalize__(self, obj):
        pass

    def host_value(self) -> np.ndarray:
        """The values as a plain NumPy array."""
        return self.view(np.ndarray)

    def __repr__(self):
        plain = self.view(np.ndarray)
        if plain.ndim == 1 and plain.dtype.kind in "iu" and 0 < plain.size <= 1000:
            # compact integer vectors, as in the seed sessions: array([0, -2])
            return "array(" + np.array2string(plain, separator=", ", formatter={"int": str}) + ")"
        return repr(plain)


def copied(value) -> Array:
    """A new trackable array holding ``value`` (a copy: the source may be a buffer reused later)."""
    return np.array(value).view(Array)


class Tracer:
    """A symbolic array: the value of an expression being traced into a graph."""

    __slots__ = ("node",)
    __array_priority__ = 1000
    _op_priority = 1e9  # SymPy operands defer to our reflected operators

    def _sympy_(self):
        raise sympy.SympifyError(self, "a traced array is not a SymPy expression")

    def __init__(self, node: Node):
        self.node = node

    # -- array attributes ---------------------------------------------------------------------
    shape = property(lambda self: self.node.shape)
    dtype = property(lambda self: self.node.dtype)
    ndim = property(lambda self: self.node.ndim)
    size = property(lambda self: int(np.prod(self.node.shape)) if self.node.shape else 1)

    def __repr__(self):
        return f"Tracer(shape={fmt_shape(self.shape)}, dtype={self.dtype})"

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d traced array")
        return int(self.shape[0])

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    # -- things a symbolic value cannot do ----------------------------------------------------------
    def __bool__(self):
        raise TracingError(
            f"Python control flow on a traced value ({self!r}): `if`, `while`, `and`, `or` and "
            "comparisons used as conditions need a concrete True/False, but while tracing for "
            "gradient/compile this value is symbolic. Use sf.where(condition, a, b) to choose "
            "elementwise, or pass the condition in as a plain Python value.")

    def _no_concrete(self, what):
        raise TracingError(
            f"{what} of a traced value ({self!r}) is not available while tracing; keep the "
            "computation in sf.*/NumPy operations on the traced value.")

    __float__ = lambda self: self._no_concrete("float()")
    __int__ = lambda self: self._no_concrete("int()")
    __index__ = lambda self: self._no_concrete("Using as an index")
    __complex__ = lambda self: self._no_concrete("complex()")

    def __array__(self, dtype=None, copy=None):
        self._no_concrete("Converting to a NumPy array (np.asarray/np.array)")

    def __setitem__(self, key, value):
        raise TracingError(
            "traced arrays are immutable: item assignment is not recorded. Build the new value "
            "with x.at[index].set(value) (or .add(value), as in JAX), sf.where(mask, new, x) or sf.concatenate.")

    __hash__ = object.__hash__
