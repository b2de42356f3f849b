"""Array manipulation and indexing: reshape, transpose, concatenate, slicing and index arrays, …"""

from __future__ import annotations

import builtins

import numpy as np
import sympy

from .. import ops, trace
from ..array import Array, Tracer, TracingError
from ..ir import ARG, Node
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
    """``a`` with axes axis1 and axis2 exchanged."""
    n = a.ndim if trace.is_traced(a) else np.ndim(a)
    perm = list(range(n))
    perm[axis1], perm[axis2] = perm[axis2], perm[axis1]
    return transpose(a, perm)


def moveaxis(x, source, destination):
    """``x`` with axis ``source`` moved to position ``destination`` (or each of a sequence of axes
    to its own position, the others keeping their order), as NumPy's ``moveaxis``."""
    n = x.ndim if trace.is_traced(x) else np.ndim(x)
    sources = [s % n for s in np.atleast_1d(source)]
    destinations = [d % n for d in np.atleast_1d(destination)]
    if len(sources) != len(destinations) or len(set(sources)) < len(sources):
        raise ValueError(f"moveaxis: source {source} and destination {destination} must name as many distinct axes")
    perm = [i for i in range(n) if i not in sources]
    for d, s in sorted(zip(destinations, sources)):
        perm.insert(d, s)
    return transpose(x, perm)


def squeeze(x, axis=None):
    """``x`` without its axes of length one (or those named, which must have length one)."""
    shape = x.shape if trace.is_traced(x) else np.shape(x)
    axes = [i for i, d in enumerate(shape) if d == 1] if axis is None else ops.normalize_axes(axis, len(shape))
    for a in axes:
        if shape[a] != 1:
            raise ops.ShapeError(f"cannot squeeze axis {a} of shape {ops.fmt_shape(shape)}: its size is not 1")
    return reshape(x, tuple(d for i, d in enumerate(shape) if i not in axes))


def expand_dims(x, axis):
    """``x`` with new axes of length one at ``axis``."""
    shape = list(x.shape if trace.is_traced(x) else np.shape(x))
    for a in sorted(ops.normalize_axes(axis, len(shape) + len(np.atleast_1d(axis)))):
        shape.insert(a, 1)
    return reshape(x, tuple(shape))


def broadcast_to(x, shape):
    """``x`` broadcast to ``shape`` (NumPy's rules)."""
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
    """The arrays ``xs`` joined along a new axis."""
    xs = list(xs)
    if not trace.any_traced(xs):
        return _rewrap(np.stack([_plain(x) for x in xs], axis=axis), xs[0])
    return concatenate([expand_dims(x, axis) for x in xs], axis=axis)


def flip(x, axis=None):
    """``x`` reversed along ``axis`` (every axis when None)."""
    shape = x.shape if trace.is_traced(x) else np.shape(x)
    axes = ops.normalize_axes(axis, len(shape))
    index = tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(len(shape)))
    return getitem(x, index)


def ravel(x):
    return reshape(x, (-1,))


def _is_index_array(k) -> bool:
    return isinstance(k, (list, np.ndarray, Array, Tracer)) and not isinstance(k, np.generic)


def getitem(x, key):
    """NumPy indexing: basic (ints, slices, None, ...) and advanced with index arrays (ints or
    booleans, broadcast together), with NumPy's rule for where the indexed axes go: in place when
    the index arrays are adjacent, first otherwise. Traced integer index arrays gather (``positions``);
    a traced boolean mask would give a shape that depends on values, which tracing cannot."""
    if not isinstance(key, tuple):
        key = (key,)
    for k in key:
        if trace.is_traced(k) and _node(k).dtype.kind == "b":
            raise TracingError("indexing with a traced boolean mask is not supported (the result's shape would "
                               "depend on the values); use sf.where(mask, x, 0) or reductions with where=mask")
    if not trace.is_traced(x) and not builtins.any(trace.is_traced(k) for k in key):
        return _rewrap(_plain(x)[key], x)
    node = _node(x)
    key = _expanded_key(key, node)
    arrays = [i for i, k in enumerate(key) if _is_index_array(k)]
    if arrays:  # integers then index like arrays, broadcast with them
        key = tuple(np.asarray(k) if isinstance(k, (int, np.integer)) else k for k in key)
    slices, shape_out, advanced, axis = [], [], [], 0
    for k in key:
        if k is None:
            shape_out.append(1)
            continue
        dim = node.shape[axis]
        if isinstance(k, slice):
            s = k.indices(dim)
            slices.append(s)
            shape_out.append(ops.slice_length(*s))
        elif _is_index_array(k):
            slices.append((0, dim, 1))
            advanced.append((axis, positions(k, axis, dim), len(shape_out)))
            shape_out.append(None)  # where the broadcast index shape goes, if adjacent
        else:
            i = int(k)
            if not -dim <= i < dim:
                raise IndexError(f"index {i} is out of bounds for axis {axis} with size {dim}")
            slices.append((i % dim, i % dim + 1, 1))
        axis += 1
    result = ops.slice_(node, slices)
    if advanced:
        return Tracer(_advanced(result, advanced, shape_out))
    return Tracer(ops.reshape(result, tuple(d for d in shape_out if d is not None)))


