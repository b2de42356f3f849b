"""The NumPy surface of ``Array`` and ``Tracer``: operators, methods and NumPy's dispatch protocols,
installed on the classes by the array namespace (as JAX's numpy installs its tracers' methods), so
that ``array`` depends on nothing that traces.
"""

from __future__ import annotations

import operator

import numpy as np

from . import numpy as F
from . import trace
from .array import Array, Tracer, TracingError
from .functions import Vector, VectorSymbol
from .numpy.dispatch import apply_function, apply_ufunc
from .numpy.manipulation import getitem
from .printing import latex

# -- Tracer ---------------------------------------------------------------------------------------

_BINARY = {"add": "add", "sub": "subtract", "mul": "multiply", "truediv": "divide", "mod": "remainder",
           "floordiv": "floor_divide", "pow": "power", "matmul": "matmul", "and": "bitwise_and", "or": "bitwise_or",
           "xor": "bitwise_xor", "lshift": "left_shift", "rshift": "right_shift"}
_COMPARISONS = {"lt": "less", "le": "less_equal", "gt": "greater", "ge": "greater_equal", "eq": "equal",
                "ne": "not_equal"}


def _forward(name):
    return lambda s, o: getattr(F, name)(s, o)


def _reflected(name):
    return lambda s, o: getattr(F, name)(o, s)


class _TracerMethods:
    """ndarray's methods on a traced value, with NumPy's arguments."""

    def sum(self, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
        return F.sum(self, axis, dtype, out, keepdims, initial, where)

    def mean(self, axis=None, dtype=None, out=None, keepdims=False, *, where=True):
        return F.mean(self, axis, dtype, out, keepdims, where=where)

    def max(self, axis=None, out=None, keepdims=False, initial=None, where=True):
        return F.max(self, axis, out, keepdims, initial, where)

    def min(self, axis=None, out=None, keepdims=False, initial=None, where=True):
        return F.min(self, axis, out, keepdims, initial, where)

    def prod(self, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
        return F.prod(self, axis, dtype, out, keepdims, initial, where)

    def var(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True, correction=None):
        return F.var(self, axis, dtype, out, ddof, keepdims, where=where, correction=correction)

    def std(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True, correction=None):
        return F.std(self, axis, dtype, out, ddof, keepdims, where=where, correction=correction)

    def all(self, axis=None, out=None, keepdims=False, *, where=True):
        return F.all(self, axis, out, keepdims, where=where)

    def any(self, axis=None, out=None, keepdims=False, *, where=True):
        return F.any(self, axis, out, keepdims, where=where)

    def cumsum(self, axis=None, dtype=None, out=None):
        return F.cumsum(self, axis, dtype, out)

    def cumprod(self, axis=None, dtype=None, out=None):
        return F.cumprod(self, axis, dtype, out)

    def argmax(self, axis=None, out=None, *, keepdims=False):
        return F.argmax(self, axis, out, keepdims)

    def argmin(self, axis=None, out=None, *, keepdims=False):
        return F.argmin(self, axis, out, keepdims)

    def argsort(self, axis=-1, kind=None, order=None):
        return F.argsort(self, axis, kind, order)

    def round(self, decimals=0, out=None):
        return F.round(self, decimals)

    def diagonal(self, offset=0, axis1=0, axis2=1):
        return F.diagonal(self, offset, axis1, axis2)

    def trace(self, offset=0, axis1=0, axis2=1, dtype=None, out=None):
        return F.sum(F.diagonal(self, offset, axis1, axis2), axis=-1, dtype=dtype, out=out)

    def repeat(self, repeats, axis=None):
        return F.repeat(self, repeats, axis)

    def take(self, indices, axis=None, out=None, mode="raise"):
        return F.take(self, indices, axis, out, mode)

    def conj(self):
        return F.conj(self) if self.dtype.kind == "c" else self  # the method keeps bools (np.conj: int8)

    conjugate = conj

    def reshape(self, *shape, order="C"):
        return F.reshape(self, shape[0] if len(shape) == 1 else shape)

    def transpose(self, *axes):
        return F.transpose(self, axes[0] if len(axes) == 1 else (axes or None))

    def swapaxes(self, a, b):
        return F.swapaxes(self, a, b)

    def flatten(self, order="C"):
        return F.reshape(self, (-1,))

    def squeeze(self, axis=None):
        return F.squeeze(self, axis)

    def dot(self, other):
        return F.dot(self, other)

    def clip(self, min=None, max=None):
        return F.clip(self, min, max)

    def astype(self, dtype, copy=True):
        return F.astype(self, dtype)

    def copy(self, order="C"):
        return self

    def view(self, dtype=None, type=None):
        if dtype is not None and np.dtype(dtype) != self.dtype:
            raise TypeError(f"view: reading a traced {self.dtype} array's bytes as {np.dtype(dtype)} is not supported; "
                            "use astype to convert the values")
        return self

    def item(self, *args):
        self._no_concrete("item()")

    def tolist(self):
        self._no_concrete("tolist()")

    def nonzero(self):
        raise TracingError(f"nonzero of a traced value ({self!r}): how many positions it returns depends on the "
                           "values, which tracing cannot allow; use sf.where(condition, x, y) or a mask")

    def fill(self, value):
        raise TracingError("traced arrays are immutable: fill() is not recorded; use sf.full_like(x, value)")

    itemsize = property(lambda self: self.dtype.itemsize)
    nbytes = property(lambda self: self.size * self.dtype.itemsize)

    def __round__(self, ndigits=None):
        if ndigits is None:  # round(x) is a Python int
            self._no_concrete("round()")
        return F.round(self, ndigits)

    def __divmod__(self, other):
        return F.divmod(self, other)

    def __rdivmod__(self, other):
        return F.divmod(other, self)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return apply_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return apply_function(func, args, kwargs)


def _pow(s, o):
    """``s ** o``: NumPy's operator squares for a Python 2 (bools give int8, as ``square``'s first loop)."""
    return F.square(s) if type(o) is int and o == 2 else F.power(s, o)


def _concretely(convert, symbolic):
    """A Tracer method that converts the value of an eager trace (``trace.concrete_value``), and where
    there is none raises as ``symbolic`` does (a compile's control flow: use sf.where)."""
    def method(self):
        value = trace.concrete_value(self)
        if value is None:
            return symbolic(self)
        try:
            return convert(value[()] if value.ndim == 0 else value)
        except TypeError:  # a SymPy condition (x > 0 for a symbol x) has no truth value
            if convert is bool:
                return symbolic(self)
            raise
    return method


def _install_tracer_methods():
    Tracer.__bool__ = _concretely(bool, Tracer.__bool__)
    Tracer.__index__ = _concretely(operator.index, Tracer.__index__)
    Tracer.__int__ = _concretely(int, Tracer.__int__)
    for dunder, name in _BINARY.items():
        setattr(Tracer, f"__{dunder}__", _forward(name))
        setattr(Tracer, f"__r{dunder}__", _reflected(name))
    Tracer.__pow__ = _pow
    for dunder, name in _COMPARISONS.items():
        setattr(Tracer, f"__{dunder}__", _forward(name))
    Tracer.__neg__ = lambda s: F.negative(s)
    Tracer.__pos__ = lambda s: s
    Tracer.__abs__ = lambda s: F.abs(s)
    Tracer.__invert__ = lambda s: F.invert(s)
    Tracer.__getitem__ = lambda s, key: getitem(s, key)
    Tracer.T = property(lambda self: F.transpose(self))
    Tracer.mT = property(lambda self: F.swapaxes(self, -1, -2))
    Tracer.real = property(lambda self: F.real(self))
    Tracer.imag = property(lambda self: F.imag(self))
    Tracer.at = property(lambda self: F.at(self))  # JAX's x.at[index].set(v)
    for name, method in vars(_TracerMethods).items():
        if callable(method) or isinstance(method, property):
            setattr(Tracer, name, method)
    Tracer.ravel = Tracer.flatten


# -- Array ----------------------------------------------------------------------------------------

# ndarray methods that would bypass ufunc dispatch (views, reductions written in C) and so must be
# routed through the traced implementation when the array is tracked.
_TRACKED_METHODS = ("sum", "mean", "max", "min", "prod", "reshape", "transpose", "flatten", "ravel",
                    "squeeze", "dot", "clip", "astype", "var", "std", "swapaxes", "copy", "__getitem__", "all",
                    "any", "cumsum", "cumprod", "argmax", "argmin", "argsort", "round", "diagonal", "trace",
                    "repeat", "take", "conj", "conjugate")


def _flat(values) -> tuple:
    out = []
    for v in values:
        if isinstance(v, (list, tuple)):
            out.extend(_flat(v))
        else:
            out.append(v)
    return tuple(out)


def _wrap(result):
    if isinstance(result, tuple):
        return tuple(_wrap(r) for r in result)
    if isinstance(result, np.ndarray) and not isinstance(result, Array):
        return result.view(Array)
    return result


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    if trace._scopes and trace.any_traced(inputs + kwargs.get("out", ())):
        return apply_ufunc(ufunc, method, inputs, kwargs)
    plain = tuple(x.view(np.ndarray) if isinstance(x, Array) else x for x in inputs)
    outs = kwargs.get("out")
    if outs:
        kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, Array) else o for o in outs)
    result = getattr(ufunc, method)(*plain, **kwargs)
    if outs:
        return outs[0] if len(outs) == 1 else outs
    return _wrap(result)


