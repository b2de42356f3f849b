"""NumPy's logical reductions and statistics, written with symflux's own functions so that every
path and derivative follows from theirs: ``all``, ``any``, ``allclose``, ``count_nonzero``, ``ptp``,
``average``, ``quantile``, ``percentile``, ``median`` and their NaN-skipping ``nan*`` forms,
``nanargmax``/``nanargmin``, ``cov`` and ``corrcoef``."""

from __future__ import annotations

import numpy as np

from .. import ops, trace
from ..array import Tracer
from ._base import _none_traced, _plain, _rewrap, dtype_of, ndim, shape
from .arrangement import atleast_2d, diagonal, take, take_along_axis
from .composed import isclose
from .contractions import matmul
from .creation import eye
from .elementwise import (
    add,
    astype,
    ceil,
    clip,
    conj,
    divide,
    equal,
    floor,
    floor_divide,
    isnan,
    logical_and,
    logical_not,
    logical_or,
    multiply,
    not_equal,
    remainder,
    rint,
    sqrt,
    subtract,
    where,
)
from .manipulation import broadcast_to, concatenate, expand_dims, moveaxis, reshape, squeeze, swapaxes
from .reductions import max, mean, min, nanmean, sum
from .sorting import argmax, argmin, sort


def all(a, axis=None, out=None, keepdims=False, *, where=True):  # noqa: A001 (NumPy's name)
    """Whether every value (along ``axis``) is nonzero; NaN counts as true, as in NumPy."""
    if _none_traced(a, where):
        return _rewrap(np.all(_plain(a), axis=axis, out=out, keepdims=keepdims, where=where), a)
    return equal(sum(equal(a, False), axis=axis, out=out, keepdims=keepdims, where=where), 0)


def any(a, axis=None, out=None, keepdims=False, *, where=True):  # noqa: A001 (NumPy's name)
    """Whether some value (along ``axis``) is nonzero; NaN counts as true, as in NumPy."""
    if _none_traced(a, where):
        return _rewrap(np.any(_plain(a), axis=axis, out=out, keepdims=keepdims, where=where), a)
    return not_equal(sum(not_equal(a, False), axis=axis, out=out, keepdims=keepdims, where=where), 0)


def count_nonzero(a, axis=None, *, keepdims=False):
    """How many values (along ``axis``) are nonzero, as int64."""
    if _none_traced(a):
        return _rewrap(np.asarray(np.count_nonzero(_plain(a), axis=axis, keepdims=keepdims), np.int64), a)
    return sum(not_equal(a, False), axis=axis, keepdims=keepdims)


def ptp(a, axis=None, out=None, keepdims=False):
    """Peak to peak: max − min along ``axis``."""
    if _none_traced(a):
        return _rewrap(np.ptp(_plain(a), axis=axis, out=out, keepdims=keepdims), a)
    return subtract(max(a, axis=axis, out=out, keepdims=keepdims), min(a, axis=axis, keepdims=keepdims))


def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """The weighted mean Σ w·a / Σ w along ``axis`` (the mean without weights); ``returned`` adds
    the sum of the weights. 1-D weights go along ``axis``, as NumPy takes them."""
    if _none_traced(a, weights):
        return _rewrap(np.average(_plain(a), axis, None if weights is None else _plain(weights), returned,
                                  keepdims=keepdims), a)
    if weights is None:
        avg = mean(a, axis=axis, keepdims=keepdims)
        count = np.prod([shape(a)[i] for i in ops.normalize_axes(axis, ndim(a))], dtype=np.int64)
        return (avg, broadcast_to(np.asarray(count, dtype_of(avg)), shape(avg))) if returned else avg
    kinds = (dtype_of(a), dtype_of(weights))
    dtype = np.result_type(*kinds) if kinds[0].kind in "fc" else np.result_type(*kinds, np.float64)
    a, w = astype(a, dtype), astype(weights, dtype)
    if shape(w) != shape(a):
        if axis is None or ndim(w) != 1 or shape(w)[0] != shape(a)[axis]:
            raise ValueError(f"average: weights of shape {shape(w)} do not fit a of shape {shape(a)} "
                             "(1-D weights need the axis they go along)")
        w = broadcast_to(moveaxis(reshape(w, shape(w) + (1,) * (ndim(a) - 1)), 0, axis % ndim(a)), shape(a))
    scale = sum(w, axis=axis, keepdims=keepdims)
    total = sum(multiply(a, w), axis=axis, keepdims=keepdims)
    avg = divide(total, scale)
    return (avg, broadcast_to(scale, shape(avg))) if returned else avg


