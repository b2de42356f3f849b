"""Flux's ``Params`` (the arrays a gradient is taken for) and ``Grads`` (gradients indexed by them)."""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from .array import Array
from .device import GPUArray
from .functor import trainable


class Params:
    """An ordered, identity-deduplicated collection of trackable arrays (Flux ``Params``)."""

    def __init__(self, arrays=()):
        self._items, self._ids = [], set()
        for a in arrays:
            self.add(a)

    def add(self, a):
        if id(a) not in self._ids:
            self._ids.add(id(a))
            self._items.append(a)

    def __iter__(self):
        return iter(self._items)

    def __len__(self):
        return len(self._items)

    def __getitem__(self, i):
        return self._items[i]

    def __contains__(self, a):
        return id(a) in self._ids

    def __setstate__(self, state):
        """Identities are re-linked after pickle or deepcopy (the arrays are new objects)."""
        self.__dict__.update(state)
        self._ids = {id(a) for a in self._items}

    def __eq__(self, other):
        return isinstance(other, (Params, list)) and len(self) == len(other) and all(
            a is b for a, b in zip(self, other))

    def __repr__(self):
        return "Params([" + ", ".join(repr(a) for a in self._items) + "])"


def _collect(x, out: Params, seen: set, where: str):
    if isinstance(x, (Array, GPUArray)):
        out.add(x)
    elif isinstance(x, np.ndarray):
        raise TypeError(
            f"params: {where} is a plain numpy.ndarray, which cannot be tracked: NumPy operations on "
            "it bypass tracing. Make it trackable with sf.array(x) (or create it with sf.rand, "
            "sf.zeros, …) and use that object in your model.")
    elif isinstance(x, Params):
        for a in x:
            out.add(a)
    elif id(x) not in seen:
        seen.add(id(x))
        for i, child in enumerate(trainable(x)):
            _collect(child, out, seen, f"{where}[{i}]")


def params(*xs: Any) -> Params:
    """params(x...): every trackable array reachable from the arguments, in order, deduplicated."""
    out, seen = Params(), set()
    for i, x in enumerate(xs):
        _collect(x, out, seen, f"argument {i}")
    return out


def _norm(g) -> str:
    if g is None:
        return "None"
    try:
        return f"{float(np.linalg.norm(np.asarray(g, dtype=float))):.6g}"
    except (TypeError, ValueError):  # exact or symbolic values
        return html.escape(str(g))


class Grads:
    """Gradients indexed by parameter object (``gs[W]``); ``None`` for unused parameters."""

    def __init__(self, ps: Params, grads):
        self.params, self._grads = ps, {id(p): g for p, g in zip(ps, grads)}

    def __getitem__(self, p):
        if not isinstance(p, (np.ndarray, GPUArray)):
            raise TypeError("Only reference types can be differentiated with Params: "
                            f"index Grads with one of the parameter arrays, not {type(p).__name__}")
        if id(p) not in self._grads:
            raise KeyError("this array is not among the parameters the gradient was taken for")
        return self._grads[id(p)]

    def __contains__(self, p):
        return id(p) in self._grads

    def __getstate__(self):
        return {"params": self.params, "values": self.values()}

    def __setstate__(self, state):
        """Gradients are re-keyed by the unpickled parameters (pickled together, they are the same objects)."""
        self.params = state["params"]
        self._grads = {id(p): g for p, g in zip(self.params, state["values"])}

    def __iter__(self):
        return iter(self.params)

    def __len__(self):
        return len(self.params)

    def keys(self):
        return list(self.params)

    def values(self):
        return [self._grads[id(p)] for p in self.params]

    def items(self):
        return [(p, self._grads[id(p)]) for p in self.params]

    def __repr__(self):
        return f"Grads(<{len(self.params)} parameters>)"

    def _repr_html_(self):
        """Jupyter: a table of the parameters' shapes and their gradients' sizes (‖g‖, None if unused)."""
        rows = "".join(f"<tr><td>{k}</td><td>{html.escape(str(tuple(p.shape)))}</td><td>{p.dtype}</td>"
                       f"<td>{_norm(g)}</td></tr>" for k, (p, g) in enumerate(self.items()))
        return ("<table><thead><tr><th>parameter</th><th>shape</th><th>dtype</th><th>‖gradient‖</th></tr>"
                f"</thead><tbody>{rows}</tbody></table>")