def _expanded_key(key, node):
    """The key with ``...`` expanded and boolean arrays turned into their index arrays."""
    flat = []
    for k in key:
        if _is_index_array(k) and not trace.is_traced(k) and np.asarray(k).dtype == bool:
            flat.extend(np.nonzero(np.asarray(k)))
        else:
            flat.append(k)
    specified = builtins.sum(1 for k in flat if k is not None and k is not Ellipsis)
    if specified > node.ndim:
        raise IndexError(f"too many indices ({specified}) for an array of shape {ops.fmt_shape(node.shape)}")
    at = next((i for i, k in enumerate(flat) if k is Ellipsis), len(flat))
    return tuple(flat[:at]) + (slice(None),) * (node.ndim - specified) + tuple(flat[at + 1:])


def positions(idx, axis, dim):
    """An index array as positions along an axis of length ``dim``, negative ones counted from the
    end. Constant ones out of range raise NumPy's IndexError; traced ones cannot be checked while
    tracing, and are clamped into range instead (as JAX's gathers do), so no read leaves the array."""
    if not trace.is_traced(idx):
        idx = np.asarray(idx)
        if idx.dtype.kind not in "iub" and idx.size:
            raise IndexError("arrays used as indices must be of integer (or boolean) type")
        idx = np.where(idx < 0, idx + dim, idx).astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= dim):
            raise IndexError(f"index out of bounds for axis {axis} with size {dim}")
        return idx
    node = _node(idx)
    if node.dtype.kind not in "iu":
        raise IndexError(f"arrays used as indices must be of integer type, got a traced {node.dtype} array")
    if dim == 0 and node.size:
        raise IndexError(f"index out of bounds for axis {axis} with size 0")
    i = ARG[0]
    clamped = sympy.Piecewise((i + dim, (i < 0) & (i >= -dim)), (0, i < 0), (dim - 1, i >= dim), (i, True))
    return ops.map_(clamped, [ops.cast(node, np.int64)], dtype=np.dtype(np.int64))


def flat_positions(index, dims) -> Node:
    """Row-major positions over ``dims`` of the broadcast index arrays ``index`` (from ``positions``:
    constant arrays or traced nodes), as one int64 node."""
    if not builtins.any(isinstance(i, Node) for i in index):
        index = np.broadcast_arrays(*index)
        flat = np.ravel_multi_index(index, dims) if index[0].size else index[0]
        return ops.const(np.asarray(flat, dtype=np.int64))
    strides = [ops.prod(dims[k + 1:]) for k in range(len(dims))]
    body = sympy.Add(*[ARG[k] * s for k, s in enumerate(strides)])
    return ops.map_(body, [i if isinstance(i, Node) else ops.const(i) for i in index], dtype=np.dtype(np.int64))


