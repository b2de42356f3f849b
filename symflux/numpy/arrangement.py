"""Joining, splitting, tiling, padding and rearranging arrays, diagonals and triangles, selecting
by index: NumPy's functions of these kinds, differentiable. Each is NumPy itself on plain values,
and built from slicing, ``take``, concatenation and elementwise selection on traced ones."""

from __future__ import annotations

import builtins

import numpy as np

from .. import ops
from .. import trace as tracing
from ..array import Tracer
from ..ir import Node
from ._base import _node, _plain, _rewrap, ndim, shape
from .elementwise import clip, remainder, where
from .manipulation import concatenate, flat_positions, flip, getitem, moveaxis, positions, reshape, transpose
from .reductions import sum


def _any_traced(*values) -> bool:
    return tracing.any_traced([v for value in values for v in (value if isinstance(value, (list, tuple)) else [value])])


# -- dimensions -----------------------------------------------------------------------------------

def atleast_1d(*arys):
    """Each argument with at least one dimension (a list when there are several)."""
    out = [reshape(a, (1,)) if ndim(a) == 0 else a for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arys):
    """(N,) → (1, N); scalars → (1, 1)."""
    out = [reshape(a, (1,) * (2 - ndim(a)) + tuple(shape(a))) if ndim(a) < 2 else a for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_3d(*arys):
    """(N,) → (1, N, 1); (M, N) → (M, N, 1); scalars → (1, 1, 1)."""
    def lift(a):
        s = tuple(shape(a))
        return reshape(a, {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}.get(len(s), s))
    out = [lift(a) for a in arys]
    return out[0] if len(out) == 1 else out


# -- joining and splitting --------------------------------------------------------------------------

def hstack(tup):
    """Join along the second axis (the first for 1-D arrays)."""
    arrays = [atleast_1d(a) for a in tup]
    return concatenate(arrays, axis=0 if ndim(arrays[0]) == 1 else 1)


def vstack(tup):
    """Join along the first axis (1-D arrays become rows)."""
    return concatenate([atleast_2d(a) for a in tup], axis=0)


row_stack = vstack


def dstack(tup):
    """Join along the third axis (arrays lifted to 3-D first)."""
    return concatenate([atleast_3d(a) for a in tup], axis=2)


def column_stack(tup):
    """1-D arrays become columns; 2-D arrays are stacked as they are."""
    return concatenate([reshape(a, (-1, 1)) if ndim(a) < 2 else a for a in tup], axis=1)


def append(arr, values, axis=None):
    """``values`` appended to ``arr`` along ``axis`` (both flattened when None)."""
    if axis is None:
        return concatenate([reshape(arr, (-1,)), reshape(values, (-1,))], axis=0)
    return concatenate([arr, values], axis=axis)


def _split_points(length, indices_or_sections, even: bool):
    if isinstance(indices_or_sections, (int, np.integer)):
        n = int(indices_or_sections)
        if n <= 0:
            raise ValueError("number of sections must be larger than 0")
        if even and length % n:
            raise ValueError("array split does not result in an equal division")
        base, extra = divmod(length, n)
        sizes = [base + 1] * extra + [base] * (n - extra)
        return list(np.cumsum([0] + sizes))
    return [0] + [builtins.min(builtins.max(int(i) if i >= 0 else length + int(i), 0), length)
                  for i in indices_or_sections] + [length]


def array_split(ary, indices_or_sections, axis=0):
    """Split into sub-arrays along ``axis`` (sections need not be equal)."""
    if not _any_traced(ary):
        return [_rewrap(p, ary) for p in np.array_split(_plain(ary), indices_or_sections, axis)]
    s = tuple(shape(ary))
    axis %= len(s)
    points = _split_points(s[axis], indices_or_sections, even=False)
    lead = (slice(None),) * axis
    return [getitem(ary, lead + (slice(lo, builtins.max(lo, hi)),)) for lo, hi in zip(points[:-1], points[1:])]


def split(ary, indices_or_sections, axis=0):
    """Like ``array_split``, but a number of sections must divide the axis."""
    _split_points(shape(ary)[axis], indices_or_sections, even=True)
    return array_split(ary, indices_or_sections, axis)


def hsplit(ary, indices_or_sections):
    return split(ary, indices_or_sections, axis=1 if ndim(ary) > 1 else 0)


def vsplit(ary, indices_or_sections):
    return split(ary, indices_or_sections, axis=0)


def dsplit(ary, indices_or_sections):
    return split(ary, indices_or_sections, axis=2)


# -- tiling, padding, rolling ------------------------------------------------------------------------

def take(a, indices, axis=None, out=None, mode="raise"):
    """``a``'s elements at ``indices`` along ``axis`` (the flattened array when None). ``mode`` 'wrap'
    and 'clip' bring indices into range as NumPy's; traced indices gather, clamped into range."""
    if not _any_traced(a) and not tracing.is_traced(indices):
        return _rewrap(np.take(_plain(a), indices, axis=axis, out=out, mode=mode), a)
    if out is not None:
        raise TypeError("take: out= would modify an array in place, which tracing cannot record")
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    node = _node(a)
    axis %= node.ndim
    n = node.shape[axis]
    if mode == "wrap" and n:
        indices = remainder(indices, n)
    elif mode == "clip" and n:
        indices = clip(indices, 0, n - 1)
    idx = positions(indices, axis, n)
    return Tracer(ops.take(node, idx if isinstance(idx, Node) else ops.const(idx), axis))


def take_along_axis(arr, indices, axis):
    """``numpy.take_along_axis``: ``arr``'s values at ``indices`` along ``axis`` (the other axes
    broadcast); traced indices gather, clamped into range."""
    if not _any_traced(arr) and not tracing.is_traced(indices):
        return _rewrap(np.take_along_axis(_plain(arr), np.asarray(indices), axis), arr)
    s = tuple(shape(arr))
    if axis is None:
        return take_along_axis(reshape(arr, (-1,)), indices, 0)
    if ndim(indices) != len(s):
        raise ValueError("take_along_axis: `indices` and `arr` must have the same number of dimensions")
    axis %= len(s)
    index = [positions(indices, axis, s[axis]) if k == axis else
             np.arange(d).reshape([-1 if j == k else 1 for j in range(len(s))]) for k, d in enumerate(s)]
    return Tracer(ops.take(ops.reshape(_node(arr), (ops.prod(s),)), flat_positions(index, s), 0))


def tile(A, reps):
    """``A`` repeated ``reps`` times along each axis."""
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
    if not _any_traced(A):
        return _rewrap(np.tile(_plain(A), reps), A)
    s = tuple(shape(A))
    d = builtins.max(len(s), len(reps))
    s, reps = (1,) * (d - len(s)) + s, (1,) * (d - len(reps)) + reps
    spread = ops.expand(ops.reshape(_node(A), tuple(x for n in s for x in (1, n))),
                        tuple(x for r, n in zip(reps, s) for x in (r, n)))
    return Tracer(ops.reshape(spread, tuple(r * n for r, n in zip(reps, s))))


def repeat(a, repeats, axis=None):
    """Each element of ``a`` repeated ``repeats`` times (a count per element allowed)."""
    if not _any_traced(a):
        return _rewrap(np.repeat(_plain(a), repeats, axis=axis), a)
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    axis %= ndim(a)
    return take(a, np.repeat(np.arange(shape(a)[axis]), repeats), axis=axis)


def pad(array, pad_width, mode="constant", constant_values=0):
    """``numpy.pad`` in the modes constant, edge, reflect, symmetric and wrap."""
    if not _any_traced(array):
        kw = {"constant_values": constant_values} if mode == "constant" else {}
        return _rewrap(np.pad(_plain(array), pad_width, mode=mode, **kw), array)
    s = tuple(shape(array))
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (len(s), 2))
    out = array
    for axis, (lo, hi) in enumerate(widths):
        if not lo and not hi:
            continue
        if mode == "constant":
            now, dtype = tuple(shape(out)), _node(out).dtype
            side = lambda n: np.full(now[:axis] + (n,) + now[axis + 1:], constant_values, dtype)  # noqa: E731
            out = concatenate([side(lo), out, side(hi)], axis=axis)
        elif mode in ("edge", "reflect", "symmetric", "wrap"):
            out = take(out, np.pad(np.arange(s[axis]), (lo, hi), mode=mode), axis=axis)
        else:
            raise ValueError(f"pad: mode {mode!r} is not supported on traced arrays "
                             "(constant, edge, reflect, symmetric and wrap are)")
    return out


