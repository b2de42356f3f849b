"""Flux's utilities, batch-first: one-hot encoding, stacking and unstacking, sequences in batches,
flat parameter vectors, loading parameters, a data loader and epochs.

Flux keeps observations in the last dimension; symflux (like NumPy and PyTorch) in the first, so
``onehotbatch`` is (N, K), ``onecold`` reads the last axis and ``DataLoader`` slices the first.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from .. import numpy as F
from .. import pytree
from ..array import Array
from ..functor import fmap
from ..params import params

log = logging.getLogger("symflux")


def onehot(x, labels, default=None):
    """A boolean vector with True at the position of ``x`` in ``labels`` (or of ``default`` when x is
    not a label and a default is given)."""
    labels = list(labels)
    if x not in labels:
        if default is None:
            raise ValueError(f"onehot: {x!r} is not among the labels {labels!r}")
        x = default
    out = np.zeros(len(labels), dtype=bool)
    out[labels.index(x)] = True
    return out.view(Array)


def onehotbatch(xs, labels, default=None):
    """One row per item of ``xs``: shape (N, len(labels))."""
    return np.stack([onehot(x, labels, default) for x in xs]).view(Array) if len(xs) else \
        np.zeros((0, len(list(labels))), dtype=bool).view(Array)


def onecold(y, labels=None):
    """The label of the largest entry along the last axis (the inverse of onehot/onehotbatch)."""
    index = np.argmax(np.asarray(y), axis=-1)
    if labels is None:
        return index
    labels = np.asarray(list(labels))
    return labels[index]


def unstack(xs, axis):
    """The slices of ``xs`` along ``axis``, as a list."""
    axis %= F.ndim(xs)
    return [xs[(slice(None),) * axis + (i,)] for i in range(F.shape(xs)[axis])]


def unsqueeze(xs, axis):
    """Flux's ``unsqueeze(xs, dim)``: ``xs`` with a new axis of length 1 at ``axis``."""
    return F.expand_dims(xs, axis)


def chunk(xs, n):
    """Flux's ``chunk(xs, n)``: ``xs`` (along its first axis) in ``n`` consecutive parts of ⌈len/n⌉
    items each (the last may be shorter, and fewer parts come back when they run out), as a list."""
    if n < 1:
        raise ValueError(f"chunk: n must be at least 1, got {n}")
    size = math.ceil(len(xs) / n)
    return [xs[k:k + size] for k in range(0, len(xs), size)] if size else []


def frequencies(xs):
    """Flux's ``frequencies(xs)``: {item: how often it occurs in xs}, in order of first occurrence."""
    counts: dict = {}
    for x in (np.asarray(xs).tolist() if isinstance(xs, np.ndarray) else xs):
        counts[x] = counts.get(x, 0) + 1
    return counts


def batch(xs):
    """Stack equally shaped arrays along a new first (batch) axis."""
    return F.stack(list(xs), axis=0)


def batchseq(xs, pad=None):
    """Sequences of different lengths as one batch per time step: step t stacks every sequence's
    t-th item, padding the shorter ones with ``pad`` (an item, or a value to fill one with)."""
    xs = [list(seq) for seq in xs]
    length = max((len(seq) for seq in xs), default=0)
    if pad is None and any(len(seq) < length for seq in xs):
        raise ValueError("batchseq: sequences of different lengths need a pad value")
    steps = []
    for t in range(length):
        items = [seq[t] if t < len(seq) else (pad if np.ndim(pad) else np.full(np.shape(seq[0]), pad))
                 for seq in xs]
        steps.append(batch(items))
    return steps


def destructure(model):
    """(flat, rebuild): every parameter of ``model`` in one vector, and a function giving a copy of the
    model with the parameters read back from such a vector."""
    ps = list(params(model))
    flat = np.concatenate([np.ravel(p) for p in ps]) if ps else np.zeros(0)
    sizes = [int(np.size(p)) for p in ps]
    offsets = np.cumsum([0] + sizes)

    def rebuild(vector):
        if F.shape(vector) != (int(offsets[-1]),):
            raise ValueError(f"destructure: expected a vector of {int(offsets[-1])} values, got shape "
                             f"{F.shape(vector)}")
        slot = {id(p): F.reshape(vector[offsets[k]:offsets[k + 1]], np.shape(p)) for k, p in enumerate(ps)}
        return fmap(lambda a: slot.get(id(a), a), model)

    return flat.view(Array), rebuild


def loadparams(model, values):
    """Flux's ``loadparams!``: copy ``values`` into the parameters of ``model``, in order (shapes must match)."""
    ps, values = list(params(model)), list(values)
    if len(ps) != len(values):
        raise ValueError(f"loadparams: the model has {len(ps)} parameter arrays, got {len(values)} values")
    for k, (p, v) in enumerate(zip(ps, values)):
        if np.shape(p) != np.shape(v):
            raise ValueError(f"loadparams: parameter {k} has shape {np.shape(p)}, the value {np.shape(v)}")
        p[...] = v
    return model


class DataLoader:
    """DataLoader(data, batchsize=1, shuffle=False, partial=True): batches of an array (along its first
    axis) or of a pytree of arrays with the same number of observations (a tuple, or a dict: Flux's
    named tuple), in its shape; a new order each pass when shuffling; ``partial=False`` drops a last,
    smaller batch."""

    def __init__(self, data, batchsize=1, shuffle=False, partial=True, rng=None):
        self.arrays, self.tree = pytree.flatten(data)
        if not self.arrays or any(np.ndim(d) == 0 for d in self.arrays):
            raise ValueError("DataLoader: data must be an array or a tuple or dict of arrays, each with the "
                             "observations along its first axis")
        counts = {np.shape(d)[0] for d in self.arrays}
        if len(counts) != 1:
            raise ValueError(f"DataLoader: the arrays have different numbers of observations {sorted(counts)}")
        if batchsize < 1:
            raise ValueError(f"DataLoader: batchsize must be at least 1, got {batchsize}")
        self.n, self.batchsize, self.shuffle, self.partial = counts.pop(), batchsize, shuffle, partial
        self.rng = rng if rng is not None else np.random.default_rng()

    def __len__(self):
        return math.ceil(self.n / self.batchsize) if self.partial else self.n // self.batchsize

    def __iter__(self):
        order = self.rng.permutation(self.n) if self.shuffle else np.arange(self.n)
        for k in range(len(self)):
            pick = order[k * self.batchsize:(k + 1) * self.batchsize]
            yield pytree.unflatten(self.tree, [np.asarray(d)[pick] for d in self.arrays])


def epochs(n):
    """Flux's ``@epochs n``: ``for epoch in sf.epochs(n): …`` counts 1…n and logs each epoch."""
    for epoch in range(1, n + 1):
        log.info("Epoch %d", epoch)
        yield epoch
