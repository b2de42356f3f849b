"""Functional updates: ``sf.at(x)[index].set(v)`` (JAX's ``x.at[index].set(v)``), since traced arrays
are immutable. The values land where ``x[index]`` reads, by the adjoint of indexing (a scatter)."""

from __future__ import annotations

import numpy as np

from ..transforms import vjp
from .creation import zeros_like
from .elementwise import add, multiply, not_equal, where
from .manipulation import broadcast_to, getitem


class _Ref:
    """``x[index]``, to be replaced (``set``) or updated (``add``, ``multiply``) in a copy of x."""

    def __init__(self, x, index):
        self.x, self.index = x, index
        # the adjoint of reading x[index], traced once for every update this reference makes
        self._read, self._place = vjp(lambda y: getitem(y, index), zeros_like(x))

    def _scatter(self, values):
        """``values`` (broadcast to the shape of x[index]) placed at index in zeros shaped like x;
        repeated indices add up."""
        return self._place(broadcast_to(values, np.shape(self._read)))[0]

    def get(self):
        return getitem(self.x, self.index)

    def set(self, values):
        hit = not_equal(self._scatter(1.0), 0)
        return where(hit, self._scatter(values), self.x)

    def add(self, values):
        return add(self.x, self._scatter(values))

    def multiply(self, values):
        factor = where(not_equal(self._scatter(1.0), 0), self._scatter(values), 1)
        return multiply(self.x, factor)


class _At:
    def __init__(self, x):
        self.x = x

    def __getitem__(self, index):
        return _Ref(self.x, index)


def at(x):
    """``at(x)[index].set(v)`` / ``.add(v)`` / ``.multiply(v)`` / ``.get()``: a new array equal to x
    with the update applied at ``index`` (any NumPy index); x itself is unchanged."""
    return _At(x)
