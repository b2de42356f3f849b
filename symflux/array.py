"""The two array types users meet.

``Array`` is a NumPy array (a subclass) that gradient can track by identity: outside tracing it
is exactly NumPy; inside ``gradient(f, params(W))`` every operation on a tracked ``W`` is
recorded. ``Tracer`` is the symbolic value that flows through a traced function: it supports the
NumPy operators, methods and functions, and each operation adds a node to the graph.
"""

from __future__ import annotations

import numpy as np
import sympy

from . import trace
from .ir import Node
from .ops import fmt_shape

# ndarray methods that would bypass ufunc dispatch (views, reductions written in C) and so must be
# routed through the traced implementation when the array is tracked.
_TRACKED_METHODS = ("sum", "mean", "max", "min", "prod", "reshape", "transpose", "flatten", "ravel",
                    "squeeze", "dot", "clip", "astype", "var", "std", "swapaxes", "copy", "__getitem__")


class Array(np.ndarray):
    """A NumPy array that ``params`` can track by identity (``sf.array``, ``sf.rand``, …)."""

    def __array_finalize__(self, obj):
        pass

    def __repr__(self):
        plain = self.view(np.ndarray)
        if plain.ndim == 1 and plain.dtype.kind in "iu" and 0 < plain.size <= 1000:
            # compact integer vectors, as in the seed sessions: array([0, -2])
            return "array(" + np.array2string(plain, separator=", ", formatter={"int": str}) + ")"
        return repr(plain)

    def _repr_latex_(self):
        """Jupyter: arrays of exact/SymPy values render as matrices."""
        if self.dtype != object or self.ndim > 2:
            return None
        from .printing import latex
        return f"$\\displaystyle {latex(self.view(np.ndarray))}$"

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if trace._scopes and trace.any_traced(inputs + kwargs.get("out", ())):
            return F.apply_ufunc(ufunc, method, inputs, kwargs)
        plain = tuple(x.view(np.ndarray) if isinstance(x, Array) else x for x in inputs)
        outs = kwargs.get("out")
        if outs:
            kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, Array) else o for o in outs)
        result = getattr(ufunc, method)(*plain, **kwargs)
        if outs:
            return outs[0] if len(outs) == 1 else outs
        return _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        if trace._scopes and trace.any_traced(_flat(args) + _flat(tuple(kwargs.values()))):
            return F.apply_function(func, args, kwargs)
        return super().__array_function__(func, types, args, kwargs)

    @property
    def T(self):
        return self._maybe_traced("T") if trace._scopes else super().T

    @property
    def mT(self):
        return self._maybe_traced("mT") if trace._scopes else super().mT

    def _maybe_traced(self, attr):
        hit = trace.tracked(self)
        return getattr(hit, attr) if hit is not None else getattr(super(), attr)