_METHODS = ("linear", "lower", "higher", "nearest", "midpoint")


def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    """The ``q``-th quantiles (0 ≤ q ≤ 1, constant) along ``axis``, by NumPy's ``method`` (linear,
    lower, higher, nearest, midpoint), from the sorted values: the gradient goes to the values the
    quantile is made of. NaN where a slice holds NaN; interpolated ones of integers are float64."""
    if _none_traced(a):
        return _rewrap(np.quantile(_plain(a), q, axis=axis, out=out, method=method, keepdims=keepdims), a)
    _checked_method(method, q)
    interpolated = method in ("linear", "midpoint")
    if interpolated:
        a = astype(a, _interpolated_type(dtype_of(a), q))
    q = np.asarray(q, dtype=np.float64)
    moved, ordered = _sorted_slices(a, axis)
    position = q * (shape(moved)[-1] - 1)
    lower = np.floor(position).astype(np.int64)
    if not interpolated:
        chosen = {"lower": lower, "higher": np.ceil(position), "nearest": np.around(position)}[method]
        value = take(ordered, np.asarray(chosen, np.int64), axis=-1)
    else:
        t = position - lower if method == "linear" else np.where(position == lower, 0.0, 0.5)
        value = _lerp(take(ordered, lower, axis=-1), take(ordered, np.ceil(position).astype(np.int64), axis=-1), t)
    return _shaped(value, moved, q.shape, a, axis, keepdims)


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The median along ``axis``: the middle value, or the mean of the middle two (float64 for
    integers and bools); NaN where a slice holds NaN."""
    if _none_traced(a):
        return _rewrap(np.median(_plain(a), axis=axis, out=out, keepdims=keepdims), a)
    a = astype(a, np.float64) if dtype_of(a).kind in "biu" else a
    moved, ordered = _sorted_slices(a, axis, empty_ok=True)
    n = shape(moved)[-1]
    if n == 0:  # NumPy: NaN (with a warning)
        return _shaped(Tracer(ops.fill(np.nan, shape(moved)[:-1], dtype_of(moved))), moved, (), a, axis, keepdims)
    middle = take(ordered, (n - 1) // 2, axis=-1)
    value = middle if n % 2 else divide(add(middle, take(ordered, n // 2, axis=-1)), 2)
    return _shaped(value, moved, (), a, axis, keepdims)


def nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    """``quantile`` of the values that are not NaN (NaN where a slice has none): the positions
    interpolated between depend on how many there are, so the values are gathered at traced positions."""
    if _none_traced(a):
        return _rewrap(np.nanquantile(_plain(a), q, axis=axis, out=out, method=method, keepdims=keepdims), a)
    if dtype_of(a).kind != "f":
        return quantile(a, q, axis, out, overwrite_input, method, keepdims)
    _checked_method(method, q)
    if not np.prod(shape(a)):  # NumPy's answer for no values at all, whatever q
        return nanmean(a, axis, keepdims=keepdims)
    a = astype(a, _interpolated_type(dtype_of(a), q)) if method in ("linear", "midpoint") else a
    q = np.asarray(q, dtype=np.float64)
    moved, ordered = _sorted_slices(a, axis)  # NaNs sort last
    counted = sum(logical_not(isnan(moved)), axis=-1, keepdims=True)
    position = multiply(astype(subtract(counted, 1), np.float64), q.reshape(-1))
    lower, upper = floor(position), ceil(position)
    at = lambda p: take_along_axis(ordered, astype(p, np.int64), axis=-1)
    if method in ("lower", "higher", "nearest"):
        value = at({"lower": lower, "higher": upper, "nearest": rint(position)}[method])
    else:
        t = subtract(position, lower) if method == "linear" else where(equal(position, lower), 0.0, 0.5)
        value = _lerp(at(lower), at(upper), astype(t, dtype_of(ordered)))
    value = reshape(value, tuple(shape(moved))[:-1] + q.shape)
    return _shaped(value, moved, q.shape, a, axis, keepdims, skip_nan=True)


def nanpercentile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    """The ``q``-th percentiles (0 ≤ q ≤ 100) of the values that are not NaN."""
    if _none_traced(a):
        return _rewrap(np.nanpercentile(_plain(a), q, axis=axis, out=out, method=method, keepdims=keepdims), a)
    q = q / 100 if isinstance(q, (int, float)) else np.true_divide(q, 100)
    return nanquantile(a, q, axis, out, overwrite_input, method, keepdims)


def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The median of the values that are not NaN: the middle one, or the mean of the middle two."""
    if _none_traced(a):
        return _rewrap(np.nanmedian(_plain(a), axis=axis, out=out, keepdims=keepdims), a)
    if dtype_of(a).kind != "f":
        return median(a, axis, out, overwrite_input, keepdims)
    if not np.prod(shape(a)):
        return nanmean(a, axis, keepdims=keepdims)
    moved, ordered = _sorted_slices(a, axis)
    counted = sum(logical_not(isnan(moved)), axis=-1, keepdims=True)
    low = take_along_axis(ordered, floor_divide(subtract(counted, 1), 2), axis=-1)
    high = take_along_axis(ordered, floor_divide(counted, 2), axis=-1)
    value = where(equal(remainder(counted, 2), 1), low, divide(add(low, high), 2))
    return _shaped(reshape(value, tuple(shape(moved))[:-1]), moved, (), a, axis, keepdims, skip_nan=True)


