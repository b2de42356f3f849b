"""Finding positions and choosing elements, written with symflux's own functions so that every path
and derivative follows from theirs: ``searchsorted``, ``digitize``, ``delete``, ``compress``,
``extract``, ``choose``, ``piecewise``, ``apply_along_axis``, ``resize``, ``indices``,
``unravel_index``, ``ravel_multi_index``, ``insert``, ``isin`` and ``bincount``. What decides a
result's shape (the positions deleted, a condition compressed by) must be constant, as in JAX."""

from __future__ import annotations

import builtins

import numpy as np

from .. import ops, trace
from ..array import Array, Tracer
from ._base import _node, _none_traced, _plain, _rewrap, dtype_of, ndim, shape
from .arrangement import take
from .creation import ones_like
from .elementwise import (
    astype,
    clip,
    equal,
    floor_divide,
    isnan,
    less,
    logical_and,
    logical_not,
    logical_or,
    multiply,
    remainder,
    where,
)
from .manipulation import moveaxis, ravel, reshape, stack
from .reductions import sum
from .statistics import any as any_


def _constant(name, value, what):
    if trace.is_traced(value):
        raise TypeError(f"{name}: {what} must be constant (it decides the result's shape or positions)")
    return np.asarray(_plain(value))


def _before(x, y):
    """x sorts before y, NaN last (NumPy's order for sorting and searching)."""
    return logical_or(less(x, y), logical_and(isnan(y), logical_not(isnan(x))))


def searchsorted(a, v, side="left", sorter=None):
    """Where each v would go in the sorted 1-D ``a`` to keep it sorted: the count of a's elements
    before it ('left') or not after it ('right'), NaN last; int64."""
    if _none_traced(a, v):
        return _rewrap(np.asarray(np.searchsorted(_plain(a), _plain(v), side, sorter), np.int64), v)
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', not {side!r}")
    if ndim(a) != 1:
        raise ValueError("searchsorted: a must be 1-D")
    if sorter is not None:
        a = take(a, sorter)
    column = reshape(a, (shape(a)[0],) + (1,) * ndim(v))
    counted = _before(column, v) if side == "left" else logical_not(_before(v, column))
    return sum(counted, axis=0)


def digitize(x, bins, right=False):
    """The index of the bin each x falls in (NumPy's ``digitize``; ``bins`` constant and monotonic)."""
    if _none_traced(x, bins):
        return _rewrap(np.asarray(np.digitize(_plain(x), _plain(bins), right), np.int64), x)
    edges = _constant("digitize", bins, "bins")
    steps = np.diff(edges)
    side = "left" if right else "right"
    if np.all(steps >= 0):
        return searchsorted(edges, x, side)
    if np.all(steps <= 0):
        return edges.size - searchsorted(edges[::-1], x, side)
    raise ValueError("digitize: bins must be monotonically increasing or decreasing")


def _along(arr, axis):
    """(arr, axis): the flattened array along 0 when ``axis`` is None."""
    return (ravel(arr), 0) if axis is None else (arr, axis % builtins.max(ndim(arr), 1))


def delete(arr, obj, axis=None):
    """``arr`` without the entries at the constant positions ``obj`` (an index, slice or list) along
    ``axis`` (of the flattened array when None)."""
    if _none_traced(arr):
        return _rewrap(np.delete(_plain(arr), obj, axis), arr)
    arr, axis = _along(arr, axis)
    keep = np.ones(shape(arr)[axis], dtype=bool)
    keep[obj if isinstance(obj, slice) else _constant("delete", obj, "obj")] = False
    return take(arr, np.flatnonzero(keep), axis=axis)


def compress(condition, a, axis=None):
    """The slices of ``a`` along ``axis`` where the constant ``condition`` is true."""
    if _none_traced(condition, a):
        return _rewrap(np.compress(_plain(condition), _plain(a), axis), a)
    a, axis = _along(a, axis)
    return take(a, np.flatnonzero(_constant("compress", condition, "condition")), axis=axis)


def extract(condition, arr):
    """The elements of ``arr`` where the constant ``condition`` is true, flattened."""
    if _none_traced(condition, arr):
        return _rewrap(np.extract(_plain(condition), _plain(arr)), arr)
    return take(ravel(arr), np.flatnonzero(_constant("extract", condition, "condition")))


