"""PyTorch-style state dictionaries: every array of a model (parameters and layer state such as
BatchNorm's running statistics) by its dotted path, and loading them back into a model."""

from __future__ import annotations

import numpy as np

from ..functor import children


def state_dict(model) -> dict:
    """{"0.W": array, "0.b": …, "1.μ": …}: a copy of each array reachable from ``model`` by its path."""
    live: dict = {}
    _arrays(model, "", live, set())
    return {path: np.array(a) for path, a in live.items()}


def load_state_dict(model, values: dict, strict: bool = True):
    """Copy ``values`` (from ``state_dict``) into the arrays of ``model`` in place; with ``strict``
    every path must match, both ways, with the same shapes."""
    current = {}
    _arrays(model, "", current, set())
    missing, unexpected = sorted(set(current) - set(values)), sorted(set(values) - set(current))
    if strict and (missing or unexpected):
        raise KeyError(f"load_state_dict: missing {missing}, unexpected {unexpected}")
    for path, target in current.items():
        if path in values:
            value = np.asarray(values[path])
            if value.shape != target.shape:
                raise ValueError(f"load_state_dict: {path} has shape {target.shape}, the value {value.shape}")
            target[...] = value
    return model


def _arrays(obj, prefix, out, seen):
    """The live arrays of ``obj`` by path (as ``state_dict`` names them)."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    for name, child in children(obj).items():
        path = f"{prefix}{name}"
        if isinstance(child, np.ndarray):
            out[path] = child
        elif isinstance(child, tuple) and child and all(isinstance(c, np.ndarray) for c in child):
            out.update({f"{path}.{k}": c for k, c in enumerate(child)})
        else:
            _arrays(child, path + ".", out, seen)
