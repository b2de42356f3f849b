"""Reductions: sum, mean, max, prod, var, logsumexp, softmax, their nan* forms, …"""

from __future__ import annotations

import warnings

import numpy as np
import sympy

from .. import functions as fn
from .. import interp, ops, trace
from ..array import Tracer, TracingError
from ..ir import ARG, OBJECT
from ..symbolic import on_symbols
from ._base import _node, _plain, _rewrap, dtype_of, ndim, shape
from .elementwise import (
    add,
    astype,
    conj,
    divide,
    equal,
    exp,
    isnan,
    log,
    logical_not,
    maximum,
    minimum,
    multiply,
    not_equal,
    power,
    real,
    sqrt,
    stop_gradient,
    subtract,
    where,
)
from .elementwise import where as elementwise_where  # (the reductions' where= is a mask)
from .manipulation import broadcast_to, concatenate, reshape, squeeze, transpose


def _keep(result, x_shape, axis, keepdims):
    if not keepdims:
        return result
    axes = ops.normalize_axes(axis, len(x_shape))
    return reshape(result, tuple(1 if i in axes else d for i, d in enumerate(x_shape)))


def _given(**options) -> dict:
    """NumPy's optional reduction arguments that were given (``where=True`` is none)."""
    return {k: v for k, v in options.items() if v is not None and not (k == "where" and v is True)}


def _by_numpy(name, x, mask=True, objects=True, **options):
    """NumPy's own reduction ``name`` of ``x`` (exactly its result) when neither ``x`` nor the ``where``
    mask is traced (and, unless ``objects``, ``x`` holds no SymPy values); None otherwise, where
    ``out=`` is refused: tracing cannot record a write into an array."""
    if not trace.any_traced([x, mask]) and (objects or _plain(x).dtype != OBJECT):
        return _rewrap(getattr(np, name)(_plain(x), **_given(**options, where=mask)), x)
    _no_out(name, options.get("out"))
    return None


def _no_out(name, out):
    if out is not None:
        raise TracingError(f"sf.{name}(..., out=...) would modify an array in place, which tracing cannot "
                           "record; assign the result instead")


def _masked(x, mask, fill):
    """``x`` with ``fill`` (a weakly typed Python value) where NumPy's ``where=`` mask is false."""
    return x if mask is True else elementwise_where(mask, x, fill)


def _cast(initial, dtype):
    """NumPy's ``initial=``: converted to the reduction's type as C converts it (2.5 → 2 for integers)."""
    with np.errstate(all="ignore"):
        return np.asarray(initial).astype(dtype)[()]


def _count(x, axis, keepdims, mask):
    """How many values ``mask`` lets into each reduction, in ``x``'s type."""
    dims = shape(x)
    if mask is True:
        n = ops.prod([dims[a] for a in ops.normalize_axes(axis, len(dims))])
        return sympy.Integer(n) if isinstance(n, int) else n
    return astype(sum(broadcast_to(mask, dims), axis=axis, keepdims=keepdims), dtype_of(x))