def choose(a, choices, mode="raise"):
    """choices[a[i]][i] for each i (the choices broadcast against ``a``); ``mode`` 'wrap' or 'clip'
    for indices out of range, which 'raise' refuses (checked where ``a`` is constant)."""
    if _none_traced(a, *choices):
        return _rewrap(np.choose(_plain(a), [_plain(c) for c in choices], mode=mode), a)
    n = len(choices)
    if mode == "wrap":
        a = remainder(a, n)
    elif mode == "clip":
        a = clip(a, 0, n - 1)
    elif not trace.is_traced(a) and np.any((np.asarray(a) < 0) | (np.asarray(a) >= n)):
        raise ValueError("choose: invalid entry in choice array")
    out = choices[n - 1]
    for k in range(n - 2, -1, -1):
        out = where(equal(a, k), choices[k], out)
    return out


def piecewise(x, condlist, funclist, *args, **kw):
    """funclist[k](x) where condlist[k] holds (the last condition that holds wins), in x's type;
    one more function than conditions is the default where none holds (NumPy's ``piecewise``)."""
    if _none_traced(x, *condlist) and not any(trace.is_traced(f) for f in funclist):
        return _rewrap(np.piecewise(_plain(x), [_plain(c) for c in condlist], funclist, *args, **kw), x)
    conditions = list(condlist)
    if len(funclist) == len(conditions) + 1:
        held = conditions[0]
        for c in conditions[1:]:
            held = logical_or(held, c)
        conditions.append(logical_not(held))
    elif len(funclist) != len(conditions):
        raise ValueError(f"piecewise: {len(conditions)} conditions need {len(conditions)} or "
                         f"{len(conditions) + 1} functions, not {len(funclist)}")
    out = multiply(x, False)  # NumPy starts from zeros_like(x)
    for condition, f in zip(conditions, funclist):
        value = f(x, *args, **kw) if callable(f) else f
        out = where(condition, astype(value, dtype_of(x)), out)
    return out


def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    """func1d applied to each 1-D slice along ``axis``; its result's axes take that axis's place."""
    if _none_traced(arr) and not any(trace.is_traced(a) for a in args):
        return _rewrap(np.apply_along_axis(func1d, axis, _plain(arr), *args, **kwargs), arr)
    axis %= ndim(arr)
    moved = moveaxis(arr, axis, -1)
    kept = shape(moved)[:-1]
    results = [func1d(moved[index], *args, **kwargs) for index in np.ndindex(*kept)]
    out = reshape(stack(results), kept + shape(results[0]))
    extra = tuple(range(ndim(results[0])))
    return moveaxis(out, tuple(len(kept) + k for k in extra), tuple(axis + k for k in extra)) if extra else out


def resize(a, new_shape):
    """An array of ``new_shape`` filled with ``a``'s elements, repeated as often as needed."""
    if _none_traced(a):
        return _rewrap(np.resize(_plain(a), new_shape), a)
    new_shape = (new_shape,) if isinstance(new_shape, (int, np.integer)) else tuple(new_shape)
    flat = ravel(a)
    total = int(np.prod(new_shape, dtype=np.int64))
    return reshape(take(flat, np.arange(total) % shape(flat)[0]), new_shape)


def indices(dimensions, dtype=int, sparse=False):
    """The index of each position of a grid of ``dimensions``, per axis (a constant)."""
    out = np.indices(dimensions, dtype, sparse)
    return tuple(o.view(Array) for o in out) if sparse else out.view(Array)


def unravel_index(indices, shape, order="C"):
    """Flat indices into ``shape`` as a tuple of coordinate arrays (row-major, or 'F')."""
    if _none_traced(indices):
        return tuple(np.asarray(i).view(Array) for i in np.unravel_index(_plain(indices), shape, order))
    dims = list(shape) if order == "C" else list(shape)[::-1]
    coordinates = []
    rest = astype(indices, np.int64)
    for d in reversed(dims):
        coordinates.append(remainder(rest, d))
        rest = floor_divide(rest, d)
    return tuple(coordinates[::-1]) if order == "C" else tuple(coordinates)


