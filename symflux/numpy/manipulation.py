"""Array manipulation and indexing: reshape, transpose, concatenate, slicing and index arrays, …"""

from __future__ import annotations

import builtins

import numpy as np

from .. import ops, trace
from ..array import Array, Tracer, TracingError
from ._base import _node, _plain, _rewrap


def _shape_with_inferred(shape, size):
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if -1 in shape:
        known = ops.prod([d for d in shape if d != -1])
        shape = tuple(size // known if d == -1 else d for d in shape)
    return shape


def reshape(x, shape):
    """reshape(x, shape), row-major; one dimension may be -1."""
    if not trace.is_traced(x):
        return _rewrap(np.reshape(_plain(x), shape), x)
    node = _node(x)
    return Tracer(ops.reshape(node, _shape_with_inferred(shape, ops.prod(node.shape))))


def transpose(x, axes=None):
    """transpose(x, axes=None): reverse the axes, or permute them as given."""
    if not trace.is_traced(x):
        return _rewrap(np.transpose(_plain(x), axes), x)
    node = _node(x)
    perm = tuple(reversed(range(node.ndim))) if axes is None else tuple(a % node.ndim for a in axes)
    return Tracer(ops.permute(node, perm))


def swapaxes(a, axis1, axis2):
    n = a.ndim if trace.is_traced(a) else np.ndim(a)
    perm = list(range(n))
    perm[axis1], perm[axis2] = perm[axis2], perm[axis1]
    return transpose(a, perm)


def moveaxis(x, source, destination):
    n = x.ndim if trace.is_traced(x) else np.ndim(x)
    perm = [i for i in range(n) if i != source % n]
    perm.insert(destination % n, source % n)
    return transpose(x, perm)


def squeeze(x, axis=None):
    shape = x.shape if trace.is_traced(x) else np.shape(x)
    axes = [i for i, d in enumerate(shape) if d == 1] if axis is None else ops.normalize_axes(axis, len(shape))
    for a in axes:
        if shape[a] != 1:
            raise ops.ShapeError(f"cannot squeeze axis {a} of shape {ops.fmt_shape(shape)}: its size is not 1")
    return reshape(x, tuple(d for i, d in enumerate(shape) if i not in axes))


def expand_dims(x, axis):
    shape = list(x.shape if trace.is_traced(x) else np.shape(x))
    for a in sorted(ops.normalize_axes(axis, len(shape) + len(np.atleast_1d(axis)))):
        shape.insert(a, 1)
    return reshape(x, tuple(shape))


def broadcast_to(x, shape):
    if not trace.is_traced(x):
        return _rewrap(np.broadcast_to(_plain(x), shape), x)
    return Tracer(ops.expand(_node(x), tuple(shape)))


def concatenate(xs, axis=0):
    """concatenate(xs, axis=0), differentiable with respect to every piece."""
    xs = list(xs)
    if not trace.any_traced(xs):
        return _rewrap(np.concatenate([_plain(x) for x in xs], axis=axis), xs[0])
    if axis is None:
        xs, axis = [reshape(x, (-1,)) for x in xs], 0
    nodes = [_node(x) for x in xs]
    return Tracer(ops.concat(nodes, axis % nodes[0].ndim))


def stack(xs, axis=0):
    xs = list(xs)
    if not trace.any_traced(xs):
        return _rewrap(np.stack([_plain(x) for x in xs], axis=axis), xs[0])
    return concatenate([expand_dims(x, axis) for x in xs], axis=axis)


def flip(x, axis=None):
    shape = x.shape if trace.is_traced(x) else np.shape(x)
    axes = ops.normalize_axes(axis, len(shape))
    index = tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(len(shape)))
    return getitem(x, index)


def ravel(x):
    return reshape(x, (-1,))


def _is_index_array(k) -> bool:
    return isinstance(k, (list, np.ndarray, Array)) and not isinstance(k, np.generic)


def _check_adjacent_advanced(key):
    """NumPy moves the result axes of non-adjacent integer/array indices to the front; we don't."""
    positions = [i for i, k in enumerate(key) if _is_index_array(k) or isinstance(k, (int, np.integer))]
    if positions != list(range(positions[0], positions[-1] + 1)):
        raise IndexError("an index array separated from integer indices by a slice is not supported "
                         "on traced arrays; index in two steps")


def getitem(x, key):
    """NumPy basic indexing plus one integer (or boolean) index array."""
    if not isinstance(key, tuple):
        key = (key,)
    if builtins.any(trace.is_traced(k) for k in key):
        raise TracingError("indexing with a traced array is not supported; use sf.where with a mask")
    if not trace.is_traced(x):
        return _rewrap(_plain(x)[key], x)
    node = _node(x)
    specified = builtins.sum(1 for k in key if k is not None and k is not Ellipsis)
    if specified > node.ndim:
        raise IndexError(f"too many indices ({specified}) for an array of shape {ops.fmt_shape(node.shape)}")
    at = next((i for i, k in enumerate(key) if k is Ellipsis), len(key))
    key = key[:at] + (slice(None),) * (node.ndim - specified) + key[at + 1:]
    slices, out_shape, advanced, axis = [], [], None, 0
    for k in key:
        if k is None:
            out_shape.append(1)
            continue
        dim = node.shape[axis]
        if isinstance(k, slice):
            s = k.indices(dim)
            slices.append(s)
            out_shape.append(ops.slice_length(*s))
        elif _is_index_array(k):
            idx = np.asarray(k)
            if idx.dtype == bool:
                idx = np.nonzero(idx)[0]
            if advanced is not None:
                raise IndexError("only one index array is supported on traced arrays")
            idx = np.where(idx < 0, idx + dim, idx).astype(np.int64)
            if idx.size and (idx.min() < 0 or idx.max() >= dim):
                raise IndexError(f"index out of bounds for axis {axis} with size {dim}")
            advanced = (axis, idx, len(out_shape))
            slices.append((0, dim, 1))
            out_shape.extend(idx.shape)
        else:
            i = int(k)
            if not -dim <= i < dim:
                raise IndexError(f"index {i} is out of bounds for axis {axis} with size {dim}")
            i %= dim
            slices.append((i, i + 1, 1))
        axis += 1
    result = ops.slice_(node, slices)
    if advanced is not None:
        _check_adjacent_advanced(key)
        result = ops.take(result, ops.const(advanced[1]), advanced[0])
    return Tracer(ops.reshape(result, tuple(out_shape)))