def _array_function(self, func, types, args, kwargs):
    if trace._scopes and trace.any_traced(_flat(args) + _flat(tuple(kwargs.values()))):
        return apply_function(func, args, kwargs)
    return np.ndarray.__array_function__(self, func, types, args, kwargs)


def _maybe_traced(attr):
    plain = getattr(np.ndarray, attr)

    def get(self):
        hit = trace.tracked(self) if trace._scopes else None
        return getattr(hit, attr) if hit is not None else plain.__get__(self)
    return property(get)


def _tracked_method(name):
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


def _repr_latex(self):
    """Jupyter: arrays of exact/SymPy values render as matrices."""
    if self.dtype != object or self.ndim > 2:
        return None
    return f"$\\displaystyle {latex(self.view(np.ndarray))}$"


def _install_array_methods():
    Array.__array_ufunc__ = _array_ufunc
    Array._repr_latex_ = _repr_latex
    Array.__array_function__ = _array_function
    Array.T = _maybe_traced("T")
    Array.mT = _maybe_traced("mT")
    for name in _TRACKED_METHODS:
        setattr(Array, name, _tracked_method(name))


_VECTOR_OPERATORS = {"add": F.add, "sub": F.subtract, "mul": F.multiply, "truediv": F.divide,
                     "pow": F.power, "matmul": F.matmul}


def _install_vector_operators():
    """Vector symbols are 1-D arrays: ``x * y``, ``x ** 2``, ``x @ A @ x`` as in NumPy."""
    for cls in (VectorSymbol, Vector):
        for name, f in _VECTOR_OPERATORS.items():
            setattr(cls, f"__{name}__", lambda a, b, f=f: f(a, b))
            setattr(cls, f"__r{name}__", lambda a, b, f=f: f(b, a))
        cls.__neg__ = lambda a: F.negative(a)


_install_tracer_methods()
_install_array_methods()
_install_vector_operators()