def _checked_method(method, q):
    if trace.is_traced(q):
        raise TypeError("quantile: q must be constant (a traced q has no place in the sorted values)")
    if method not in _METHODS:
        raise ValueError(f"quantile: method {method!r} is not supported; use one of {', '.join(_METHODS)}")
    if np.any((np.asarray(q) < 0) | (np.asarray(q) > 1)):
        raise ValueError("quantile: q must be in the range [0, 1]")


def _sorted_slices(a, axis, empty_ok=False):
    """``a`` with the axes reduced over moved last and flattened into one, and that sorted."""
    dims = shape(a)
    axes = ops.normalize_axes(axis, len(dims))
    kept = tuple(dims[i] for i in range(len(dims)) if i not in axes)
    length = int(np.prod([dims[i] for i in axes], dtype=np.int64))  # not -1: it may be 0 beside 0s
    moved = reshape(moveaxis(a, axes, tuple(range(-len(axes), 0))), kept + (length,))
    if shape(moved)[-1] == 0 and not empty_ok:
        raise ValueError("cannot take a quantile of an empty slice")
    return moved, sort(moved, axis=-1)


def _shaped(value, moved, q_shape, a, axis, keepdims, skip_nan=False):
    """Quantiles of the slices (slice axes, then q's), NaN for slices holding NaN (all NaN, when
    NaNs are skipped), laid out as NumPy lays them out: q's axes first, then the kept axes (reduced
    ones as 1 with ``keepdims``)."""
    if dtype_of(moved).kind == "f":
        nans = sum(isnan(moved), axis=-1)
        flags = equal(nans, shape(moved)[-1]) if skip_nan else not_equal(nans, 0)
        value = where(reshape(flags, shape(moved)[:-1] + (1,) * len(q_shape)), np.nan, value)
    q_ndim = len(q_shape)
    value = moveaxis(value, tuple(range(-q_ndim, 0)), tuple(range(q_ndim))) if q_ndim else value
    if keepdims:
        axes = ops.normalize_axes(axis, ndim(a))
        value = reshape(value, tuple(q_shape) + tuple(1 if i in axes else d for i, d in enumerate(shape(a))))
    return value


def _interpolated_type(dtype, q) -> np.dtype:
    """Interpolated quantiles of integers and bools are float64; a Python number q leaves float32
    data float32 (NEP 50). NumPy cannot interpolate bools."""
    if dtype.kind == "b":
        raise TypeError("quantile: bools cannot be interpolated; use method='lower', 'higher' or 'nearest'")
    return np.result_type(np.float64 if dtype.kind in "iu" else dtype,
                          q if isinstance(q, (int, float)) else np.asarray(q).dtype)


def _lerp(low, high, t):
    """low + (high − low)·t, as high − (high − low)·(1 − t) where t ≥ 0.5: NumPy's ``_lerp``, which
    is exact at both ends (and so NaN between a number and an infinity above the middle)."""
    diff = subtract(high, low)
    t = t if trace.is_traced(t) else np.asarray(t, dtype=dtype_of(diff))
    return where(t >= 0.5, subtract(high, multiply(diff, 1 - t)), add(low, multiply(diff, t)))