def roll(a, shift, axis=None):
    """``a`` rotated by ``shift`` along ``axis`` (the flattened array when None)."""
    if not _any_traced(a):
        return _rewrap(np.roll(_plain(a), shift, axis=axis), a)
    if axis is None:
        return reshape(roll(reshape(a, (-1,)), shift, 0), tuple(shape(a)))
    shifts, axes = np.broadcast_arrays(np.atleast_1d(shift), np.atleast_1d(axis))
    for k, ax in zip(shifts, axes):
        n = shape(a)[ax]
        a = take(a, (np.arange(n) - int(k)) % n, axis=int(ax)) if n else a
    return a


def rollaxis(a, axis, start=0):
    """``numpy.rollaxis``: move ``axis`` until it lies before ``start``."""
    n = ndim(a)
    axis, start = axis % n, start + n if start < 0 else start
    if axis < start:
        start -= 1
    return moveaxis(a, axis, start) if axis != start else a


def fliplr(m):
    """``m`` reversed along its second axis."""
    return flip(m, 1)


def flipud(m):
    """``m`` reversed along its first axis."""
    return flip(m, 0)


def rot90(m, k=1, axes=(0, 1)):
    """Rotate by 90° k times in the plane of ``axes`` (from the first axis towards the second)."""
    k %= 4
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, axes[0]), axes[1])
    perm = list(range(ndim(m)))
    perm[axes[0]], perm[axes[1]] = perm[axes[1]], perm[axes[0]]
    return transpose(flip(m, axes[1]), perm) if k == 1 else flip(transpose(m, perm), axes[1])


