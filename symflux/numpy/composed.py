"""NumPy functions written with symflux's own, so that every path (eager, interpreter, compiled,
exported C, CUDA) and every derivative follows from theirs: ``fmax``/``fmin`` (NaN-ignoring),
``fabs``, ``float_power``, ``heaviside``, ``logical_xor``, ``divmod``, ``signbit``, ``copysign``,
``isposinf``/``isneginf``, ``isclose``, ``modf``, ``ldexp``, ``isreal``/``iscomplex`` and
``real_if_close``."""

from __future__ import annotations

import numpy as np

from .. import ops, trace
from ._base import _plain, _rewrap, dtype_of, weak_result_type
from .elementwise import (
    abs,
    astype,
    equal,
    floor_divide,
    greater,
    imag,
    isfinite,
    isinf,
    isnan,
    less,
    less_equal,
    logical_and,
    logical_or,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    power,
    reciprocal,
    remainder,
    subtract,
    trunc,
    where,
)


def _in_float(x, dtype=None):
    """``x`` in the float type NumPy's float functions compute it in (or ``dtype``); Python numbers
    stay weak."""
    if isinstance(x, (bool, int, float)):
        return float(x)
    target = ops.float_type(dtype_of(x)) if dtype is None else np.dtype(dtype)
    return x if dtype_of(x) == target else astype(x, target)


def fmax(x1, x2):
    """The larger of ``x1`` and ``x2``, ignoring a NaN (NaN only where both are); NumPy's ``fmax``.
    Its gradient goes to the argument that is not NaN."""
    return where(isnan(x2), x1, where(isnan(x1), x2, maximum(x1, x2)))


def fmin(x1, x2):
    """The smaller of ``x1`` and ``x2``, ignoring a NaN (NaN only where both are); NumPy's ``fmin``."""
    return where(isnan(x2), x1, where(isnan(x1), x2, minimum(x1, x2)))


def fabs(x):
    """|x| as a float (NumPy's ``fabs``; undefined for complex numbers)."""
    if dtype_of(x).kind == "c":
        raise TypeError("ufunc 'fabs' not supported for complex input: use abs")
    return abs(_in_float(x))


def float_power(x1, x2):
    """``x1 ** x2`` computed in float64 at least (complex128 for complex), as NumPy's ``float_power``:
    integer powers do not wrap, and negative integer exponents are allowed."""
    dtype = np.result_type(weak_result_type(x1, x2), np.float64)
    return power(_in_float(x1, dtype), _in_float(x2, dtype))


def heaviside(x1, x2):
    """The step function: 0 where ``x1 < 0``, ``x2`` where ``x1 == 0``, 1 where ``x1 > 0``, NaN where
    ``x1`` is NaN (NumPy's ``heaviside``); its derivative in ``x1`` is 0."""
    dtype = ops.float_type(weak_result_type(x1, x2))
    x1, x2 = astype(x1, dtype), astype(x2, dtype)
    return where(isnan(x1), x1, where(less(x1, 0), 0.0, where(greater(x1, 0), 1.0, x2)))


def logical_xor(x1, x2):
    """Elementwise exclusive or of the truth values of ``x1`` and ``x2`` (nonzero and NaN are true)."""
    return not_equal(not_equal(x1, 0), not_equal(x2, 0))


def divmod(x1, x2):  # noqa: A001 (NumPy's name)
    """``(x1 // x2, x1 % x2)``, Python's floor rules, as NumPy's ``divmod``."""
    return floor_divide(x1, x2), remainder(x1, x2)


def signbit(x):
    """Whether the sign bit is set: true for negative numbers and −0.0 (a NaN counts as positive)."""
    if dtype_of(x).kind in "biuO":  # an exact zero has no sign (1/0 is SymPy's zoo, which has none)
        return less(x, 0)
    x = _in_float(x)
    return logical_or(less(x, 0), logical_and(equal(x, 0), less(reciprocal(x), 0)))


def copysign(x1, x2):
    """|x1| with the sign of x2 (−0.0 counts as negative), as floats (NumPy's ``copysign``); the
    gradient in x1 is ±1, in x2 zero."""
    dtype = ops.float_type(weak_result_type(x1, x2))
    magnitude = abs(astype(x1, dtype))  # Python numbers too: NumPy's where would make them float64
    return where(signbit(astype(x2, dtype)), negative(magnitude), magnitude)


def isposinf(x):
    """Whether x is +∞."""
    return logical_and(isinf(x), greater(x, 0))


def isneginf(x):
    """Whether x is −∞."""
    return logical_and(isinf(x), less(x, 0))


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|a − b| ≤ atol + rtol·|b| (NumPy's ``isclose``: not symmetric); infinities are close only to
    themselves, NaN to nothing unless ``equal_nan``."""
    dtype = ops.float_type(weak_result_type(a, b, 1.0))
    a, b = _in_float(a, dtype), _in_float(b, dtype)
    finite = logical_and(isfinite(a), isfinite(b))
    close = where(finite, less_equal(abs(subtract(a, b)), atol + multiply(rtol, abs(b))), equal(a, b))
    return logical_or(close, logical_and(isnan(a), isnan(b))) if equal_nan else close


def modf(x):
    """(fractional part, integral part), both with x's sign (NumPy's ``modf``): ±∞ give (±0, ±∞)."""
    x = _in_float(x)
    whole = trunc(x)
    return where(isinf(x), copysign(0.0, x), subtract(x, whole)), whole


def ldexp(x1, x2):
    """x1 · 2^x2 for integer x2, in x1's float type (exact: a power of two)."""
    if weak_result_type(x2).kind not in "biu":
        raise TypeError("ufunc 'ldexp' takes an integer exponent x2")
    dtype = ops.float_type(weak_result_type(x1))
    return astype(multiply(astype(x1, np.float64), power(2.0, x2)), dtype)  # one rounding, float32 past 2¹²⁷


def isreal(x):
    """Whether each element has no imaginary part (true throughout for real types)."""
    return equal(imag(x), 0)


def iscomplex(x):
    """Whether each element has an imaginary part (false throughout for real types)."""
    return not_equal(imag(x), 0)


def real_if_close(a, tol=100):
    """``a``'s real part when every imaginary part is within ``tol`` machine epsilons of 0. Whether
    they are decides the result's type, so a traced complex ``a`` is refused; a real one is ``a``."""
    if not trace.is_traced(a):
        return _rewrap(np.real_if_close(_plain(a), tol), a)
    if dtype_of(a).kind == "c":
        raise TypeError("real_if_close: a traced complex array's type cannot depend on its values; use sf.real")
    return a
