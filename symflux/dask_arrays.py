"""Dask arrays in, Dask arrays out: a compiled function called on ``dask.array`` inputs returns lazy
dask arrays, computed block by block wherever Dask runs (threads, processes, a cluster).

The dask arguments are split along their first axis (rows: points, examples); each block is an
ordinary call of the compiled function, whose object code travels with it (``compile``). Each output
is either per row — a blockwise array with the inputs' row chunks — or a sum, mean, maximum or
minimum over the rows (a loss, the gradient of a summed loss with respect to a small parameter),
computed per block and combined by Dask's tree reduction. Anything else cannot be split into blocks
and is refused with an error that says so. symflux's functions never compute a dask array silently:
they refuse it and point here.
"""

from __future__ import annotations

import warnings

import numpy as np

from . import pytree
from .graph import make_graph
from .trace import is_dask

try:
    import dask.array as da
except ImportError:  # dask is optional
    da = None

TASK_OVERHEAD_S = 2e-3  # Dask's cost per task, roughly
SMALL_BLOCK_BYTES = 1 << 20  # blocks smaller than this take less time to compute than to schedule


class SmallChunksWarning(UserWarning):
    """Blocks so small that Dask's per-task overhead dominates."""


def call(compiled, args):
    """``compiled(*args)`` where some argument leaves are dask arrays: lazy dask results."""
    leaves, tree = pytree.flatten(args)
    lazy = [k for k, a in enumerate(leaves) if is_dask(a)]
    leaves = _aligned(leaves, lazy)
    rows = leaves[lazy[0]].chunks[0]
    _warn_if_small(leaves, lazy, rows)
    plan = _Plan(compiled, tree, leaves, lazy, rows)
    return pytree.unflatten(plan.out_tree, [plan.output(k) for k in range(len(plan.kinds))])


def _aligned(leaves, lazy):
    """The dask leaves with the first one's row chunks, and each other axis in one chunk."""
    first = leaves[lazy[0]]
    out = list(leaves)
    for k in lazy:
        a = leaves[k]
        if a.ndim == 0 or a.shape[0] != first.shape[0]:
            raise ValueError("compiled call on dask arrays: every dask argument must have the same first axis "
                             f"(the rows split into blocks); got shapes {[leaves[j].shape for j in lazy]}")
        out[k] = a.rechunk({0: first.chunks[0], **{axis: -1 for axis in range(1, a.ndim)}})
    return out


def _warn_if_small(leaves, lazy, rows):
    block_bytes = sum(int(np.prod(leaves[k].shape[1:], dtype=np.int64)) * leaves[k].dtype.itemsize
                      for k in lazy) * max(rows)
    if block_bytes < SMALL_BLOCK_BYTES and len(rows) > 1:
        warnings.warn(f"dask blocks of {max(rows)} rows ({block_bytes} bytes) are small: Dask's per-task overhead "
                      f"(~{TASK_OVERHEAD_S * 1e3:.0f} ms) will dominate; use larger chunks", SmallChunksWarning,
                      stacklevel=4)


