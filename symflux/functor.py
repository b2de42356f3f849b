"""Flux's ``@functor``: which fields of an object are its children, so ``params`` and ``fmap`` can
walk models built from user classes, lists, tuples and dicts."""

from __future__ import annotations

import copy
import dataclasses
import inspect

import numpy as np

from .device import GPUArray


def functor(cls=None, *, fields=None):
    """``@sf.functor`` (Flux ``@functor T``): every field (or those named) is a child.

    Fields are the instance attributes in assignment order, so ``params`` follows field order.
    A class can narrow what is trained by defining ``trainable(self)`` returning child values.
    """
    def register(klass):
        klass.__functor_fields__ = tuple(fields) if fields is not None else None
        return klass
    return register(cls) if cls is not None else register


def field_names(model, prefix: str = "") -> dict:
    """{id(array): name} for the arrays inside ``model`` (``named_arrays``)."""
    names: dict = {}
    for name, array in named_arrays(model, prefix):
        names.setdefault(id(array), name)
    return names


def named_arrays(model, prefix: str = "") -> list:
    """[(name, array)] for the arrays inside ``model``, named by the path of fields to them
    (``layers[0].W``; below ``prefix`` when given)."""
    found: list = []

    def visit(obj, at, depth):
        if isinstance(obj, np.ndarray):
            found.append((at, obj))
            return
        if depth > 20:  # a cycle or a very deep structure: named as far as it goes
            return
        for key, child in children(obj).items():
            visit(child, f"{at}.{key}" if isinstance(key, str) and at else key if isinstance(key, str)
                  else f"{at}[{key}]", depth + 1)
    visit(model, prefix, 0)
    return found


def is_functor(obj) -> bool:
    """A ``@functor`` class's instance, or a dataclass instance (its fields are its children)."""
    return hasattr(type(obj), "__functor_fields__") or dataclasses.is_dataclass(obj) and not isinstance(obj, type)


def children(obj) -> dict:
    """The named children of ``obj``: fields of a functor or dataclass, items of containers; else empty."""
    if isinstance(obj, (list, tuple)):
        return {i: v for i, v in enumerate(obj)}
    if isinstance(obj, dict):
        return dict(obj)
    if dataclasses.is_dataclass(obj) and not hasattr(type(obj), "__functor_fields__"):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if is_functor(obj):
        names = type(obj).__functor_fields__
        if names is None:
            names = [k for k in vars(obj) if not k.startswith("_")]
        return {k: getattr(obj, k) for k in names}
    return {}


def trainable(obj) -> list:
    """The children that ``params`` descends into (Flux ``trainable``)."""
    method = getattr(obj, "trainable", None)
    if method is not None and inspect.ismethod(method):
        return list(method())
    return list(children(obj).values())


def fmap(f, obj, _memo=None):
    """fmap(f, m): a copy of ``m`` with ``f`` applied to every array leaf (shared leaves stay shared)."""
    memo = {} if _memo is None else _memo
    if id(obj) in memo:
        return memo[id(obj)]
    if isinstance(obj, (np.ndarray, GPUArray)):
        out = f(obj)
    elif isinstance(obj, (list, tuple)):
        out = type(obj)(fmap(f, v, memo) for v in obj)
    elif isinstance(obj, dict):
        out = {k: fmap(f, v, memo) for k, v in obj.items()}
    elif is_functor(obj):
        out = copy.copy(obj)
        for name, value in children(obj).items():
            object.__setattr__(out, name, fmap(f, value, memo))  # frozen dataclasses too
    else:
        out = obj
    memo[id(obj)] = out
    return out


def _convert_floats(dtype):
    def convert(x):
        return x.astype(dtype) if x.dtype.kind == "f" else x
    convert.__name__ = f"to_{np.dtype(dtype).name}"
    return convert


def f32(model):
    """f32(m): a copy of ``m`` with every floating-point array converted to float32."""
    return fmap(_convert_floats(np.float32), model)


def f64(model):
    """f64(m): a copy of ``m`` with every floating-point array converted to float64."""
    return fmap(_convert_floats(np.float64), model)
