"""NumPy's functions of 1-D sequences, written with symflux's own so that every path and derivative
follows from theirs: ``convolve``, ``correlate``, ``trapezoid``, ``interp``, ``polyval`` and the
other polynomial functions, ``ediff1d``, ``vander``, ``gradient`` and ``unwrap``."""

from __future__ import annotations

import numpy as np

from .. import ops, trace
from ._base import _none_traced, _plain, _rewrap, dtype_of, ndim, shape
from .arrangement import take
from .contractions import einsum
from .elementwise import (
    abs,
    add,
    astype,
    conj,
    divide,
    equal,
    greater,
    greater_equal,
    isnan,
    less,
    logical_and,
    multiply,
    power,
    remainder,
    subtract,
    where,
)
from .manipulation import concatenate, expand_dims, flip, ravel, reshape
from .reductions import cumsum, diff, sum


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


def polyadd(a1, a2):
    """The sum of two polynomials (coefficients highest power first): the shorter padded in front."""
    return _aligned(add, np.polyadd, a1, a2)


def polysub(a1, a2):
    """The difference of two polynomials (coefficients highest power first)."""
    return _aligned(subtract, np.polysub, a1, a2)


def _aligned(combine, numpy_combine, a1, a2):
    if _none_traced(a1, a2):
        return _rewrap(numpy_combine(_plain(a1), _plain(a2)), a1)
    a1, a2 = ravel(a1), ravel(a2)
    n1, n2 = shape(a1)[0], shape(a2)[0]
    longer = max(n1, n2)
    return combine(_front_padded(a1, longer), _front_padded(a2, longer))


def _front_padded(p, n):
    missing = n - shape(p)[0]
    return concatenate([np.zeros(missing, dtype=dtype_of(p)), p]) if missing else p


def polymul(a1, a2):
    """The product of two polynomials (coefficients highest power first): their convolution."""
    if _none_traced(a1, a2):
        return _rewrap(np.polymul(_plain(a1), _plain(a2)), a1)
    return convolve(ravel(a1), ravel(a2))


def poly(seq_of_zeros):
    """The coefficients (highest power first, leading 1) of the polynomial with the given roots: the
    product of the factors x − r (a traced square matrix's characteristic polynomial is refused)."""
    if _none_traced(seq_of_zeros):
        return _rewrap(np.poly(_plain(seq_of_zeros)), seq_of_zeros)
    if ndim(seq_of_zeros) > 1:
        raise TypeError("poly of a traced matrix: pass its eigenvalues (sf.linalg.eigvals) instead")
    roots = ravel(seq_of_zeros)
    coefficients = np.ones(1, np.result_type(dtype_of(roots), 1.0))
    for k in range(shape(roots)[0]):
        coefficients = polymul(coefficients, concatenate([np.ones(1, dtype_of(roots)), -roots[k:k + 1]]))
    return coefficients


def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """The least-squares polynomial of degree ``deg`` through (x, y) (coefficients highest power
    first; y may hold several columns), as NumPy scales and solves it. With constant x the solve is a
    constant pseudo-inverse applied to y; ``full`` and ``cov`` are NumPy's only."""
    if _none_traced(x, y, w):
        return np.polyfit(_plain(x), _plain(y), deg, rcond, full, None if w is None else _plain(w), cov)
    if full or cov:
        raise TypeError("polyfit: full= and cov= are not supported on traced values")
    if trace.is_traced(x) or trace.is_traced(w):
        raise TypeError("polyfit: x and w must be constant (the fit is linear in y)")
    x = np.asarray(_plain(x), dtype=np.float64)
    lhs = np.vander(x, deg + 1)
    rhs = y
    if w is not None:
        w = np.asarray(_plain(w), dtype=np.float64)
        lhs = lhs * w[:, None]
        rhs = multiply(y, w[:, None] if ndim(y) == 2 else w)
    scale = np.sqrt((lhs * lhs).sum(axis=0))
    solve = np.linalg.pinv(lhs / scale, rcond=len(x) * np.finfo(x.dtype).eps if rcond is None else rcond)
    coefficients = einsum("ij,j...->i...", solve, astype(rhs, np.float64))
    return divide(coefficients, scale[:, None] if ndim(y) == 2 else scale)


