"""Pytrees: how every transform takes nested Python structures apart into leaves and rebuilds them.

Nodes are tuples (named tuples too), dicts, lists that hold more than numbers, ``None`` (no
leaves), ``Params``, ``Grads`` and objects with children: ``@sf.functor`` classes, the built-in layers
(``Chain`` …) and dataclasses. Everything else is a leaf. A (nested) list of Python numbers is a
leaf, an array, as in the seed (``gradient(f, [2, 1])``). Inside objects only arrays and containers
are children, and a dataclass's floats; their other fields (an activation, a stride, a count) are
static and kept in the tree's shape.
"""

from __future__ import annotations

import copy
import dataclasses
import fractions
import numbers

import numpy as np
import sympy

from .device import GPUArray
from .functor import children, is_functor
from .params import Grads, Params


class TreeDef:
    """The shape of a pytree: node kind, static data, and the shapes of the children."""

    __slots__ = ("kind", "meta", "children")

    def __init__(self, kind, meta, children):
        self.kind, self.meta, self.children = kind, meta, tuple(children)

    @property
    def num_leaves(self) -> int:
        return 1 if self.kind == "leaf" else sum(c.num_leaves for c in self.children)

    def __eq__(self, other):
        return (isinstance(other, TreeDef) and self.kind == other.kind and self.children == other.children
                and (self.meta is other.meta or _same_meta(self.meta, other.meta)))

    def __hash__(self):
        return hash((self.kind, len(self.children)))

    def __repr__(self):
        return "*" if self.kind == "leaf" else f"{self.kind}({', '.join(map(repr, self.children))})"


def _same_meta(a, b) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


LEAF = TreeDef("leaf", None, ())
_SCALARS = (numbers.Number, fractions.Fraction, sympy.Basic, np.generic)


def _is_number_list(x) -> bool:
    return isinstance(x, list) and all(_is_number_list(v) if isinstance(v, list) else isinstance(v, _SCALARS)
                                       for v in x)


def _is_array(x) -> bool:
    return isinstance(x, (np.ndarray, GPUArray)) or type(x).__name__ == "Tracer"


def _object_fields(obj) -> dict:
    """The dynamic children of an object node: arrays and containers (scalars and tuples of them are
    static), and a plain dataclass's float fields (JAX's registered dataclasses, flax's: differentiated,
    where a static field kept its value in the gradient, which read as the gradient)."""
    floats = dataclasses.is_dataclass(obj) and not hasattr(type(obj), "__functor_fields__")
    return {k: v for k, v in children(obj).items()
            if _is_array(v) or v is None or _is_node(v) and not _is_setting(v)
            or floats and isinstance(v, (float, complex, np.floating, np.complexfloating))}


def _is_setting(x) -> bool:
    """A tuple or list of numbers and strings (a layer's stride, padding or sizes): static, like a
    number field, so tracing a model does not trace its configuration."""
    return isinstance(x, (tuple, list)) and all(_is_setting(v) if isinstance(v, (tuple, list)) else
                                                isinstance(v, (*_SCALARS, str)) for v in x)


def _is_node(x) -> bool:
    if isinstance(x, (tuple, dict, Params, Grads)) or x is None:
        return True
    if isinstance(x, list):
        return not _is_number_list(x) or not x
    return is_functor(x)


def flatten(tree) -> tuple[list, TreeDef]:
    """(leaves in order, tree shape)."""
    leaves: list = []
    return leaves, _flatten(tree, leaves)


def _flatten(x, leaves: list) -> TreeDef:
    if x is None:
        return TreeDef("none", None, ())
    if isinstance(x, tuple):
        return TreeDef("tuple", type(x), [_flatten(v, leaves) for v in x])
    if isinstance(x, dict):
        return TreeDef("dict", tuple(x), [_flatten(v, leaves) for v in x.values()])
    if isinstance(x, list) and _is_node(x):
        return TreeDef("list", None, [_flatten(v, leaves) for v in x])
    if isinstance(x, Params):
        return TreeDef("params", None, [_flatten(v, leaves) for v in x])
    if isinstance(x, Grads):
        return TreeDef("grads", x.params, [_flatten(v, leaves) for v in x.values()])
    if _is_node(x):
        fields = _object_fields(x)
        return TreeDef("object", (x, tuple(fields)), [_flatten(v, leaves) for v in fields.values()])
    leaves.append(x)
    return LEAF


def unflatten(treedef: TreeDef, leaves):
    """The tree of shape ``treedef`` holding ``leaves`` (consumed in order)."""
    return _unflatten(treedef, iter(leaves))


def _unflatten(t: TreeDef, leaves):
    if t.kind == "leaf":
        return next(leaves)
    items = [_unflatten(c, leaves) for c in t.children]
    if t.kind == "none":
        return None
    if t.kind == "tuple":
        return t.meta(*items) if hasattr(t.meta, "_fields") else t.meta(items)
    if t.kind == "dict":
        return dict(zip(t.meta, items))
    if t.kind == "list":
        return items
    if t.kind == "params":
        return Params(items)
    if t.kind == "grads":
        return Grads(t.meta, items)
    obj, names = t.meta
    new = copy.copy(obj)
    for name, value in zip(names, items):
        object.__setattr__(new, name, value)
    return new


def flatten_like(treedef: TreeDef, tree) -> list:
    """The leaves of ``tree`` where ``treedef`` has leaves; None throughout a subtree that is None
    in ``tree`` (a structural gradient has None where a model has arrays without gradient)."""
    if tree is None:
        return [None] * treedef.num_leaves
    if treedef.kind == "leaf":
        return [tree]
    if treedef.kind == "dict":
        children = [tree[k] for k in treedef.meta]
    elif treedef.kind == "object":
        children = [getattr(tree, name) for name in treedef.meta[1]]
    elif treedef.kind == "grads":
        children = tree.values()
    else:
        children = list(tree)
    return [leaf for sub, child in zip(treedef.children, children) for leaf in flatten_like(sub, child)]
