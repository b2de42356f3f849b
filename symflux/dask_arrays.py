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

import sys
import warnings

import numpy as np

from . import pytree
from .graph import make_graph
from .trace import is_dask

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


PROBE_ROWS = 8  # rows of the small blocks that tell how each output combines


class _Plan:
    """How each output of the compiled function combines over blocks, and the tasks: one call of the
    compiled function per block, whose outputs the output arrays then take apart."""

    def __init__(self, compiled, tree, leaves, lazy, rows):
        self.compiled, self.tree, self.lazy, self.rows, self.leaves = compiled, tree, lazy, rows, leaves
        self.fixed = [None if k in lazy else a for k, a in enumerate(leaves)]  # no dask array inside tasks
        for n in sorted(set(rows)):  # compiled here, once per block shape: the tasks carry the code
            outs, self.out_tree = pytree.flatten(compiled(*self._arguments(self._zeros(n))))
        self.probe = type(compiled)(compiled.f, "interpreter", compiled.static)  # cheap calls on tiny blocks
        self.outs = [np.asarray(o) for o in pytree.flatten(compiled(*self._arguments(self._zeros(rows[0]))))[0]]
        self.kinds = [self._kind(k, o) for k, o in enumerate(self.outs)]
        self.blocks = self._blocks()

    def _zeros(self, n):
        return [np.zeros((n,) + self.leaves[k].shape[1:], self.leaves[k].dtype) for k in self.lazy]

    def _arguments(self, blocks):
        return _arguments(self.tree, self.fixed, self.lazy, blocks)

    def _probe(self, k, blocks) -> np.ndarray:
        return np.asarray(pytree.flatten(self.probe(*self._arguments(blocks)))[0][k], dtype=float)

    def _kind(self, k, out):
        """"rows" (one entry per row), or how a reduction over rows combines: sum, mean, max, min."""
        n = PROBE_ROWS
        rng = np.random.default_rng(0)
        block = [rng.uniform(0.5, 1.5, (n,) + self.leaves[j].shape[1:]).astype(self.leaves[j].dtype)
                 for j in self.lazy]
        if out.ndim and out.shape[0] == self.rows[0] and self.rows[0] > 1:
            whole = self._probe(k, block)  # row by row only if two halves give the two halves of the whole
            parts = [self._probe(k, [b[:n // 2] for b in block]), self._probe(k, [b[n // 2:] for b in block])]
            if np.allclose(np.concatenate(parts), whole, rtol=1e-6, atol=1e-12, equal_nan=True):
                return "rows"
            raise ValueError(f"compiled call on dask arrays: output {k} has a row per input row, but each row "
                             "depends on other rows (a sort, a cumulative sum, a normalisation over rows…), so it "
                             "cannot be computed block by block; compute the inputs (or a smaller part) first")
        reduction = self._reduction_op(k)
        if reduction is not None:
            return reduction
        once, twice = self._probe(k, block), self._probe(k, [np.concatenate([b, b]) for b in block])
        if np.allclose(twice, 2 * once, rtol=1e-4, atol=1e-12):
            return "sum"
        if np.allclose(twice, once, rtol=1e-4, atol=1e-12):
            return "mean"
        raise ValueError(f"compiled call on dask arrays: output {k} (shape {out.shape}) is neither one entry per "
                         "row nor a sum, mean, maximum or minimum over the rows, so it cannot be computed block "
                         "by block; compute the inputs (or a smaller part) first")

    def _reduction_op(self, k):
        """max or min when output k is one of those over the rows (seen in the graph)."""
        graph = make_graph(self.compiled.f, *self._arguments(self._zeros(PROBE_ROWS)))
        if k >= len(graph.outputs):
            return None
        node = graph.outputs[k]
        while node.op in ("reshape", "detach") or node.op == "map" and len(node.args) == 1:
            node = node.args[0]
        return node.op if node.op in ("max", "min") else None

    def _blocks(self):
        """Per block, one call: a 1-element object array holding the outputs (means weighted by rows)."""
        inputs = []
        for j, pos in enumerate(self.lazy):  # rows are index "i"; every other axis has its own name
            a = self.leaves[pos]
            inputs += [a, ("i",) + tuple(f"in{j}.{d}" for d in range(1, a.ndim))]
        task = _block_function(self.compiled, self.tree, self.fixed, self.lazy, [kind == "mean" for kind in self.kinds])
        # the caller passed dask arrays, so dask.array is loaded: symflux does not import it (1.3 s)
        dask_array = sys.modules["dask.array"]
        return dask_array.blockwise(task, ("i",), *inputs, dtype=object, meta=np.empty((0,), object), concatenate=True,
                                    adjust_chunks={"i": 1})

    def output(self, k):
        out, kind = self.outs[k], self.kinds[k]
        rest = out.shape[1:] if kind == "rows" else out.shape
        chunks = ((self.rows if kind == "rows" else (1,) * len(self.rows)),) + tuple((n,) for n in rest)
        part = self.blocks.map_blocks(_take, k, kind == "rows", dtype=out.dtype, chunks=chunks,
                                      new_axis=list(range(1, 1 + len(rest))) or None,
                                      meta=np.empty((0,) * (1 + len(rest)), out.dtype))
        if kind == "rows":
            return part
        if kind == "sum":
            return part.sum(axis=0, dtype=out.dtype)
        if kind == "mean":
            return (part.sum(axis=0) / sum(self.rows)).astype(out.dtype)
        return part.max(axis=0) if kind == "max" else part.min(axis=0)


def _arguments(tree, fixed, lazy, blocks):
    """The call's arguments with the dask leaves (positions ``lazy``) replaced by ``blocks``."""
    values = list(fixed)
    for k, block in zip(lazy, blocks):
        values[k] = block
    return pytree.unflatten(tree, values)


def _block_function(compiled, tree, fixed, lazy, weighted):
    """The task Dask runs per block (it holds no dask array): every output of one call, means weighted
    by the block's rows, in a 1-element object array."""
    def block(*blocks):
        outs = pytree.flatten(compiled(*_arguments(tree, fixed, lazy, blocks)))[0]
        outs = [np.asarray(o) * len(blocks[0]) if w else np.asarray(o) for o, w in zip(outs, weighted)]
        holder = np.empty(1, dtype=object)
        holder[0] = outs
        return holder
    return block


def _take(holder, k, rows):
    """Output ``k`` of a block's call: as it is when it has a row per row, else with a leading axis of 1."""
    out = holder[0][k]
    return out if rows else out[None]