def gradient(f, *varargs, axis=None, edge_order=1):
    """NumPy's ``gradient``: second-order central differences inside, one-sided ones (first or second
    order) at the ends, for uniform spacings (scalars) or constant coordinates along each axis; a tuple
    when there are several axes."""
    if _none_traced(f, *varargs):
        return _rewrap_all(np.gradient(_plain(f), *[_plain(v) for v in varargs], axis=axis, edge_order=edge_order), f)
    if any(trace.is_traced(v) for v in varargs):
        raise TypeError("gradient: the spacings must be constant")
    axes = ops.normalize_axes(axis, ndim(f))
    spacings = list(varargs) if len(varargs) > 1 else list(varargs) * len(axes) if varargs else [1.0] * len(axes)
    if len(spacings) != len(axes):
        raise TypeError("gradient: give one spacing, or one per axis")
    if edge_order not in (1, 2):
        raise ValueError("gradient: edge_order must be 1 or 2")
    if dtype_of(f).kind in "biu":
        f = astype(f, np.float64)
    out = tuple(_derivative(f, a, np.asarray(_plain(h), dtype=np.float64), edge_order)
                for a, h in zip(axes, spacings))
    return out[0] if len(out) == 1 else out


def _rewrap_all(result, like):
    return tuple(_rewrap(r, like) for r in result) if isinstance(result, tuple) else _rewrap(result, like)


def _derivative(f, axis, h, edge_order):
    """∂f/∂x along ``axis`` with spacing ``h`` (a scalar, or the coordinates along the axis), by
    NumPy's stencils and in its order of operations."""
    n = shape(f)[axis]
    if n < edge_order + 1:
        raise ValueError("gradient: each axis needs at least edge_order + 1 values")
    window = lambda start, count: take(f, np.arange(start, start + count), axis=axis)
    column = lambda c: np.asarray(c, dtype=np.float64).reshape((-1,) + (1,) * (ndim(f) - axis - 1))

    def stencil(start, count, coefficients):  # Σⱼ cⱼ·f[start + j : start + j + count]
        terms = [multiply(window(start + j, count), c) for j, c in enumerate(coefficients)]
        return add(add(terms[0], terms[1]), terms[2]) if len(terms) == 3 else terms[0]
    if h.ndim == 0:
        inner = divide(subtract(window(2, n - 2), window(0, n - 2)), 2.0 * h)
        ends = ([-1.5 / h, 2.0 / h, -0.5 / h], [0.5 / h, -2.0 / h, 1.5 / h])
        steps = (h, h)
    else:
        if h.shape != (n,):
            raise ValueError("gradient: coordinates must match the length of their axis")
        dx = np.diff(h)
        d1, d2 = dx[:-1], dx[1:]
        inner = stencil(0, n - 2, [column(-d2 / (d1 * (d1 + d2))), column((d2 - d1) / (d1 * d2)),
                                   column(d1 / (d2 * (d1 + d2)))])
        (a1, a2), (b1, b2) = dx[:2], dx[-2:]
        ends = ([-(2.0 * a1 + a2) / (a1 * (a1 + a2)), (a1 + a2) / (a1 * a2), -a1 / (a2 * (a1 + a2))],
                [b2 / (b1 * (b1 + b2)), -(b2 + b1) / (b1 * b2), (2.0 * b2 + b1) / (b2 * (b1 + b2))])
        steps = (dx[0], dx[-1])
    if edge_order == 1:
        first = divide(subtract(window(1, 1), window(0, 1)), steps[0])
        last = divide(subtract(window(n - 1, 1), window(n - 2, 1)), steps[1])
    else:
        first, last = stencil(0, 1, ends[0]), stencil(n - 3, 1, ends[1])
    return astype(concatenate([first, inner, last], axis=axis), dtype_of(f))  # NumPy writes into f's type


def unwrap(p, discont=None, axis=-1, *, period=2 * np.pi):
    """``p`` with jumps between neighbours larger than ``discont`` (default period/2) taken off by
    whole periods, as NumPy's ``unwrap`` does for floats."""
    if _none_traced(p):
        return _rewrap(np.unwrap(_plain(p), discont, axis, period=period), p)
    if dtype_of(p).kind != "f":
        p = astype(p, np.float64)
    discont = period / 2 if discont is None else max(discont, period / 2)
    dd = diff(p, axis=axis)
    ddmod = subtract(remainder(add(dd, period / 2), period), period / 2)
    ddmod = where(logical_and(equal(ddmod, -period / 2), greater(dd, 0)), period / 2, ddmod)
    correction = where(less(abs(dd), discont), 0.0, subtract(ddmod, dd))
    axis %= ndim(p)
    head = take(p, [0], axis=axis)
    return concatenate([head, add(take(p, np.arange(1, shape(p)[axis]), axis=axis), cumsum(correction, axis=axis))],
                       axis=axis)
