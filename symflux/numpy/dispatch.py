"""NumPy's protocols: which ``np.*`` ufuncs and functions run the traced implementations."""

from __future__ import annotations

import sys

import numpy as np

from ..array import TracingError
from . import (
    _base,
    arrangement,
    bitwise,
    composed,
    contractions,
    creation,
    elementwise,
    fft,
    linalg,
    manipulation,
    reductions,
    selection,
    sequences,
    sorting,
    special,
    statistics,
)
from .contractions import matmul
from .elementwise import ELEMENTWISE, where
from .reductions import max, min, prod, sum

UFUNCS = {getattr(np, name): getattr(elementwise, name) for name in ELEMENTWISE
          if isinstance(getattr(np, name, None), np.ufunc)}
UFUNCS.update({np.true_divide: elementwise.divide, np.absolute: elementwise.abs, np.ceil: elementwise.ceil,
               np.radians: elementwise.deg2rad, np.degrees: elementwise.rad2deg, np.conjugate: elementwise.conj})
UFUNCS.update({getattr(np, name): getattr(composed, name) for name in (
    "fabs", "fmax", "fmin", "float_power", "heaviside", "logical_xor", "divmod", "signbit", "copysign", "modf",
    "ldexp")})
UFUNCS.update({np.matvec: contractions.matvec, np.vecmat: contractions.vecmat})
UFUNCS.update({getattr(np, name): getattr(bitwise, name) for name in (
    "bitwise_and", "bitwise_or", "bitwise_xor", "invert", "left_shift", "right_shift", "gcd", "lcm")})


_REDUCERS = {np.add: sum, np.maximum: max, np.minimum: min, np.multiply: prod}


UFUNCS.update({np.vecdot: contractions.vecdot})

# ufunc keywords a traced call takes at these values only (``dtype`` and vecdot's ``axis`` are applied)
_DEFAULTS = {"casting": "same_kind", "order": "K", "subok": True, "where": True, "signature": None, "axes": None}


def apply_ufunc(ufunc, method, inputs, kwargs):
    if kwargs.get("out") is not None:
        raise TracingError(f"numpy.{ufunc.__name__}(..., out=...) would modify an array in place, "
                                 "which tracing cannot record; assign the result instead")
    unsupported = [k for k in kwargs if k not in ("out", "dtype", "axis") and not _is_default(k, kwargs[k])
                   or k == "axis" and ufunc is not np.vecdot]
    if unsupported:
        raise TypeError(f"numpy.{ufunc.__name__}: the keyword {unsupported[0]}= is not supported on traced arrays")
    if method == "__call__":
        if ufunc is np.matmul:
            return matmul(*inputs)
        if ufunc in UFUNCS:
            if kwargs.get("dtype") is not None:
                return _in_loop_type(ufunc, inputs, np.dtype(kwargs["dtype"]))
            return UFUNCS[ufunc](*inputs, **({"axis": kwargs["axis"]} if "axis" in kwargs else {}))
        if _is_scipy_special(ufunc) and kwargs.get("dtype") is None:
            return special.UFUNCS[ufunc.__name__](*inputs)
    elif method == "reduce" and ufunc in _REDUCERS:
        return _REDUCERS[ufunc](inputs[0], axis=kwargs.get("axis", 0), keepdims=kwargs.get("keepdims", False))
    raise TypeError(f"numpy.{ufunc.__name__}{'' if method == '__call__' else '.' + method} is not "
                    "supported on traced arrays (while tracing for gradient/compile); use the "
                    "sf.* functions, e.g. sf.exp, sf.sum, sf.where")


def _is_scipy_special(ufunc) -> bool:
    """Whether ``ufunc`` is one of scipy.special's that ``special`` has (imported by the caller)."""
    scipy_special = sys.modules.get("scipy.special")
    return ufunc.__name__ in special.UFUNCS and getattr(scipy_special, ufunc.__name__, None) is ufunc


def _is_default(keyword: str, value) -> bool:
    default = _DEFAULTS.get(keyword, object())
    return value is default or isinstance(value, (str, bool)) and value == default


def _in_loop_type(ufunc, inputs, dtype: np.dtype):
    """``ufunc(*inputs, dtype=dtype)``: computed in the loop NumPy picks for that output type (int8 +
    int8 with dtype=int16 adds in int16, sqrt of int8 with dtype=float64 is a float64 root)."""
    given = tuple(type(x) if isinstance(x, (bool, int, float, complex)) else _base.dtype_of(x) for x in inputs)
    loop = ufunc.resolve_dtypes(given + (None,) * ufunc.nout, signature=(None,) * ufunc.nin + (dtype,) * ufunc.nout)
    result = UFUNCS[ufunc](*[elementwise.astype(x, t) for x, t in zip(inputs, loop)])
    if ufunc.nout == 1:
        return elementwise.astype(result, loop[-1])
    return tuple(elementwise.astype(r, t) for r, t in zip(result, loop[ufunc.nin:]))


def _qualified(func) -> str:
    """numpy.sum, numpy.linalg.inv, numpy.fft.rfft."""
    module = getattr(func, "__module__", None) or "numpy"
    return f"{module if module.startswith('numpy.') and module.count('.') == 1 else 'numpy'}.{func.__name__}"


def apply_function(func, args, kwargs):
    impl = FUNCTIONS.get(func)
    if impl is None:
        raise TypeError(f"{_qualified(func)} is not supported on traced arrays (while tracing for "
                        "gradient/compile); supported NumPy functions: "
                        + ", ".join(sorted(_qualified(f).removeprefix("numpy.") for f in FUNCTIONS)))
    kwargs = {k: v for k, v in kwargs.items() if k not in ("dtype", "out", "order") or v is not None}
    return impl(*args, **kwargs)


def _same_named(*modules) -> dict:
    """NumPy's function → ours, for every function of ``modules`` that NumPy has under its name."""
    out = {}
    for module in modules:
        for name, ours in vars(module).items():
            theirs = getattr(np, name, None)
            if (callable(ours) and not name.startswith("_") and getattr(ours, "__module__", None) == module.__name__
                    and callable(theirs) and not isinstance(theirs, np.ufunc)):
                out[theirs] = ours
    return out


FUNCTIONS = _same_named(_base, elementwise, reductions, contractions, manipulation, arrangement, sorting, creation,
                        composed, statistics, sequences, selection)
FUNCTIONS.update({getattr(np.linalg, name): getattr(linalg, name) for name in (
    "inv", "solve", "slogdet", "det", "cholesky", "eig", "eigvals", "eigh", "eigvalsh", "svd", "svdvals", "qr",
    "pinv", "lstsq", "matrix_power", "norm", "vector_norm", "matrix_norm", "cond", "matrix_rank", "multi_dot",
    "tensorinv", "tensorsolve", "outer", "cross", "diagonal", "trace", "matmul", "tensordot", "vecdot",
    "matrix_transpose")})
FUNCTIONS.update({getattr(np.fft, name): getattr(fft, name) for name in (
    "fft", "ifft", "rfft", "irfft", "fft2", "ifft2", "rfft2", "irfft2", "fftn", "ifftn", "rfftn", "irfftn", "fftshift",
    "ifftshift")})
FUNCTIONS.update({np.amax: max, np.amin: min, np.row_stack: arrangement.row_stack,
                  np.where: lambda c, a, b: where(c, a, b)})
