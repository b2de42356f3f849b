"""NumPy's protocols: which ``np.*`` ufuncs and functions run the traced implementations."""

from __future__ import annotations

import numpy as np

from ..array import TracingError
from . import elementwise
from ._base import ndim, shape, size
from .contractions import dot, einsum, inner, matmul, outer, tensordot, vdot
from .creation import ones_like, zeros_like
from .elementwise import ELEMENTWISE, clip, where
from .manipulation import (
    broadcast_to,
    concatenate,
    expand_dims,
    flip,
    moveaxis,
    ravel,
    reshape,
    squeeze,
    stack,
    swapaxes,
    transpose,
)
from .reductions import max, mean, min, prod, std, sum, var

UFUNCS = {getattr(np, name): name for name in ELEMENTWISE if isinstance(getattr(np, name, None), np.ufunc)}
UFUNCS.update({np.true_divide: "divide", np.absolute: "abs", np.fabs: "abs", np.fmax: "maximum",
               np.fmin: "minimum", np.ceil: "ceil"})


_REDUCERS = {np.add: sum, np.maximum: max, np.minimum: min, np.multiply: prod}


def apply_ufunc(ufunc, method, inputs, kwargs):
    if kwargs.get("out") is not None:
        raise TracingError(f"numpy.{ufunc.__name__}(..., out=...) would modify an array in place, "
                                 "which tracing cannot record; assign the result instead")
    if method == "__call__":
        if ufunc is np.matmul:
            return matmul(*inputs)
        if ufunc in UFUNCS:
            return getattr(elementwise, UFUNCS[ufunc])(*inputs)
    elif method == "reduce" and ufunc in _REDUCERS:
        return _REDUCERS[ufunc](inputs[0], axis=kwargs.get("axis", 0), keepdims=kwargs.get("keepdims", False))
    raise TypeError(f"numpy.{ufunc.__name__}{'' if method == '__call__' else '.' + method} is not "
                    "supported on traced arrays (while tracing for gradient/compile); use the "
                    "sf.* functions, e.g. sf.exp, sf.sum, sf.where")


def apply_function(func, args, kwargs):
    impl = FUNCTIONS.get(func)
    if impl is None:
        raise TypeError(f"numpy.{func.__name__} is not supported on traced arrays (while tracing for "
                        "gradient/compile); supported NumPy functions: "
                        + ", ".join(sorted(f.__name__ for f in FUNCTIONS)))
    kwargs = {k: v for k, v in kwargs.items() if k not in ("dtype", "out", "order") or v is not None}
    return impl(*args, **kwargs)


FUNCTIONS = {
    np.sum: sum, np.mean: mean, np.max: max, np.amax: max, np.min: min, np.amin: min,
    np.prod: prod, np.var: var, np.std: std, np.reshape: reshape, np.transpose: transpose,
    np.swapaxes: swapaxes, np.moveaxis: moveaxis, np.squeeze: squeeze, np.expand_dims: expand_dims,
    np.broadcast_to: broadcast_to, np.concatenate: concatenate, np.stack: stack, np.flip: flip,
    np.ravel: ravel, np.dot: dot, np.outer: outer, np.inner: inner, np.vdot: vdot,
    np.tensordot: tensordot, np.einsum: einsum, np.where: lambda c, a, b: where(c, a, b),  # noqa: F821
    np.clip: clip, np.shape: shape, np.ndim: ndim, np.size: size, np.zeros_like: zeros_like,
    np.ones_like: ones_like, np.matmul: matmul,
}