def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    """The ``q``-th percentiles (0 ≤ q ≤ 100): ``quantile(a, q / 100)``."""
    if _none_traced(a):
        return _rewrap(np.percentile(_plain(a), q, axis=axis, out=out, method=method, keepdims=keepdims), a)
    q = q / 100 if isinstance(q, (int, float)) else np.true_divide(q, 100)
    return quantile(a, q, axis, out, overwrite_input, method, keepdims)


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether every pair is ``isclose`` (a 0-d bool while tracing)."""
    if _none_traced(a, b):
        return np.allclose(_plain(a), _plain(b), rtol, atol, equal_nan)
    return all(isclose(a, b, rtol, atol, equal_nan))


def array_equal(a1, a2, equal_nan=False):
    """Whether a1 and a2 have one shape and equal elements (NaNs equal with ``equal_nan``); a 0-d
    bool while tracing (a Python False for shapes that differ)."""
    if _none_traced(a1, a2):
        return np.array_equal(_plain(a1), _plain(a2), equal_nan)
    if tuple(shape(a1)) != tuple(shape(a2)):
        return False
    same = equal(a1, a2)
    return all(logical_or(same, logical_and(isnan(a1), isnan(a2))) if equal_nan else same)


def array_equiv(a1, a2):
    """Whether a1 and a2 broadcast together and are equal element by element."""
    if _none_traced(a1, a2):
        return np.array_equiv(_plain(a1), _plain(a2))
    try:
        ops.broadcast_shapes(tuple(shape(a1)), tuple(shape(a2)))
    except ops.ShapeError:
        return False
    return all(equal(a1, a2))


def _nan_arg(kind, a, axis, out, keepdims):
    if _none_traced(a):
        f = np.nanargmax if kind == "max" else np.nanargmin
        return _rewrap(f(_plain(a), axis=axis, out=out, keepdims=keepdims), a)
    if dtype_of(a).kind not in "fc":
        return (argmax if kind == "max" else argmin)(a, axis, out, keepdims)
    return (argmax if kind == "max" else argmin)(where(isnan(a), -np.inf if kind == "max" else np.inf, a), axis,
                                                  out, keepdims)


def nanargmax(a, axis=None, out=None, *, keepdims=False):
    """The index of the first maximum, NaNs left out (an all-NaN slice gives 0: NumPy raises)."""
    return _nan_arg("max", a, axis, out, keepdims)


def nanargmin(a, axis=None, out=None, *, keepdims=False):
    """The index of the first minimum, NaNs left out (an all-NaN slice gives 0: NumPy raises)."""
    return _nan_arg("min", a, axis, out, keepdims)


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *, dtype=None):
    """The covariance matrix of the variables in ``m`` (rows, or columns without ``rowvar``) and ``y``:
    (X − mean)(X − mean)ᴴ / (N − ddof), ddof 1 unless ``bias``. Weights are not supported while tracing."""
    if _none_traced(m, y):
        return _rewrap(np.cov(_plain(m), None if y is None else _plain(y), rowvar, bias, ddof, fweights, aweights,
                              dtype=dtype), m)
    if fweights is not None or aweights is not None:
        raise TypeError("cov: fweights and aweights are not supported on traced arrays")
    kind = np.result_type(dtype_of(m) if y is None else np.result_type(dtype_of(m), dtype_of(y)), np.float64)
    x = _as_rows(astype(m, dtype or kind), rowvar)
    if y is not None:
        x = concatenate([x, _as_rows(astype(y, dtype or kind), rowvar)], axis=0)
    n = shape(x)[1]
    ddof = (0 if bias else 1) if ddof is None else ddof
    centred = subtract(x, mean(x, axis=1, keepdims=True))
    c = divide(matmul(centred, swapaxes(conj(centred), 0, 1)), n - ddof)
    return squeeze(c)


def _as_rows(x, rowvar):
    """The variables as rows: NumPy reads a 1-D array as one variable, and columns without ``rowvar``."""
    x = atleast_2d(x)
    return x if rowvar or shape(x)[0] == 1 else swapaxes(x, 0, 1)


def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """Pearson correlation coefficients: cov / √(varᵢ·varⱼ), clipped to [−1, 1] as NumPy does."""
    if _none_traced(x, y):
        return _rewrap(np.corrcoef(_plain(x), None if y is None else _plain(y), rowvar, dtype=dtype), x)
    c = cov(x, y, rowvar, dtype=dtype)
    if ndim(c) == 0:
        return divide(c, c)
    d = sqrt(diagonal(c))
    r = divide(divide(c, expand_dims(d, 1)), expand_dims(d, 0))
    # the diagonal is 1 with no derivative (NaN where a variance is 0 or NaN): clipped at the kink, the
    # partial derivatives, each recomputing r with its own rounding, took different sides of it
    on_diagonal = eye(shape(c)[0], dtype=bool)
    return where(on_diagonal, where(isnan(r), r, 1.0), clip(r, -1, 1))