def ravel_multi_index(multi_index, dims, mode="raise", order="C"):
    """Coordinate arrays into ``dims`` as flat indices (row-major, or 'F'); ``mode`` 'wrap' or 'clip'
    for coordinates out of range."""
    if _none_traced(*multi_index):
        return _rewrap(np.asarray(np.ravel_multi_index([_plain(i) for i in multi_index], dims, mode, order)),
                       multi_index[0])
    dims = tuple(dims)
    strides = np.cumprod((1,) + dims[::-1][:-1])[::-1] if order == "C" else np.cumprod((1,) + dims[:-1])
    flat = 0
    for coordinate, d, stride in zip(multi_index, dims, strides):
        coordinate = astype(coordinate, np.int64)
        if mode == "wrap":
            coordinate = remainder(coordinate, d)
        elif mode == "clip":
            coordinate = clip(coordinate, 0, d - 1)
        flat = coordinate * int(stride) + flat
    return flat


def insert(arr, obj, values, axis=None):
    """``arr`` with ``values`` inserted before the constant positions ``obj`` along ``axis`` (of the
    flattened array when None), by NumPy's rules for how values fill the new slots: NumPy's own
    ``insert`` lays out where each element of the result comes from."""
    if _none_traced(arr, values):
        return _rewrap(np.insert(_plain(arr), obj, _plain(values), axis), arr)
    obj = obj if isinstance(obj, slice) else _constant("insert", obj, "obj")
    size, count = int(np.prod(shape(arr))), int(np.prod(shape(values)))
    sources = np.arange(size).reshape(shape(arr))  # ≥ 0: from arr, < 0: from values
    layout = np.insert(sources, obj, -1 - np.arange(count).reshape(shape(values)), axis)
    from_arr = take(ravel(arr), np.maximum(layout, 0)) if size else None
    from_values = take(astype(ravel(values), dtype_of(arr)), np.maximum(-1 - layout, 0)) if count else None
    if from_arr is None or from_values is None:
        return from_arr if from_values is None else from_values
    return where(layout >= 0, from_arr, from_values)


def isin(element, test_elements, assume_unique=False, invert=False, *, kind=None):
    """Whether each element equals one of ``test_elements`` (any shape, flattened), as bools."""
    if _none_traced(element, test_elements):
        return _rewrap(np.isin(_plain(element), _plain(test_elements), assume_unique=assume_unique,
                               invert=invert, kind=kind), element)
    tests = ravel(test_elements)
    found = any_(equal(reshape(element, tuple(shape(element)) + (1,)), tests), axis=-1)
    return logical_not(found) if invert else found


def bincount(x, weights=None, minlength=0, *, length=None):
    """How often each value 0, 1, … occurs in the 1-D non-negative integers ``x`` (summing
    ``weights`` instead of ones). Constant ``x`` decides the length as NumPy does; a traced one
    needs ``length`` (as in JAX), and values at or past it are dropped."""
    if _none_traced(x, weights):
        counts = np.bincount(_plain(x), None if weights is None else _plain(weights),
                             minlength if length is None else length)
        return _rewrap(counts if length is None else counts[:length], x)
    if ndim(x) != 1:
        raise ValueError("bincount: x must be 1-D")
    if trace.is_traced(x) and length is None:
        raise TypeError("bincount: a traced x needs length= (the result's length cannot depend on its values)")
    if weights is not None and dtype_of(weights).kind == "c":
        raise TypeError("bincount: complex weights cannot be summed as float64 (NumPy refuses them too)")
    counts = ones_like(x, dtype=np.int64) if weights is None else astype(weights, np.float64)
    if not trace.is_traced(x):  # a scatter of the weights to the constant positions
        x = np.asarray(_plain(x)).astype(np.int64)
        if x.size and x.min() < 0:
            raise ValueError("bincount: x must not be negative")
        length = builtins.max(minlength, int(x.max()) + 1 if x.size else 0) if length is None else length
        kept = np.flatnonzero(x < length)
        return Tracer(ops.scatter_add(_node(take(counts, kept)), ops.const(x[kept]), 0, length))
    hits = equal(reshape(x, (shape(x)[0], 1)), np.arange(length))
    return sum(where(hits, reshape(counts, (shape(x)[0], 1)), False), axis=0, dtype=dtype_of(counts))
