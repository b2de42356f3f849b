"""Creating arrays: ``sf.array``, ``zeros``, ``rand``, … (trackable ``Array``s)."""

from __future__ import annotations

import numpy as np
import sympy

from .. import rng, trace
from ..array import Array
from ._base import _plain, dtype_of, ndim, shape
from .elementwise import abs, add, astype, divide, exp, log, multiply, power, sign, subtract, where
from .manipulation import broadcast_to, expand_dims, moveaxis, ravel, reshape, stack


def zeros_like(x, dtype=None):
    return zeros(shape(x), dtype=dtype or (x.dtype if hasattr(x, "dtype") else np.float64))


def ones_like(x, dtype=None):
    return ones(shape(x), dtype=dtype or (x.dtype if hasattr(x, "dtype") else np.float64))


def _dims(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


def array(obj, dtype=None) -> Array:
    """A trackable array from nested lists/arrays (SymPy values give an object array); lists that
    hold traced values are stacked into a traced array."""
    if isinstance(obj, (list, tuple)) and trace.any_traced(_leaves(obj)):
        out = stack([array(o) if isinstance(o, (list, tuple)) else o for o in obj])
        return out if dtype is None else astype(out, dtype)
    if trace.is_traced(obj):
        return obj if dtype is None else astype(obj, dtype)
    if isinstance(obj, sympy.MatrixBase):
        obj = np.array(obj.tolist(), dtype=object)
    return np.array(obj, dtype=dtype).view(Array)


def _leaves(obj) -> list:
    return [v for o in obj for v in (_leaves(o) if isinstance(o, (list, tuple)) else [o])]


def asarray(obj, dtype=None) -> Array:
    """``obj`` as a trackable array (itself when it already is one and no dtype is asked)."""
    return obj if isinstance(obj, Array) and dtype is None else array(obj, dtype)


def zeros(*shape, dtype=np.float64) -> Array:
    """A trackable array of zeros (``zeros(2, 3)`` or ``zeros((2, 3))``)."""
    return np.zeros(_dims(shape), dtype=dtype).view(Array)


def ones(*shape, dtype=np.float64) -> Array:
    """A trackable array of ones (``ones(2, 3)`` or ``ones((2, 3))``)."""
    return np.ones(_dims(shape), dtype=dtype).view(Array)


def full(shape, value, dtype=None) -> Array:
    """A trackable array of ``shape`` filled with ``value``."""
    return np.full(shape, value, dtype=dtype).view(Array)


def eye(n, m=None, dtype=np.float64) -> Array:
    """The n × m identity as a trackable array."""
    return np.eye(n, m, dtype=dtype).view(Array)


def identity(n, dtype=np.float64) -> Array:
    """The n × n identity as a trackable array."""
    return eye(n, dtype=dtype)


def empty(shape, dtype=np.float64) -> Array:
    """A trackable array of ``shape``: zeros, as JAX's ``empty`` (NumPy's holds whatever was in memory)."""
    return np.zeros(shape, dtype=dtype).view(Array)


# NumPy's index builders take sizes, not arrays: NumPy's own
diag_indices, tril_indices, triu_indices, ix_, broadcast_shapes = (
    np.diag_indices, np.tril_indices, np.triu_indices, np.ix_, np.broadcast_shapes)


def arange(*args, dtype=None) -> Array:
    """``numpy.arange`` as a trackable array."""
    return np.arange(*args, dtype=dtype).view(Array)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced values from start to stop; traced endpoints give a traced array."""
    if not trace.any_traced([start, stop]):
        out = np.linspace(start, stop, num, endpoint=endpoint, retstep=retstep, dtype=dtype, axis=axis)
        return (out[0].view(Array), out[1]) if retstep else out.view(Array)
    steps = (num - 1 if endpoint else num) or 1
    dtype_out = np.result_type(getattr(start, "dtype", np.float64), getattr(stop, "dtype", np.float64), 1.0)
    fractions = (np.arange(num) / steps).astype(dtype_out)
    if endpoint and num > 1:
        fractions[-1] = 1.0
    start, stop = expand_dims(start, -1) if ndim(start) else start, expand_dims(stop, -1) if ndim(stop) else stop
    out = moveaxis(add(start, multiply(subtract(stop, start), fractions)), -1, axis)
    out = out if dtype is None else astype(out, dtype)
    return (out, divide(subtract(stop, start), steps)) if retstep else out


def rand(*shape, dtype=np.float64) -> Array:
    """Uniform [0, 1) samples of the given shape (float64, like NumPy)."""
    return rng.generator().random(_dims(shape)).astype(dtype).view(Array)


def randn(*shape, dtype=np.float64) -> Array:
    """Standard normal samples of the given shape (float64, like NumPy)."""
    return rng.generator().standard_normal(_dims(shape)).astype(dtype).view(Array)


def full_like(a, fill_value, dtype=None):
    """An array of ``a``'s shape (and type, unless ``dtype``) filled with ``fill_value``; a constant."""
    return full(shape(a), fill_value, dtype=dtype or dtype_of(a))


def empty_like(a, dtype=None):
    """An array of ``a``'s shape and type (zeros: a traced program has no uninitialised memory)."""
    return zeros_like(a, dtype)


def tri(N, M=None, k=0, dtype=float):
    """Ones at and below diagonal k of an N × M array, zeros above (a constant)."""
    return np.tri(N, M, k, dtype).view(Array)


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """base ** linspace(start, stop): ``num`` values spaced evenly on a log scale."""
    if not trace.any_traced([start, stop, base]):
        return np.logspace(start, stop, num, endpoint, base, dtype, axis).view(Array)
    out = power(base, linspace(start, stop, num, endpoint=endpoint, axis=axis))
    return out if dtype is None else astype(out, dtype)


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``num`` values spaced evenly on a log scale from start to stop (of one sign), the endpoints
    exactly start and stop, as NumPy's; traced endpoints give a traced array."""
    if not trace.any_traced([start, stop]):
        return np.geomspace(start, stop, num, endpoint, dtype, axis).view(Array)
    kind = lambda v: np.ones((), dtype_of(v))  # noqa: E731
    computed = np.geomspace(kind(start), kind(stop), 2).dtype  # NumPy's: float64 for float32 endpoints too
    start, stop = astype(start, computed), astype(stop, computed)
    along = lambda value: expand_dims(value, axis) if ndim(value) else value  # noqa: E731  (an endpoint per row)
    logs = linspace(log(abs(start)), log(abs(stop)), num, endpoint=endpoint, axis=axis)
    out = multiply(along(sign(start)), exp(logs))
    position = np.arange(num).reshape([-1 if k == axis % ndim(out) else 1 for k in range(ndim(out))])
    ends = [(0, start)] + ([(num - 1, stop)] if endpoint and num > 1 else [])
    for k, value in ends:
        out = where(position == k, along(value), out)
    return out if dtype is None else astype(out, dtype)


def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """Coordinate arrays from 1-D coordinate vectors (``indexing`` 'xy': the first two axes
    swapped, as in NumPy); ``sparse`` keeps them broadcastable instead of broadcast."""
    if not trace.any_traced(list(xi)):
        return tuple(g.view(Array) for g in np.meshgrid(*[_plain(x) for x in xi], copy=copy, sparse=sparse,
                                                        indexing=indexing))
    if indexing not in ("xy", "ij"):
        raise ValueError("meshgrid: indexing must be 'xy' or 'ij'")
    n = len(xi)
    shapes = [[-1 if j == i else 1 for j in range(n)] for i in range(n)]
    if indexing == "xy" and n > 1:
        for s in shapes[:2]:
            s[0], s[1] = s[1], s[0]
    grids = [reshape(ravel(x), tuple(s)) for x, s in zip(xi, shapes)]
    if sparse:
        return tuple(grids)
    full_shape = np.broadcast_shapes(*[g.shape for g in grids])
    return tuple(broadcast_to(g, full_shape) for g in grids)


def diag_indices_from(arr):
    """The indices of the main diagonal of an n × n × … array (only its shape is read)."""
    dims = tuple(shape(arr))
    if len(dims) < 2 or len(set(dims)) != 1:
        raise ValueError("diag_indices_from: the array must be at least 2-D with all sides equal")
    return np.diag_indices(dims[0], len(dims))


def tril_indices_from(arr, k=0):
    """The indices of the lower triangle (at and below diagonal k) of a 2-D array's shape."""
    n, m = _matrix_shape(arr, "tril_indices_from")
    return np.tril_indices(n, k, m)


def triu_indices_from(arr, k=0):
    """The indices of the upper triangle (at and above diagonal k) of a 2-D array's shape."""
    n, m = _matrix_shape(arr, "triu_indices_from")
    return np.triu_indices(n, k, m)


def _matrix_shape(arr, name):
    dims = tuple(shape(arr))
    if len(dims) != 2:
        raise ValueError(f"{name}: the input array must be 2-D")
    return dims
