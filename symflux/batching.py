"""Batching: a graph rewritten to carry a leading batch axis, one rule per op (vmap's machinery).

``batch(outputs, {input: batched input}, size)`` gives the graph that computes ``outputs`` for every
element of a batch at once. Nodes that do not depend on a batched input are left as they are (a
weight shared by the batch stays one array); the others get a leading axis of ``size``. Each rule
maps a node and its arguments' batched forms (``None`` for an unbatched argument) to one node, so
the batched graph has as many nodes as the original whatever the batch size: that is what makes
Jacobians and Hessians tensor-level (a batch of one-hot tangents or cotangents).
"""

from __future__ import annotations

import string

import numpy as np

from . import contract, fft_ops, linalg_ops, ops
from .ir import ARG, Node, size_of, toposort


def broadcast(node: Node, size) -> Node:
    """``node`` repeated along a new leading batch axis."""
    return ops.expand(ops.reshape(node, (1,) + node.shape), (size,) + node.shape)


def _with_rank(b: Node, ndim: int) -> Node:
    """Batched ``b`` with unit axes after the batch axis up to ``ndim`` per-element dimensions, so
    it broadcasts against other operands the way the unbatched value did."""
    missing = ndim - (b.ndim - 1)
    return ops.reshape(b, b.shape[:1] + (1,) * missing + b.shape[1:]) if missing > 0 else b


def _batched_args(node, args, size):
    return [b if b is not None else broadcast(a, size) for a, b in zip(node.args, args)]


def batch_map(node, args, size):
    operands = [_with_rank(b, node.ndim) if b is not None else a for a, b in zip(node.args, args)]
    return ops.map_(node.body, operands, shape=(size,) + node.shape, dtype=node.dtype)


def batch_reduce(node, args, size):
    return ops.reduce(node.op, args[0], [a + 1 for a in node.attrs[0]])


def batch_einsum(node, args, size):
    sa, sb, so = contract.parse_spec(node.attrs[0])
    letter = next(ch for ch in string.ascii_letters if ch not in sa + sb + so)
    (a, b), (ba, bb) = node.args, args
    spec = f"{letter * (ba is not None)}{sa},{letter * (bb is not None)}{sb}->{letter}{so}"
    return contract.einsum(spec, ba if ba is not None else a, bb if bb is not None else b)


def batch_expand(node, args, size):
    return ops.expand(_with_rank(args[0], node.ndim), (size,) + node.shape)


def batch_take(node, args, size):
    (x, idx), (bx, bidx), axis = node.args, args, node.attrs[0]
    if bidx is None:
        return ops.take(bx, idx, axis + 1)
    if bx is None:  # every batch element gathers from the one x: the batch axis lands at ``axis``
        return _to_front(ops.take(x, bidx, axis), axis)
    n = x.shape[axis]  # element b reads row b·n + idx[b] of the batch folded into the gathered axis
    return _to_front(ops.take(_fold_batch(bx, axis), _offset(bidx, n), axis), axis)


def batch_scatter_add(node, args, size):
    (v, idx), (bv, bidx), (axis, length) = node.args, args, node.attrs
    if bidx is None:
        return ops.scatter_add(bv, idx, axis + 1, length)
    bv = bv if bv is not None else broadcast(v, size)  # each element adds into its own rows b·length + idx[b]
    added = ops.scatter_add(_to_axis(bv, axis), _offset(bidx, length), axis, size * length)
    rest = added.shape[axis + 1:]
    return _to_front(ops.reshape(added, added.shape[:axis] + (size, length) + rest), axis)


def _to_front(node: Node, axis: int) -> Node:
    """``node`` with its axis ``axis`` (the batch) moved first."""
    return ops.permute(node, (axis,) + tuple(a for a in range(node.ndim) if a != axis))


def _to_axis(b: Node, axis: int) -> Node:
    """Batched ``b`` with its batch axis moved to position ``axis`` of the element's axes."""
    return ops.permute(b, tuple(range(1, axis + 1)) + (0,) + tuple(range(axis + 1, b.ndim)))