class _Plan:
    """How each output of the compiled function combines over blocks."""

    def __init__(self, compiled, tree, leaves, lazy, rows):
        self.compiled, self.tree, self.lazy, self.rows = compiled, tree, lazy, rows
        self.leaves = leaves
        self.fixed = [None if k in lazy else a for k, a in enumerate(leaves)]  # no dask array inside tasks
        for n in sorted(set(rows)):  # compiled here, once per block shape: the tasks carry the code
            compiled(*self._arguments([np.zeros((n,) + leaves[k].shape[1:], leaves[k].dtype) for k in lazy]))
        example = self._arguments([np.zeros((rows[0],) + leaves[k].shape[1:], leaves[k].dtype) for k in lazy])
        outs, self.out_tree = pytree.flatten(compiled(*example))
        self.outs = [np.asarray(o) for o in outs]
        self.kinds = [self._kind(k, o) for k, o in enumerate(self.outs)]

    def _arguments(self, blocks):
        return _arguments(self.tree, self.fixed, self.lazy, blocks)

    def _kind(self, k, out):
        """"rows" (one entry per row), or how a reduction over rows combines: sum, mean, max, min."""
        n = self.rows[0]
        rng = np.random.default_rng(0)
        block = [rng.uniform(0.5, 1.5, (n,) + self.leaves[j].shape[1:]).astype(self.leaves[j].dtype)
                 for j in self.lazy]
        if out.ndim and out.shape[0] == n and n > 1:
            half = n // 2  # row by row only if two halves give the two halves of the whole
            whole = self._output(k, block)
            parts = [self._output(k, [b[:half] for b in block]), self._output(k, [b[half:] for b in block])]
            if np.allclose(np.concatenate(parts), whole, rtol=1e-6, atol=1e-12, equal_nan=True):
                return "rows"
            raise ValueError(f"compiled call on dask arrays: output {k} has a row per input row, but each row "
                             "depends on other rows (a sort, a cumulative sum, a normalisation over rows…), so it "
                             "cannot be computed block by block; compute the inputs (or a smaller part) first")
        reduction = self._reduction_op(k)
        if reduction is not None:
            return reduction
        once = self._output(k, block)
        twice = self._output(k, [np.concatenate([b, b]) for b in block])
        if np.allclose(twice, 2 * once, rtol=1e-4, atol=1e-12):
            return "sum"
        if np.allclose(twice, once, rtol=1e-4, atol=1e-12):
            return "mean"
        raise ValueError(f"compiled call on dask arrays: output {k} (shape {out.shape}) is neither one entry per "
                         "row nor a sum, mean, maximum or minimum over the rows, so it cannot be computed block "
                         "by block; compute the inputs (or a smaller part) first")

    def _output(self, k, blocks) -> np.ndarray:
        return np.asarray(pytree.flatten(self.compiled(*self._arguments(blocks)))[0][k], dtype=float)

    def _reduction_op(self, k):
        """max or min when output k is one of those over the rows (seen in the graph)."""
        example = self._arguments([np.zeros((self.rows[0],) + self.leaves[j].shape[1:], self.leaves[j].dtype)
                                   for j in self.lazy])
        graph = make_graph(self.compiled.f, *example)
        if k >= len(graph.outputs):
            return None
        node = graph.outputs[k]
        while node.op in ("reshape", "detach") or node.op == "map" and len(node.args) == 1:
            node = node.args[0]
        return node.op if node.op in ("max", "min") else None

    def output(self, k):
        out, kind = self.outs[k], self.kinds[k]
        inputs = []
        for j, pos in enumerate(self.lazy):  # rows are index "i"; every other axis has its own name
            a = self.leaves[pos]
            inputs += [a, ("i",) + tuple(f"in{j}.{d}" for d in range(1, a.ndim))]
        extra = {f"out.{d}": n for d, n in enumerate(out.shape[1 if kind == "rows" else 0:])}
        index = ("i",) + tuple(extra)
        meta = np.empty((0,) * (len(extra) + 1), out.dtype)
        if kind == "rows":
            task = _block_function(self.compiled, self.tree, self.fixed, self.lazy, k, None)
            return da.blockwise(task, index, *inputs, new_axes=extra, dtype=out.dtype,
                                meta=meta, concatenate=True)
        task = _block_function(self.compiled, self.tree, self.fixed, self.lazy, k, kind == "mean")
        per_block = da.blockwise(task, index, *inputs, new_axes=extra,
                                 dtype=out.dtype, meta=meta, concatenate=True, adjust_chunks={"i": 1})
        if kind == "sum":
            return per_block.sum(axis=0, dtype=out.dtype)
        if kind == "mean":
            return (per_block.sum(axis=0) / sum(self.rows)).astype(out.dtype)
        return per_block.max(axis=0) if kind == "max" else per_block.min(axis=0)


def _arguments(tree, fixed, lazy, blocks):
    """The call's arguments with the dask leaves (positions ``lazy``) replaced by ``blocks``."""
    values = list(fixed)
    for k, block in zip(lazy, blocks):
        values[k] = block
    return pytree.unflatten(tree, values)


def _block_function(compiled, tree, fixed, lazy, k, weighted):
    """One block's output ``k`` (the task Dask runs: it holds no dask array). For reductions, shaped
    (1, …) to be combined, and a mean weighted by the block's rows."""
    def block(*blocks):
        out = np.asarray(pytree.flatten(compiled(*_arguments(tree, fixed, lazy, blocks)))[0][k])
        if weighted is None:
            return out
        return (out * len(blocks[0]) if weighted else out)[None]
    return block