def _make_tracked_method(name):
    plain = getattr(np.ndarray, name)

    def method(self, *args, **kwargs):
        if trace._scopes:
            hit = trace.tracked(self)
            if hit is not None:
                return getattr(hit, name)(*args, **kwargs)
        if name == "__getitem__" and any(trace.is_traced(k) for k in _flat((args[0],))):
            return getattr(Tracer(trace.operand_node(self)), name)(*args, **kwargs)
        return plain(self, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = plain.__doc__
    return method


for _name in _TRACKED_METHODS:
    setattr(Array, _name, _make_tracked_method(_name))


def _flat(values) -> tuple:
    out = []
    for v in values:
        if isinstance(v, (list, tuple)):
            out.extend(_flat(v))
        else:
            out.append(v)
    return tuple(out)


def copied(value) -> Array:
    """A new trackable array holding ``value`` (a copy: the source may be a buffer reused later)."""
    return np.array(value).view(Array)


def _wrap(result):
    if isinstance(result, tuple):
        return tuple(_wrap(r) for r in result)
    if isinstance(result, np.ndarray) and not isinstance(result, Array):
        return result.view(Array)
    return result


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
    T = property(lambda self: F.transpose(self))
    mT = property(lambda self: F.swapaxes(self, -1, -2))

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
        raise trace.TracingError(
            f"Python control flow on a traced value ({self!r}): `if`, `while`, `and`, `or` and "
            "comparisons used as conditions need a concrete True/False, but while tracing for "
            "gradient/compile this value is symbolic. Use sf.where(condition, a, b) to choose "
            "elementwise, or pass the condition in as a plain Python value.")

    def _no_concrete(self, what):
        raise trace.TracingError(
            f"{what} of a traced value ({self!r}) is not available while tracing; keep the "
            "computation in sf.*/NumPy operations on the traced value.")

    __float__ = lambda self: self._no_concrete("float()")
    __int__ = lambda self: self._no_concrete("int()")
    __index__ = lambda self: self._no_concrete("Using as an index")
    __complex__ = lambda self: self._no_concrete("complex()")

    def __array__(self, dtype=None, copy=None):
        self._no_concrete("Converting to a NumPy array (np.asarray/np.array)")

    def __setitem__(self, key, value):
        raise trace.TracingError(
            "traced arrays are immutable: item assignment is not recorded. Build the new value "
            "with sf.where(mask, new, x) or sf.concatenate instead.")

    __hash__ = object.__hash__

    # -- NumPy protocols ------------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return F.apply_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return F.apply_function(func, args, kwargs)

    # -- operators ----------------------------------------------------------------------------------
    __add__ = lambda s, o: F.add(s, o)
    __radd__ = lambda s, o: F.add(o, s)
    __sub__ = lambda s, o: F.subtract(s, o)
    __rsub__ = lambda s, o: F.subtract(o, s)
    __mul__ = lambda s, o: F.multiply(s, o)
    __rmul__ = lambda s, o: F.multiply(o, s)
    __truediv__ = lambda s, o: F.divide(s, o)
    __rtruediv__ = lambda s, o: F.divide(o, s)
    __mod__ = lambda s, o: F.remainder(s, o)
    __rmod__ = lambda s, o: F.remainder(o, s)
    __floordiv__ = lambda s, o: F.floor_divide(s, o)
    __rfloordiv__ = lambda s, o: F.floor_divide(o, s)
    __pow__ = lambda s, o: F.power(s, o)
    __rpow__ = lambda s, o: F.power(o, s)
    __matmul__ = lambda s, o: F.matmul(s, o)
    __rmatmul__ = lambda s, o: F.matmul(o, s)
    __neg__ = lambda s: F.negative(s)
    __pos__ = lambda s: s
    __abs__ = lambda s: F.abs(s)
    __lt__ = lambda s, o: F.less(s, o)
    __le__ = lambda s, o: F.less_equal(s, o)
    __gt__ = lambda s, o: F.greater(s, o)
    __ge__ = lambda s, o: F.greater_equal(s, o)
    __eq__ = lambda s, o: F.equal(s, o)
    __ne__ = lambda s, o: F.not_equal(s, o)
    __getitem__ = lambda s, key: F.getitem(s, key)

    # -- methods ------------------------------------------------------------------------------------
    def sum(self, axis=None, dtype=None, out=None, keepdims=False):
        return F.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, dtype=None, out=None, keepdims=False):
        return F.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, out=None, keepdims=False):
        return F.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, out=None, keepdims=False):
        return F.min(self, axis=axis, keepdims=keepdims)

    def prod(self, axis=None, dtype=None, out=None, keepdims=False):
        return F.prod(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        return F.var(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        return F.std(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def reshape(self, *shape, order="C"):
        return F.reshape(self, shape[0] if len(shape) == 1 else shape)

    def transpose(self, *axes):
        return F.transpose(self, axes[0] if len(axes) == 1 else (axes or None))

    def swapaxes(self, a, b):
        return F.swapaxes(self, a, b)

    def flatten(self, order="C"):
        return F.reshape(self, (-1,))

    ravel = flatten

    def squeeze(self, axis=None):
        return F.squeeze(self, axis)

    def dot(self, other):
        return F.dot(self, other)

    def clip(self, min=None, max=None):
        return F.clip(self, min, max)

    def astype(self, dtype, copy=True):
        return F.astype(self, dtype)

    def copy(self):
        return self


from . import numpy_api as F  # noqa: E402  (numpy_api builds on the classes above)
