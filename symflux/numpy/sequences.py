"""NumPy's functions of 1-D sequences, written with symflux's own so that every path and derivative
follows from theirs: ``convolve``, ``correlate``, ``trapezoid``, ``interp``, ``polyval``,
``ediff1d`` and ``vander``."""

from __future__ import annotations

import numpy as np

from .. import trace
from ._base import _none_traced, _plain, _rewrap, dtype_of, ndim, shape
from .arrangement import take
from .contractions import einsum
from .elementwise import (
    add,
    astype,
    conj,
    divide,
    greater,
    greater_equal,
    isnan,
    less,
    logical_and,
    multiply,
    power,
    subtract,
    where,
)
from .manipulation import concatenate, expand_dims, flip, ravel, reshape
from .reductions import diff, sum


def convolve(a, v, mode="full"):
    """The discrete linear convolution (Σⱼ a[j]·v[k − j]) of two 1-D sequences, NumPy's modes
    'full', 'same' and 'valid'; differentiable in both."""
    if _none_traced(a, v):
        return _rewrap(np.convolve(_plain(a), _plain(v), mode), a)
    n, m = shape(a)[0], shape(v)[0]
    if n == 0 or m == 0:
        raise ValueError("convolve: a and v must not be empty")
    if m > n:  # NumPy swaps them so the longer one slides
        a, v, n, m = v, a, m, n
    # window k of the zero-padded a, its taps against v reversed: out[k] = Σᵢ a[k + i − (m − 1)] v[m − 1 − i]
    k, i = np.arange(n + m - 1)[:, None], np.arange(m)[None, :]
    position = k + i - (m - 1)
    inside = (position >= 0) & (position < n)
    windows = where(inside, take(a, np.clip(position, 0, n - 1)), False)
    full = einsum("ki,i->k", windows, flip(v, 0))
    if mode == "full":
        return full
    if mode == "same":
        start = (m - 1) // 2
        return full[start:start + n]
    if mode == "valid":
        return full[m - 1:n]
    raise ValueError(f"convolve: mode must be 'full', 'same' or 'valid', not {mode!r}")


def correlate(a, v, mode="valid"):
    """The cross-correlation Σₙ a[n + k]·conj(v[n]) of two 1-D sequences (NumPy's, 'valid' by default)."""
    if _none_traced(a, v):
        return _rewrap(np.correlate(_plain(a), _plain(v), mode), a)
    if shape(v)[0] > shape(a)[0]:  # NumPy correlates the longer with the shorter, then reverses: 'same' differs
        return conj(flip(correlate(v, a, mode), 0))
    return convolve(a, flip(conj(v), 0), mode)


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """∫y dx by the trapezoidal rule along ``axis``, with sample points ``x`` (or spacing ``dx``):
    Σ d·(y[i + 1] + y[i]) / 2, in NumPy's order of operations."""
    if _none_traced(y, x, dx):
        return _rewrap(np.trapezoid(_plain(y), None if x is None else _plain(x), dx, axis), y)
    axis %= ndim(y)
    if x is None:
        d = dx
    elif ndim(x) == 1:  # along axis
        d = reshape(diff(x), tuple(-1 if i == axis else 1 for i in range(ndim(y))))
    else:
        d = diff(x, axis=axis)
    lead = (slice(None),) * axis
    return sum(divide(multiply(d, add(y[lead + (slice(1, None),)], y[lead + (slice(None, -1),)])), 2.0), axis=axis)


def interp(x, xp, fp, left=None, right=None, period=None):
    """The piecewise-linear interpolant through (xp, fp) at x, NumPy's ``interp``: fp[0] left of
    xp[0] (or ``left``), fp[-1] right of xp[-1] (or ``right``), NaN at NaN. ``xp`` must be constant
    and increasing; the result is differentiable in x and fp."""
    if _none_traced(x, xp, fp, left, right):
        return _rewrap(np.interp(_plain(x), _plain(xp), _plain(fp), left, right, period), x)
    if trace.is_traced(xp) or period is not None:
        raise TypeError("interp: xp must be constant (and period is not supported on traced values)")
    xp = np.asarray(xp, dtype=np.float64)
    if xp.ndim != 1 or xp.size == 0:
        raise ValueError("interp: xp must be a non-empty 1-D sequence")
    dtype = np.complex128 if dtype_of(fp).kind == "c" else np.float64
    x, fp = astype(x, np.float64), astype(fp, dtype)
    first, last = take(fp, 0), take(fp, xp.size - 1)
    out = where(greater(x, xp[-1]), last if right is None else right, last)
    out = where(less(x, xp[0]), first if left is None else left, out)
    for j in range(xp.size - 1):  # segment j: from xp[j] (included) to xp[j + 1]
        lo, hi = xp[j], xp[j + 1]
        slope = divide(subtract(take(fp, j + 1), take(fp, j)), hi - lo)
        inside = logical_and(greater_equal(x, lo), less(x, hi))
        out = where(inside, add(take(fp, j), multiply(slope, subtract(x, lo))), out)
    return where(isnan(x), np.nan, out)


def polyval(p, x):
    """p[0]·x^(n−1) + … + p[n−1] by Horner's rule (the coefficients highest power first)."""
    if _none_traced(p, x):
        return _rewrap(np.polyval(_plain(p), _plain(x)), x)
    out = multiply(x, 0)  # NumPy starts from zeros_like(x)
    for k in range(shape(p)[0]):
        out = add(multiply(out, x), take(p, k))
    return out


def ediff1d(ary, to_end=None, to_begin=None):
    """The differences of consecutive elements of the flattened array, with ``to_begin``/``to_end``
    added at its ends."""
    if _none_traced(ary, to_end, to_begin):
        return _rewrap(np.ediff1d(_plain(ary), to_end, to_begin), ary)
    d = diff(ravel(ary))
    parts = [ravel(astype(p, dtype_of(d))) for p in (to_begin,) if p is not None] + [d]
    parts += [ravel(astype(p, dtype_of(d))) for p in (to_end,) if p is not None]
    return concatenate(parts) if len(parts) > 1 else d


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of a 1-D x: columns x^(N−1), …, x, 1 (the other way with ``increasing``)."""
    if _none_traced(x):
        return _rewrap(np.vander(_plain(x), N, increasing), x)
    n = shape(x)[0] if N is None else N
    powers = np.arange(n) if increasing else np.arange(n)[::-1]
    return power(expand_dims(x, 1), powers)


def polyder(p, m=1):
    """The coefficients of the m-th derivative of the polynomial p (highest power first)."""
    if _none_traced(p):
        return _rewrap(np.polyder(_plain(p), m), p)
    for _ in range(m):
        n = shape(p)[0] - 1
        p = multiply(p[:-1], np.arange(n, 0, -1)) if n > 0 else multiply(p[:1], 0)
    return p


def polyint(p, m=1, k=None):
    """The coefficients of the m-th antiderivative of p, with constant integration constants ``k``
    (one per integration, or one for all; 0 by default)."""
    if _none_traced(p):
        return _rewrap(np.polyint(_plain(p), m, k), p)
    if trace.is_traced(k):
        raise TypeError("polyint: the integration constants k must be constant")
    constants = np.zeros(m) if k is None else np.broadcast_to(np.atleast_1d(np.asarray(k, np.float64)), (m,))
    for j in range(m):
        n = shape(p)[0]
        scaled = divide(p, np.arange(n, 0, -1).astype(np.float64))
        p = concatenate([scaled, astype(constants[j:j + 1], dtype_of(scaled))])
    return p