def _advanced(node, advanced, shape_out):
    """Gather the advanced axes of (sliced) ``node`` with their broadcast index arrays."""
    axes = [a for a, _, _ in advanced]
    rest = [a for a in range(node.ndim) if a not in axes]
    moved = ops.permute(node, axes + rest)
    flat = ops.reshape(moved, (ops.prod([node.shape[a] for a in axes]),) + tuple(node.shape[a] for a in rest))
    positions = [p for _, _, p in advanced]
    flat_index = flat_positions([idx for _, idx, _ in advanced], [node.shape[a] for a in axes])
    gathered = ops.take(flat, flat_index, 0)  # (*B, *rest)
    b = flat_index.ndim
    if positions == list(range(positions[0], positions[0] + len(positions))):  # adjacent: B stays in place
        before = len([a for a in rest if a < axes[0]])
        perm = list(range(b, b + before)) + list(range(b)) + list(range(b + before, gathered.ndim))
        gathered = ops.permute(gathered, perm)
        target = [d for d in shape_out[:positions[0]]] + list(flat_index.shape) + \
            [d for d in shape_out[positions[0] + 1:] if d is not None]
    else:
        target = list(flat_index.shape) + [d for d in shape_out if d is not None]
    return ops.reshape(gathered, tuple(target))


def broadcast_arrays(*args):
    """The arrays broadcast against each other (NumPy's rules), as a tuple."""
    target = np.broadcast_shapes(*[tuple(x.shape) if trace.is_traced(x) else np.shape(x) for x in args])
    return tuple(broadcast_to(x, target) for x in args)


def matrix_transpose(x):
    """``x`` with its last two axes swapped (a stack of matrices transposed)."""
    if (x.ndim if trace.is_traced(x) else np.ndim(x)) < 2:
        raise ValueError("matrix_transpose: the input must have at least two axes")
    return swapaxes(x, -1, -2)


def copy(a, order="K", subok=False):
    """A copy of ``a`` (a traced value is immutable, so itself)."""
    return a if trace.is_traced(a) else _rewrap(np.copy(_plain(a), order=order, subok=subok), a)


def ascontiguousarray(a, dtype=None):
    """``a`` as a C-ordered array (traced values are laid out by the compiler: ``a`` itself)."""
    return _as_array(np.ascontiguousarray, a, dtype)


def asfortranarray(a, dtype=None):
    """``a`` as a Fortran-ordered array (traced values are laid out by the compiler: ``a`` itself)."""
    return _as_array(np.asfortranarray, a, dtype)


def asanyarray(a, dtype=None):
    """``a`` as an array (a traced value is one already)."""
    return _as_array(np.asanyarray, a, dtype)


def _as_array(convert, a, dtype):
    if not trace.is_traced(a):
        return _rewrap(convert(_plain(a), dtype=dtype), a)
    return a if dtype is None else Tracer(ops.cast(_node(a), np.dtype(dtype)))


def unstack(x, /, *, axis=0):
    """The slices of ``x`` along ``axis``, as a tuple (NumPy 2's ``unstack``; ``sf.unstack`` is Flux's)."""
    if not trace.is_traced(x):
        return tuple(_rewrap(part, x) for part in np.unstack(_plain(x), axis=axis))
    axis = ops.normalize_axes(axis, x.ndim)[0]
    return tuple(getitem(x, (slice(None),) * axis + (k,)) for k in range(x.shape[axis]))


def block(arrays):
    """An array assembled from nested lists of blocks (NumPy's ``block``): the innermost lists are
    joined along the last axis, the next ones along the one before, and so on."""
    depth, leaves = _nesting(arrays)
    if not trace.any_traced(leaves):
        return _rewrap(np.block(_plain_blocks(arrays)), leaves[0])
    rank = builtins.max([depth] + [np.ndim(x) if not trace.is_traced(x) else x.ndim for x in leaves])

    def joined(item, level):
        if isinstance(item, list):
            return concatenate([joined(x, level + 1) for x in item], axis=level - depth - 1)
        dims = tuple(item.shape) if trace.is_traced(item) else np.shape(item)
        return reshape(item, (1,) * (rank - len(dims)) + dims)
    return joined(arrays, 1) if isinstance(arrays, list) else arrays


def _nesting(arrays) -> tuple[int, list]:
    """(how deep the lists nest, the blocks), checking that every block sits at the same depth."""
    if not isinstance(arrays, list):
        return 0, [arrays]
    if not arrays:
        raise ValueError("block: lists cannot be empty")
    found = [_nesting(a) for a in arrays]
    if len({d for d, _ in found}) != 1:
        raise ValueError("block: list depths are mismatched")
    return found[0][0] + 1, [leaf for _, leaves in found for leaf in leaves]


def _plain_blocks(arrays):
    return [_plain_blocks(a) for a in arrays] if isinstance(arrays, list) else _plain(arrays)