@on_symbols
def sum(x, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    """NumPy's sum, differentiable: in ``dtype`` if given, of the values ``where`` lets in, plus ``initial``."""
    plain = _by_numpy("sum", x, where, axis=axis, dtype=dtype, out=out, keepdims=keepdims, initial=initial)
    if plain is not None:
        return plain
    if dtype is not None:
        x = astype(x, dtype)
    node = _node(_masked(x, where, False))
    total = _keep(Tracer(ops.reduce("sum", node, axis)), node.shape, axis, keepdims)
    if dtype is not None:  # small integers are summed in 64 bits; NumPy's wrap the same way
        total = astype(total, dtype)
    return total if initial is None else add(total, _cast(initial, dtype_of(total)))


@on_symbols
def mean(x, axis=None, dtype=None, out=None, keepdims=False, *, where=True):
    """NumPy's mean: sum(x, axis) / count, of integers in float64, in ``dtype`` if given."""
    plain = _by_numpy("mean", x, where, False, axis=axis, dtype=dtype, out=out, keepdims=keepdims)
    if plain is not None:
        return plain
    if dtype is not None or dtype_of(x).kind in "biu":  # NumPy averages integers in float64
        x = astype(x, dtype or np.float64)
    return divide(sum(x, axis=axis, keepdims=keepdims, where=where), _count(x, axis, keepdims, where))


def _extremum(kind, x, axis, keepdims, initial=None, mask=True, out=None):
    plain = _by_numpy(kind, x, mask, False, axis=axis, out=out, keepdims=keepdims, initial=initial)
    if plain is not None:
        return plain
    if trace.is_symbolic(x) or not trace.is_traced(x):  # SymPy values: exact
        return _rewrap(interp.evaluate([ops.reduce(kind, ops.const(_plain(x)), axis)], {}, True)[0], x)
    if mask is not True and initial is None:
        raise ValueError(f"sf.{kind}: a where= mask needs an initial value (the reduction has no identity)")
    initial = None if initial is None else _cast(initial, dtype_of(x))
    node = _node(_masked(x, mask, initial))
    axes = ops.normalize_axes(axis, node.ndim)
    if initial is not None and any(node.shape[a] == 0 for a in axes):  # only the initial value
        kept = tuple(d for i, d in enumerate(node.shape) if i not in axes)
        return _keep(Tracer(ops.fill(initial, kept, node.dtype)), node.shape, axis, keepdims)
    result = _keep(Tracer(ops.reduce(kind, node, axis)), node.shape, axis, keepdims)
    return result if initial is None else (maximum if kind == "max" else minimum)(result, initial)


@on_symbols
def max(x, axis=None, out=None, keepdims=False, initial=None, where=True):
    """NumPy's max (with ``initial`` and a ``where`` mask); ties share the gradient equally."""
    return _extremum("max", x, axis, keepdims, initial, where, out)


@on_symbols
def min(x, axis=None, out=None, keepdims=False, initial=None, where=True):
    """NumPy's min (with ``initial`` and a ``where`` mask); ties share the gradient equally."""
    return _extremum("min", x, axis, keepdims, initial, where, out)


amax, amin = max, min


def prod(x, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    """prod(x, axis=None): the product as a chain of multiplies (graph size grows with the axis)."""
    plain = _by_numpy("prod", x, where, axis=axis, dtype=dtype, out=out, keepdims=keepdims, initial=initial)
    if plain is not None:
        return plain
    if dtype is not None:
        x = astype(x, dtype)
    elif x.dtype.kind in "biu" and x.dtype.itemsize < 8:  # NumPy multiplies small integers in 64 bits
        x = astype(x, np.uint64 if x.dtype.kind == "u" else np.int64)
    x = _masked(x, where, True)  # True: a weakly typed 1
    shape = x.shape
    axes = ops.normalize_axes(axis, len(shape))
    moved = transpose(x, [i for i in range(len(shape)) if i not in axes] + list(axes))
    kept, count = moved.shape[:len(shape) - len(axes)], ops.prod([shape[a] for a in axes])
    if count == 0:  # the empty product
        result = Tracer(ops.fill(1, kept, x.dtype if x.dtype.kind in "fcOu" else np.int64))
    else:
        flat = reshape(moved, kept + (count,))
        result = flat[..., 0]
        for i in range(1, flat.shape[-1]):
            result = result * flat[..., i]
    result = _keep(result, shape, axis, keepdims)
    return result if initial is None else multiply(result, _cast(initial, dtype_of(result)))


def var(x, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True, correction=None):
    """var(x, axis=None, ddof=0) = sum((x - mean)²) / (n - ddof) (``correction`` is ``ddof``)."""
    ddof = ddof if correction is None else correction
    plain = _by_numpy("var", x, where, False, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims)
    if plain is not None:
        return plain
    if dtype is not None or dtype_of(x).kind in "biu":
        x = astype(x, dtype or np.float64)
    centred = subtract(x, mean(x, axis=axis, keepdims=True, where=where))
    return divide(sum(abs_squared(centred), axis=axis, keepdims=keepdims, where=where),
                  _count(x, axis, keepdims, where) - ddof)


def std(x, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True, correction=None):
    """std(x, axis=None, ddof=0) = sqrt(var(x)); its derivative where var(x) = 0 is 0 (``root``)."""
    return root(var(x, axis, dtype, out, ddof, keepdims, where=where, correction=correction))


def abs_squared(x):
    """|x|², as NumPy takes it for var and norms: x·x, or re(x·conj(x)) for complex x."""
    return real(multiply(x, conj(x))) if dtype_of(x).kind == "c" else multiply(x, x)


def root(s, p=2):
    """s^(1/p) of a sum of |x|^p (a norm, a standard deviation), with derivative 0 where s = 0: the
    subgradient PyTorch and Zygote take there, where the chain rule gives x/‖x‖ = 0/0. SymPy values
    keep the plain root (the closed form SymPy's own derivative has)."""
    take = sqrt if p == 2 else (lambda v: power(v, 1.0 / p))
    if dtype_of(s) == OBJECT:
        return take(s)
    zero = equal(s, 0)
    return where(zero, 0, take(where(zero, 1, s)))


@on_symbols
def logsumexp(x, axis=None, keepdims=False):
    """logsumexp(x, axis) = m + log(sum(exp(x − m))), m = max(x): stable in float32."""
    m = _shift(x, axis)
    out = add(m, log(sum(exp(subtract(x, m)), axis=axis, keepdims=True)))
    return out if keepdims else squeeze(out, axis=ops.normalize_axes(axis, ndim(x)))


def _shift(x, axis):
    """max(x, axis), subtracted for stability by functions that do not depend on it (not differentiated)."""
    m = max(x, axis=axis, keepdims=True)
    return Tracer(ops.detach(m.node, ("shift",))) if isinstance(m, Tracer) else stop_gradient(m)


@on_symbols
def softmax(x, axis=-1):
    """softmax(x, axis=-1) = exp(x − m) / sum(exp(x − m)), m = max(x, axis) (batch-first)."""
    e = exp(subtract(x, _shift(x, axis)))
    return divide(e, sum(e, axis=axis, keepdims=True))


@on_symbols
def logsoftmax(x, axis=-1):
    """logsoftmax(x, axis=-1) = x − logsumexp(x, axis)."""
    return subtract(x, logsumexp(x, axis=axis, keepdims=True))


# -- cumulative ---------------------------------------------------------------------------------------

def cumsum(a, axis=None, dtype=None, out=None):
    """Running sums along ``axis`` (the flattened array when None): out[i] = Σ_{j ≤ i} a[j], as a masked
    sum over an n × n window (no 0·inf products), so the graph does not grow with n."""
    if not trace.is_traced(a):
        return _rewrap(np.cumsum(_plain(a), axis=axis, dtype=dtype, out=out), a)
    _no_out("cumsum", out)
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    a = _widened(a) if dtype is None else astype(a, dtype)
    moved = _node(transpose(a, _to_last(ndim(a), axis)))
    n = moved.shape[-1]
    upto = ops.const(np.tri(n, n, dtype=bool).T)  # [j, i]: j ≤ i
    terms = ops.map_(sympy.Piecewise((ARG[0], fn.truth(ARG[1])), (0, True)),
                     [ops.reshape(moved, moved.shape + (1,)), upto])
    out = Tracer(ops.reduce("sum", terms, [moved.ndim - 1]))
    return transpose(out, np.argsort(_to_last(ndim(a), axis)))


def cumprod(a, axis=None, dtype=None, out=None):
    """Running products along ``axis`` (the flattened array when None), as a chain of multiplies."""
    if not trace.is_traced(a):
        return _rewrap(np.cumprod(_plain(a), axis=axis, dtype=dtype, out=out), a)
    _no_out("cumprod", out)
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    a = _widened(a) if dtype is None else astype(a, dtype)
    moved = transpose(a, _to_last(ndim(a), axis))
    running = [moved[..., :1]]
    for i in range(1, moved.shape[-1]):
        running.append(running[-1] * moved[..., i:i + 1])
    out = concatenate(running, axis=-1) if running[0].shape[-1] else moved
    return transpose(out, np.argsort(_to_last(ndim(a), axis)))


def cumulative_sum(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    """Running sums along ``axis`` (which a 1-D x may leave out), led by a 0 with ``include_initial``
    (NumPy 2's ``cumulative_sum``)."""
    return _cumulative(cumsum, np.cumulative_sum, x, axis, dtype, out, include_initial, 0)


def cumulative_prod(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    """Running products along ``axis`` (which a 1-D x may leave out), led by a 1 with
    ``include_initial`` (NumPy 2's ``cumulative_prod``)."""
    return _cumulative(cumprod, np.cumulative_prod, x, axis, dtype, out, include_initial, 1)


def _cumulative(running, numpy_running, x, axis, dtype, out, include_initial, initial):
    if not trace.is_traced(x):
        return _rewrap(numpy_running(_plain(x), axis=axis, dtype=dtype, out=out, include_initial=include_initial), x)
    if axis is None:
        if ndim(x) != 1:
            raise ValueError(f"{numpy_running.__name__}: axis must be given for an array of more than one axis")
        axis = 0
    result = running(x, axis=axis, dtype=dtype, out=out)
    if not include_initial:
        return result
    axis %= ndim(result)
    first = tuple(1 if k == axis else d for k, d in enumerate(shape(result)))
    return concatenate([Tracer(ops.fill(initial, first, result.dtype)), result], axis=axis)


def _widened(a):
    """Running sums and products of small integers (and bools) are in 64 bits, as NumPy does them."""
    kind, size = a.dtype.kind, a.dtype.itemsize
    return astype(a, np.uint64 if kind == "u" else np.int64) if kind in "biu" and size < 8 else a


def _to_last(n, axis):
    axis %= n
    return [i for i in range(n) if i != axis] + [axis]


def diff(a, n=1, axis=-1, prepend=None, append=None):
    """The n-th discrete difference along ``axis``: out[i] = a[i + 1] − a[i], n times (of bools:
    a[i + 1] != a[i])."""
    if not trace.any_traced([a, prepend, append]):
        kw = {k: v for k, v in (("prepend", prepend), ("append", append)) if v is not None}
        return _rewrap(np.diff(_plain(a), n, axis, **kw), a)
    axis %= ndim(a)
    pieces = [p if p is None or ndim(p) else broadcast_to(p, _with(shape(a), axis, 1)) for p in (prepend, append)]
    a = concatenate([p for p in (pieces[0], a, pieces[1]) if p is not None], axis=axis)
    lead = (slice(None),) * axis
    step = not_equal if dtype_of(a).kind == "b" else subtract  # NumPy's diff of bools: where they change
    for _ in range(n):
        a = step(a[lead + (slice(1, None),)], a[lead + (slice(None, -1),)])
    return a


def _with(s, axis, size):
    return tuple(s[:axis]) + (size,) + tuple(s[axis + 1:])


# -- ignoring NaNs -----------------------------------------------------------------------------------
# NumPy's nan* reductions: NaNs are left out (their gradient is 0); integers and bools have none.

def _has_nans(x) -> bool:
    return dtype_of(x).kind in "fc"


def _nans_as(x, fill):
    return where(isnan(x), fill, x) if _has_nans(x) else x


def _present(x, axis, keepdims):
    """How many values along ``axis`` are not NaN, in ``x``'s real float type."""
    counted = np.empty(0, dtype_of(x)).real.dtype
    return sum(astype(logical_not(isnan(x)), counted), axis=axis, keepdims=keepdims)


def _nan_reduction(name, x, traced, **kw):
    """NumPy's own ``name`` on plain arrays (exactly its result), ``traced()`` on traced ones."""
    if trace.is_traced(x) or _plain(x).dtype == OBJECT:
        return traced()
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: NaN, as documented
        return _rewrap(getattr(np, name)(_plain(x), **kw), x)


def nansum(x, axis=None, keepdims=False):
    """The sum of the values that are not NaN (0 where there are none)."""
    return _nan_reduction("nansum", x, lambda: sum(_nans_as(x, 0), axis=axis, keepdims=keepdims),
                          axis=axis, keepdims=keepdims)


def nanprod(x, axis=None, keepdims=False):
    """The product of the values that are not NaN (1 where there are none)."""
    return _nan_reduction("nanprod", x, lambda: prod(_nans_as(x, 1), axis=axis, keepdims=keepdims),
                          axis=axis, keepdims=keepdims)


def _nan_extremum(kind, x, axis, keepdims):
    def traced():
        if not _has_nans(x):
            return _extremum(kind, x, axis, keepdims)
        extremum = _extremum(kind, _nans_as(x, -np.inf if kind == "max" else np.inf), axis, keepdims)
        return where(_present(x, axis, keepdims) > 0, extremum, np.nan)
    return _nan_reduction("nan" + kind, x, traced, axis=axis, keepdims=keepdims)


def nanmax(x, axis=None, keepdims=False):
    """The largest value that is not NaN (NaN where there is none)."""
    return _nan_extremum("max", x, axis, keepdims)


def nanmin(x, axis=None, keepdims=False):
    """The smallest value that is not NaN (NaN where there is none)."""
    return _nan_extremum("min", x, axis, keepdims)


def nanmean(x, axis=None, keepdims=False):
    """The mean of the values that are not NaN (NaN where there are none)."""
    def traced():
        if not _has_nans(x):
            return mean(x, axis=axis, keepdims=keepdims)
        return divide(nansum(x, axis=axis, keepdims=keepdims), _present(x, axis, keepdims))
    return _nan_reduction("nanmean", x, traced, axis=axis, keepdims=keepdims)


def nanvar(x, axis=None, ddof=0, keepdims=False):
    """The variance of the values that are not NaN: Σ(x − nanmean)² / (count − ddof)."""
    def traced():
        if not _has_nans(x):
            return var(x, axis=axis, ddof=ddof, keepdims=keepdims)
        centred = where(isnan(x), 0, subtract(x, nanmean(x, axis=axis, keepdims=True)))  # 0, not NaN·0, below NaNs
        return divide(sum(abs_squared(centred), axis=axis, keepdims=keepdims), _present(x, axis, keepdims) - ddof)
    return _nan_reduction("nanvar", x, traced, axis=axis, ddof=ddof, keepdims=keepdims)


def nanstd(x, axis=None, ddof=0, keepdims=False):
    """sqrt(nanvar(x)), with derivative 0 where nanvar(x) = 0 (``root``)."""
    return root(nanvar(x, axis=axis, ddof=ddof, keepdims=keepdims))


def nancumsum(a, axis=None, dtype=None, out=None):
    """Running sums with NaNs counted as 0."""
    return cumsum(_nans_as(a, 0), axis, dtype, out)


def nancumprod(a, axis=None, dtype=None, out=None):
    """Running products with NaNs counted as 1."""
    return cumprod(_nans_as(a, 1), axis, dtype, out)