# -- diagonals and triangles --------------------------------------------------------------------------

def diagonal(a, offset=0, axis1=0, axis2=1):
    """The diagonal of the (axis1, axis2) planes, as the last axis (NumPy's layout)."""
    if not _any_traced(a):
        return _rewrap(np.diagonal(_plain(a), offset, axis1, axis2), a)
    n = ndim(a)
    axis1, axis2 = axis1 % n, axis2 % n
    rest = [i for i in range(n) if i not in (axis1, axis2)]
    moved = transpose(a, rest + [axis1, axis2])
    rows, cols = shape(a)[axis1], shape(a)[axis2]
    i = np.arange(builtins.max(0, builtins.min(rows + builtins.min(offset, 0), cols - builtins.max(offset, 0))))
    flat = (i - builtins.min(offset, 0)) * cols + (i + builtins.max(offset, 0))
    return take(reshape(moved, tuple(shape(moved))[:-2] + (rows * cols,)), flat, axis=-1)


def diag(v, k=0):
    """A 1-D array's square matrix with it on diagonal k; a 2-D array's diagonal k."""
    if not _any_traced(v):
        return _rewrap(np.diag(_plain(v), k), v)
    if ndim(v) == 2:
        return diagonal(v, k)
    if ndim(v) != 1:
        raise ValueError("diag: the input must be 1-D or 2-D")
    n = shape(v)[0] + abs(k)
    i = np.arange(shape(v)[0])
    flat = (i + builtins.max(-k, 0)) * n + i + builtins.max(k, 0)
    return Tracer(ops.reshape(ops.scatter_add(_node(v), ops.const(flat), 0, n * n), (n, n)))


def diagflat(v, k=0):
    """A square matrix with the flattened ``v`` on diagonal ``k``."""
    if not _any_traced(v):
        return _rewrap(np.diagflat(_plain(v), k), v)
    return diag(reshape(v, (-1,)), k)


def trace(a, offset=0, axis1=0, axis2=1):
    """The sum along diagonal ``offset`` of the (axis1, axis2) planes."""
    return sum(diagonal(a, offset, axis1, axis2), axis=-1)


def tril(m, k=0):
    """Zeros above diagonal k (over the last two axes), in ``m``'s type (False is weakly typed)."""
    rows, cols = tuple(shape(m))[-2:]
    if not _any_traced(m):
        return _rewrap(np.tril(_plain(m), k), m)
    return where(np.tri(rows, cols, k, dtype=bool), m, False)


def triu(m, k=0):
    """Zeros below diagonal k (over the last two axes), in ``m``'s type (False is weakly typed)."""
    rows, cols = tuple(shape(m))[-2:]
    if not _any_traced(m):
        return _rewrap(np.triu(_plain(m), k), m)
    return where(~np.tri(rows, cols, k - 1, dtype=bool), m, False)


def select(condlist, choicelist, default=0):
    """The first choice whose condition holds, elementwise; ``default`` where none does."""
    if len(condlist) != len(choicelist):
        raise ValueError("select: list of cases must be same length as list of conditions")
    out = default
    for cond, choice in reversed(list(zip(condlist, choicelist))):
        out = where(cond, choice, out)
    return out


# -- index tricks ------------------------------------------------------------------------------------------

class _Concatenator:
    """``sf.r_`` / ``sf.c_``: NumPy's index tricks on traced values (``np.r_`` converts its items
    with ``np.array``, which a traced value cannot do)."""

    def __init__(self, axis, columns):
        self.axis, self.columns = axis, columns

    def __getitem__(self, items):
        items = items if isinstance(items, tuple) else (items,)
        arrays = []
        for item in items:
            if isinstance(item, slice):
                item = np.arange(item.start or 0, item.stop, item.step or 1)
            item = atleast_1d(item)
            arrays.append(reshape(item, (-1, 1)) if self.columns and ndim(item) == 1 else item)
        return concatenate(arrays, axis=self.axis)


r_ = _Concatenator(0, False)
c_ = _Concatenator(1, True)