def _fold_batch(b: Node, axis: int) -> Node:
    """Batched ``b`` (B, …, n, …) as one array whose axis ``axis`` holds the B·n rows, batch-major."""
    moved = _to_axis(b, axis)
    rows = moved.shape[axis] * moved.shape[axis + 1]
    return ops.reshape(moved, moved.shape[:axis] + (rows,) + moved.shape[axis + 2:])


def _offset(bidx: Node, n: int) -> Node:
    """Batched positions moved to their batch element's rows: b·n + idx[b]."""
    rows = ops.const(np.arange(bidx.shape[0], dtype=np.int64).reshape((-1,) + (1,) * (bidx.ndim - 1)) * n)
    return ops.map_(ARG[0] + ARG[1], [rows, ops.cast(bidx, np.int64)], dtype=np.dtype(np.int64))


def _merge_batch(node, args, size, apply):
    """Windows ops treat the batch as more images: (B, N, …) → (B·N, …) → op → (B, N, …)."""
    x = args[0]
    out = apply(ops.reshape(x, (size * x.shape[1],) + x.shape[2:]))
    return ops.reshape(out, (size,) + node.shape)


def batch_unfold(node, args, size):
    kernel, stride, dilation, pad, value = node.attrs
    return _merge_batch(node, args, size, lambda x: ops.unfold(x, kernel, stride, dilation, pad, value))


def batch_fold(node, args, size):
    spatial, kernel, stride, dilation, pad = node.attrs
    return _merge_batch(node, args, size, lambda x: ops.fold(x, spatial, kernel, stride, dilation, pad))


RULES = {
    "map": batch_map,
    "sum": batch_reduce,
    "max": batch_reduce,
    "min": batch_reduce,
    "einsum": batch_einsum,
    "detach": lambda n, args, size: ops.compared(args[0]) if n.attrs == ("compared",) else ops.detach(args[0], n.attrs),
    "reshape": lambda n, args, size: ops.reshape(args[0], (size,) + n.attrs[0]),
    "permute": lambda n, args, size: ops.permute(args[0], (0,) + tuple(p + 1 for p in n.attrs[0])),
    "expand": batch_expand,
    "slice": lambda n, args, size: ops.slice_(args[0], ((0, size, 1),) + n.attrs[0]),
    "unslice": lambda n, args, size: ops.unslice(args[0], (size,) + n.shape, ((0, size, 1),) + n.attrs[0]),
    "take": batch_take,
    "scatter_add": batch_scatter_add,
    "concat": lambda n, args, size: ops.concat(_batched_args(n, args, size), n.attrs[0] + 1),
    "unfold": batch_unfold,
    "fold": batch_fold,
    "linalg": linalg_ops.batch,
    "fft": fft_ops.batch,
}


def batch(outputs, batched: dict, size: int) -> list[Node]:
    """``outputs`` computed for a batch: each input ``k`` of ``batched`` is replaced by
    ``batched[k]`` (a leading axis of ``size`` added); every result has that leading axis."""
    new: dict[int, Node] = {id(k): v for k, v in batched.items()}
    for node in toposort(outputs):
        if id(node) in new or not node.args:
            continue
        args = [new.get(id(a)) for a in node.args]
        if any(a is not None for a in args):
            new[id(node)] = RULES[node.op](node, args, size)
    return [new[id(o)] if id(o) in new else broadcast(o, size) for o in outputs]


def move_axis(node: Node, source: int, destination: int) -> Node:
    """``numpy.moveaxis`` on a node."""
    perm = [a for a in range(node.ndim) if a != source]
    perm.insert(destination, source)
    return ops.permute(node, perm)


def one_hot_rows(shape, dtype) -> Node:
    """The identity as a batch: row k is the k-th unit array of ``shape`` (shape (n, *shape))."""
    return ops.identity((size_of(shape),) + tuple(shape), dtype)
