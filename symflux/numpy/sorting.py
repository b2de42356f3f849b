"""Sorting and searching: sort, argsort, partition, argmax, argmin.

On traced values these are built from comparisons, so every path (interpreter, compiled, CUDA)
runs them and ``sort`` is differentiable (its derivative routes each cotangent back to the element
that landed there). An element's rank is the number of elements before it in the sorted order —
smaller ones, and equal ones earlier in the array (a stable sort), NaN last as in NumPy — so a sort
costs n² comparisons along its axis: meant for the short axes of models, not for big data.
"""

from __future__ import annotations

import numpy as np
import sympy

from .. import functions as fn
from .. import ops, trace
from ..array import Tracer
from ..ir import ARG
from ._base import _node, _plain, _rewrap
from .manipulation import moveaxis, reshape


def _is_nan(v):
    return sympy.Ne(fn.isnan(v), 0)


def _ranks(x):
    """Each element's position in the stable, NaN-last sorted order along the last axis (int64)."""
    n = x.shape[-1]
    earlier = ops.const(np.tri(n, n, -1, dtype=bool).T)  # [k, j]: k < j
    a, b, k_before_j = ARG[0], ARG[1], ARG[2]  # a = x_j (…, 1, n), b = x_k (…, n, 1)
    smaller = sympy.Or(b < a, sympy.And(_is_nan(a), sympy.Not(_is_nan(b))))
    tie = sympy.Or(sympy.Eq(a, b), sympy.And(_is_nan(a), _is_nan(b)))
    before = sympy.Piecewise((1, sympy.Or(smaller, sympy.And(tie, fn.truth(k_before_j)))), (0, True))
    x = ops.compared(x)  # each pair compares the same bits both ways round
    counts = ops.map_(before, [ops.reshape(x, x.shape[:-1] + (1, n)), ops.reshape(x, x.shape[:-1] + (n, 1)),
                               earlier], dtype=np.dtype(np.int64))
    return ops.reduce("sum", counts, [x.ndim - 1])  # (…, n): rank of element j


def _placed(values, ranks):
    """out[…, i] = the value whose rank is i (``values`` may be the elements or their indices)."""
    n = ranks.shape[-1]
    slots = ops.const(np.arange(n))
    lands = ops.map_(sympy.Piecewise((ARG[0], sympy.Eq(ARG[1], ARG[2])), (0, True)),
                     [ops.reshape(values, values.shape + (1,)), ops.reshape(ranks, ranks.shape + (1,)), slots],
                     dtype=values.dtype)  # not promoted with the 0: uint64 with int64 would be float64
    return ops.reduce("sum", lands, [values.ndim - 1]) if values.dtype.kind in "fc" else \
        ops.cast(ops.reduce("sum", lands, [values.ndim - 1]), values.dtype)


def sort(a, axis=-1, kind=None, order=None):
    """The sorted array (NaN last), stable; differentiable with respect to ``a``."""
    if not trace.is_traced(a):
        return _rewrap(np.sort(_plain(a), axis=axis, kind=kind, order=order), a)
    if axis is None:
        return Tracer(_sorted(_node(reshape(a, (-1,)))))
    return moveaxis(Tracer(_sorted(_node(moveaxis(a, axis, -1)))), -1, axis)


def _sorted(x):
    return _placed(x, _ranks(x)) if x.shape[-1] else x


def argsort(a, axis=-1, kind=None, order=None):
    """The indices that sort ``a`` (stable, NaN last); int64, without a derivative."""
    if not trace.is_traced(a):
        return _rewrap(np.argsort(_plain(a), axis=axis, kind="stable" if kind is None else kind, order=order), a)
    if axis is None:
        return Tracer(_order(_node(reshape(a, (-1,)))))
    return moveaxis(Tracer(_order(_node(moveaxis(a, axis, -1)))), -1, axis)


def _order(x):
    n = x.shape[-1]
    indices = ops.expand(ops.const(np.arange(n, dtype=np.int64)), x.shape)
    return _placed(indices, _ranks(x))


def partition(a, kth, axis=-1, kind="introselect", order=None):
    """An array whose element ``kth`` is where sorting would put it, smaller ones before and larger
    after (here: the sorted array, which is such a partition)."""
    if not trace.is_traced(a):
        return _rewrap(np.partition(_plain(a), kth, axis=axis, kind=kind, order=order), a)
    return sort(a, axis=axis)


def argpartition(a, kth, axis=-1, kind="introselect", order=None):
    """Indices that partition ``a`` around its ``kth`` element (here: the stable sorting order,
    which is such a partition); int64, without a derivative."""
    if not trace.is_traced(a):
        return _rewrap(np.argpartition(_plain(a), kth, axis=axis, kind=kind, order=order), a)
    return argsort(a, axis=axis)


def sort_complex(a):
    """``a`` as complex numbers sorted by real part, then imaginary part (NumPy's ``sort_complex``)."""
    if not trace.is_traced(a):
        return _rewrap(np.sort_complex(_plain(a)), a)
    return sort(Tracer(ops.cast(_node(a), np.sort_complex(np.empty(0, a.dtype)).dtype)))


def _arg_extremum(kind, a, axis, keepdims):
    if not trace.is_traced(a):
        f = np.argmax if kind == "max" else np.argmin
        return _rewrap(f(_plain(a), axis=axis, keepdims=keepdims), a)
    shape = tuple(a.shape)
    x = _node(reshape(a, (-1,)) if axis is None else moveaxis(a, axis, -1))
    x = ops.compared(x)
    n = x.shape[-1]
    if n == 0:
        raise ValueError(f"attempt to get arg{kind} of an empty sequence")
    best = ops.reshape(ops.reduce(kind, x, [x.ndim - 1]), x.shape[:-1] + (1,))
    # the first index holding the extremum, or the first NaN (NumPy)
    hit = ops.map_(sympy.Piecewise((ARG[2], sympy.Or(sympy.Eq(ARG[0], ARG[1]), _is_nan(ARG[0]))), (n, True)),
                   [x, best, ops.const(np.arange(n, dtype=np.int64))], dtype=np.dtype(np.int64))
    index = ops.reduce("min", hit, [x.ndim - 1])
    if keepdims:
        kept = tuple(1 for _ in shape) if axis is None else tuple(1 if i == axis % len(shape) else d
                                                                   for i, d in enumerate(shape))
        index = ops.reshape(index, kept)
    return Tracer(index)


def argmax(a, axis=None, out=None, keepdims=False):
    """The index of the first maximum (or first NaN), over the flattened array when axis is None."""
    return _arg_extremum("max", a, axis, keepdims)


def argmin(a, axis=None, out=None, keepdims=False):
    """The index of the first minimum (or first NaN), over the flattened array when axis is None."""
    return _arg_extremum("min", a, axis, keepdims)
