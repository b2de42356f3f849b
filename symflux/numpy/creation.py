"""Creating arrays: ``sf.array``, ``zeros``, ``rand``, … (trackable ``Array``s)."""

from __future__ import annotations

import numpy as np
import sympy

from .. import rng
from ..array import Array
from ._base import shape


def zeros_like(x, dtype=None):
    return zeros(shape(x), dtype=dtype or (x.dtype if hasattr(x, "dtype") else np.float64))


def ones_like(x, dtype=None):
    return ones(shape(x), dtype=dtype or (x.dtype if hasattr(x, "dtype") else np.float64))


def _dims(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


def array(obj, dtype=None) -> Array:
    """A trackable array from nested lists/arrays (SymPy values give an object array)."""
    if isinstance(obj, sympy.MatrixBase):
        obj = np.array(obj.tolist(), dtype=object)
    return np.array(obj, dtype=dtype).view(Array)


def asarray(obj, dtype=None) -> Array:
    return obj if isinstance(obj, Array) and dtype is None else array(obj, dtype)


def zeros(*shape, dtype=np.float64) -> Array:
    return np.zeros(_dims(shape), dtype=dtype).view(Array)


def ones(*shape, dtype=np.float64) -> Array:
    return np.ones(_dims(shape), dtype=dtype).view(Array)


def full(shape, value, dtype=None) -> Array:
    return np.full(shape, value, dtype=dtype).view(Array)


def eye(n, m=None, dtype=np.float64) -> Array:
    return np.eye(n, m, dtype=dtype).view(Array)


def arange(*args, dtype=None) -> Array:
    return np.arange(*args, dtype=dtype).view(Array)


def linspace(start, stop, num=50, dtype=None) -> Array:
    return np.linspace(start, stop, num, dtype=dtype).view(Array)


def rand(*shape, dtype=np.float64) -> Array:
    """Uniform [0, 1) samples of the given shape (float64, like NumPy)."""
    return rng.generator().random(_dims(shape)).astype(dtype).view(Array)


def randn(*shape, dtype=np.float64) -> Array:
    """Standard normal samples of the given shape (float64, like NumPy)."""
    return rng.generator().standard_normal(_dims(shape)).astype(dtype).view(Array)
