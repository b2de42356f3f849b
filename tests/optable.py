"""The differential op table (in the spirit of PyTorch's OpInfo and autograd's test_systematic):
each entry is one function of the ``sf`` namespace or one NumPy function symflux dispatches, with
its NumPy reference and the dtypes it is defined for; ``samples`` makes inputs with special values
and awkward layouts; ``PATHS`` run a function the ways a user can.

Known, documented deviations from NumPy (docs/numerics.md) are encoded here, not hidden in
tolerances: float functions of int8/uint8/bool give float32 where NumPy gives float16, so those
dtypes are not sampled for float functions.
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import subprocess
import tempfile
from collections.abc import Callable

import numpy as np
import scipy.special

import symflux as sf
from symflux import interp
from symflux.compile import Traced

FLOATS = (np.float64, np.float32)
INTS = (np.int8, np.int32, np.int64, np.uint8, np.uint64)
ALL = FLOATS + INTS + (np.bool_,)
FLOAT_RESULT = FLOATS + (np.int32, np.int64)  # integer inputs to float functions: float64 in both


def _numpy_sigmoid(x):
    with np.errstate(over="ignore"):
        return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x))).astype(np.result_type(x, 0.5))


def _typed(f):
    """A NumPy reference computed in float64 and rounded to the input's float type (activations
    have no NumPy function; symflux computes them in that type or wider)."""
    def reference(*xs):
        dtype = np.result_type(*xs, np.float16)
        dtype = dtype if dtype in (np.float32, np.float64) else np.float64
        with np.errstate(all="ignore"):
            return np.asarray(f(*[np.asarray(x, np.float64) for x in xs])).astype(dtype)
    return reference


def _softplus(x):
    return np.logaddexp(0, x)


ACTIVATIONS = {
    "sigmoid": _numpy_sigmoid,
    "relu": lambda x: np.where(np.isnan(x), x, np.maximum(x, 0)),
    "leakyrelu": lambda x: np.where(x > 0, x, 0.01 * x),
    "relu6": lambda x: np.where(np.isnan(x), x, np.clip(x, 0, 6)),
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "celu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)),
    "softplus": _softplus,
    "logsigmoid": lambda x: -_softplus(-x),
    "swish": lambda x: x * _numpy_sigmoid(x),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "trelu": lambda x: np.where(x > 1, x, np.where(np.isnan(x), x, 0)),
    "hardtanh": lambda x: np.where(np.isnan(x), x, np.clip(x, -1, 1)),
    "hardsigmoid": lambda x: np.where(np.isnan(x), x, np.clip(0.2 * x + 0.5, 0, 1)),
    "gelu": lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
    "lisht": lambda x: x * np.tanh(x),
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "tanhshrink": lambda x: x - np.tanh(x),
    "softshrink": lambda x: np.where(np.isnan(x), x, np.minimum(np.maximum(0, x - 0.5), x + 0.5)),
}


@dataclasses.dataclass
class OpInfo:
    name: str
    op: Callable
    reference: Callable
    dtypes: tuple = FLOAT_RESULT
    arity: int = 1
    rtol: float = 1e-13  # float64
    rtol32: float = 4e-6  # float32 (computed in float32: cancellation can cost more, see gelu)
    exportable: bool = True  # through sf.export_c
    domain: Callable | None = None  # sample values kept (for ops whose NumPy result is undefined elsewhere)


def _u(name, dtypes=FLOAT_RESULT, **kw):
    return OpInfo(name, getattr(sf, name), getattr(np, name), dtypes, 1, **kw)


def _b(name, dtypes=ALL, **kw):
    return OpInfo(name, getattr(sf, name), getattr(np, name), dtypes, 2, **kw)


def _native(result):
    """NumPy's result in native byte order (np.round of integers copies its input's)."""
    return result.astype(result.dtype.newbyteorder("="))


def _no_zero_division(a, b):
    return np.asarray(b) != 0


OPS = [
    # arithmetic: every dtype, with NumPy's wrap-around for integers
    _b("add"), _b("subtract", FLOATS + INTS), _b("multiply"),
    _b("divide", FLOATS + INTS, domain=_no_zero_division),
    _b("maximum"), _b("minimum"),
    _b("floor_divide", FLOATS + INTS, domain=_no_zero_division),
    _b("remainder", FLOATS + (np.int32, np.int64), domain=lambda a, b: (np.asarray(b) != 0) & np.isfinite(b)),
    _b("power", FLOATS),
    # NumPy's integer power (wrapping); it raises for negative exponents, which symflux cannot from compiled code
    _b("power", (np.int64, np.int32, np.int8, np.uint8, np.uint64, np.bool_), domain=lambda a, b: np.asarray(b) >= 0),
    _b("arctan2", FLOAT_RESULT),
    _b("fmod", FLOATS + (np.int32, np.int64), domain=lambda a, b: (np.asarray(b) != 0) & np.isfinite(b)),
    _b("hypot", FLOAT_RESULT), _b("logaddexp", FLOAT_RESULT), _b("logaddexp2", FLOAT_RESULT, rtol=1e-12),
    _b("greater"), _b("greater_equal"), _b("less"), _b("less_equal"), _b("equal"), _b("not_equal"),
    _b("logical_and"), _b("logical_or"), _b("logical_xor"),
    # bits of integers (two's complement; shifts past the width as NumPy's), logic of bools
    _b("bitwise_and", INTS + (np.bool_,)), _b("bitwise_or", INTS + (np.bool_,)), _b("bitwise_xor", INTS + (np.bool_,)),
    _u("invert", INTS + (np.bool_,)), _b("left_shift", INTS + (np.bool_,)), _b("right_shift", INTS + (np.bool_,)),
    _b("gcd", INTS), _b("lcm", INTS),
    OpInfo("& | ^ ~ << >>", lambda a, b: (a & b) ^ ~(a | b) ^ (a << (b & 3)) ^ (a >> b),
           lambda a, b: (a & b) ^ ~(a | b) ^ (a << (b & 3)) ^ (a >> b), INTS, 2),
    # written with the functions above (symflux/numpy/composed.py)
    _b("fmax"), _b("fmin"), _u("fabs"), _b("float_power", FLOATS + (np.int32, np.int64)), _b("heaviside", FLOAT_RESULT),
    OpInfo("divmod[0]", lambda a, b: sf.divmod(a, b)[0], lambda a, b: np.divmod(a, b)[0], FLOATS + INTS, 2,
           domain=_no_zero_division),
    OpInfo("divmod[1]", lambda a, b: sf.divmod(a, b)[1], lambda a, b: np.divmod(a, b)[1], FLOATS + (np.int32, np.int64),
           2, domain=lambda a, b: (np.asarray(b) != 0) & np.isfinite(b)),
    _u("signbit", FLOATS + INTS), _b("copysign", FLOAT_RESULT), _u("isposinf", FLOATS + INTS),
    _u("isneginf", FLOATS + INTS), _b("isclose", FLOATS + (np.int32, np.int64)),
    OpInfo("isclose(equal_nan)", lambda a, b: sf.isclose(a, b, 1e-3, 0.5, True),
           lambda a, b: np.isclose(a, b, 1e-3, 0.5, True), FLOATS, 2),
    OpInfo("modf[0]", lambda x: sf.modf(x)[0], lambda x: np.modf(x)[0], FLOATS + (np.int32, np.int64)),
    OpInfo("modf[1]", lambda x: sf.modf(x)[1], lambda x: np.modf(x)[1], FLOATS + (np.int32, np.int64)),
    _u("negative", FLOATS + INTS), _u("positive", ALL[:-1]), _u("square", FLOATS + INTS), _u("abs", FLOATS + INTS),
    _u("sign", FLOATS + INTS), _u("logical_not", ALL), _u("isnan", ALL), _u("isinf", ALL), _u("isfinite", ALL),
    _u("reciprocal", FLOATS),
    # NumPy's 1/0 is the platform's (int64: −2⁶³); symflux's 0
    OpInfo("reciprocal of integers", sf.reciprocal, np.reciprocal,
           (np.int64, np.int32, np.int8, np.uint8, np.uint64, np.bool_), domain=lambda x: np.asarray(x) != 0),
    # rounding: integers and bools come back unchanged, in their dtype (NumPy ≥ 2.1); rint is a float function
    _u("floor", ALL), _u("ceil", ALL), _u("trunc", ALL), _u("fix", ALL), _u("rint", FLOAT_RESULT),
    OpInfo("round", sf.round, lambda x: _native(np.round(x)), FLOATS + INTS),
    OpInfo("around", sf.around, lambda x: _native(np.around(x)), FLOATS + INTS),
    OpInfo("round(x, 2)", lambda x: sf.round(x, 2), lambda x: _native(np.round(x, 2)), FLOATS + INTS),
    OpInfo("round(x, -1)", lambda x: sf.round(x, -1), lambda x: _native(np.round(x, -1)), FLOATS + INTS),
    # float functions
    _u("sqrt"), _u("cbrt"), _u("exp"), _u("exp2"), _u("expm1"), _u("log"), _u("log2"), _u("log10"),
    _u("log1p"), _u("sin"), _u("cos"), _u("tan"), _u("arcsin"), _u("arccos"), _u("arctan"),
    _u("sinh"), _u("cosh"), _u("tanh"), _u("arcsinh"), _u("arccosh"), _u("arctanh"),
    _u("sinc", rtol=1e-12), _u("deg2rad"), _u("rad2deg"), _u("radians"), _u("degrees"),
    OpInfo("nan_to_num", sf.nan_to_num, lambda x: np.nan_to_num(x).astype(np.asarray(x).dtype.newbyteorder("=")),
           FLOATS),
]
OPS += [OpInfo(name, getattr(sf, name), _typed(ref), FLOATS, rtol=1e-12, rtol32=2e-4 if name == "gelu" else 4e-6)
        for name, ref in ACTIVATIONS.items()]


def _in_float_type(f):
    """SciPy's function rounded to NumPy's float type of its argument (scipy.special.polygamma is
    not a ufunc: float64 for any input)."""
    return lambda x: np.asarray(f(x)).astype(np.result_type(x, np.float16) if np.result_type(x, np.float16).kind == "f"
                                             and np.result_type(x, np.float16).itemsize >= 4 else np.float64)


# scipy.special's values (sf.special): libm's erf/erfc/tgamma, the runtime's polygamma/erfinv/gammaln
OPS += [OpInfo(f"special.{name}", getattr(sf.special, name), getattr(scipy.special, name), FLOAT_RESULT, arity,
               rtol=1e-12, rtol32=2e-5)
        for name, arity in (("erf", 1), ("erfc", 1), ("erfinv", 1), ("gamma", 1), ("psi", 1), ("expit", 1),
                            ("logit", 1), ("ndtr", 1), ("entr", 1), ("xlogy", 2), ("xlog1py", 2))]
# SciPy's gammaln of a subnormal is +∞ (its 1/x overflows); −log x (745 at 5e−324) is libm's and symflux's
OPS += [OpInfo("special.gammaln", sf.special.gammaln, scipy.special.gammaln, FLOAT_RESULT, rtol=1e-12, rtol32=2e-5,
               domain=lambda x: ~(np.abs(x) < np.finfo(np.result_type(x, np.float32)).tiny) | (x == 0))]
OPS += [OpInfo(f"special.polygamma({n}, x)", lambda x, n=n: sf.special.polygamma(n, x),
               _in_float_type(lambda x, n=n: scipy.special.polygamma(n, x)), FLOAT_RESULT, rtol=1e-12, rtol32=2e-5)
        for n in (1, 2)]
REDUCTIONS = [
    OpInfo("sum", sf.sum, np.sum, ALL), OpInfo("max", sf.max, np.max, ALL), OpInfo("min", sf.min, np.min, ALL),
    OpInfo("prod", sf.prod, np.prod, FLOATS + INTS),
    OpInfo("mean", sf.mean, np.mean, FLOATS + (np.int32, np.int64), rtol=1e-12),
    OpInfo("np.max", np.max, np.max, ALL), OpInfo("np.amin", np.amin, np.amin, ALL),
    OpInfo("np.sum", np.sum, np.sum, ALL),
    # NaNs left out (the special values hold one)
    OpInfo("nansum", sf.nansum, np.nansum, ALL), OpInfo("nanprod", sf.nanprod, np.nanprod, FLOATS + INTS),
    OpInfo("nanmax", sf.nanmax, np.nanmax, ALL), OpInfo("nanmin", sf.nanmin, np.nanmin, ALL),
    OpInfo("nanmean", sf.nanmean, np.nanmean, FLOATS + (np.int32, np.int64), rtol=1e-12),
    # logical reductions and order statistics (NaN counts as true; a slice holding NaN has NaN quantiles)
    OpInfo("all", sf.all, np.all, ALL), OpInfo("any", sf.any, np.any, ALL), OpInfo("np.all", np.all, np.all, ALL),
    OpInfo("count_nonzero", sf.count_nonzero, np.count_nonzero, ALL), OpInfo("ptp", sf.ptp, np.ptp, FLOATS + INTS),
    OpInfo("median", sf.median, np.median, ALL, rtol=1e-12), OpInfo("np.median", np.median, np.median, ALL, rtol=1e-12),
    OpInfo("average", sf.average, np.average, ALL, rtol=1e-12),
    OpInfo("nanargmax", sf.nanargmax, np.nanargmax, FLOATS + INTS),
    OpInfo("nanargmin", sf.nanargmin, np.nanargmin, ALL),
    OpInfo("nancumsum", sf.nancumsum, np.nancumsum, ALL),
    OpInfo("nancumprod", sf.nancumprod, np.nancumprod, FLOATS + INTS),
    # (NumPy interpolates integers in their own type, wrapping at the extremes; symflux in float64)
    OpInfo("quantile 0.3", lambda x, axis: sf.quantile(x, 0.3, axis=axis),
           lambda x, axis: np.quantile(x, 0.3, axis=axis), FLOATS, rtol=1e-12),
    OpInfo("percentile [10, 90] nearest", lambda x, axis: sf.percentile(x, [10, 90], axis=axis, method="nearest"),
           lambda x, axis: np.percentile(x, [10, 90], axis=axis, method="nearest"), ALL),
    # the NaN-skipping order statistics gather at positions that depend on how many values are NaN
    OpInfo("nanmedian", sf.nanmedian, np.nanmedian, FLOATS + INTS, rtol=1e-12),
    OpInfo("nanquantile [0.3, 1]", lambda x, axis: sf.nanquantile(x, [0.3, 1.0], axis=axis),
           lambda x, axis: np.nanquantile(x, [0.3, 1.0], axis=axis), FLOATS, rtol=1e-12),
    OpInfo("nanpercentile 40 midpoint", lambda x, axis: sf.nanpercentile(x, 40, axis=axis, method="midpoint"),
           lambda x, axis: np.nanpercentile(x, 40, axis=axis, method="midpoint"), FLOATS, rtol=1e-12),
]


def special_values(dtype) -> np.ndarray:
    """Zeros of both signs, ±1, infinities, NaN, the extremes, tiny and subnormal numbers."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return np.array([True, False])
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        values = [0, 1, 2, 3, 7, 100, info.max, info.max - 1]
        values += [-1, -2, -7, -100, info.min] if dtype.kind == "i" else []
        return np.array(values, dtype=dtype)
    info = np.finfo(dtype)
    values = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.5, -3.75, 6.0, 30.0, -30.0, np.inf, -np.inf, np.nan,
              float(info.max), -float(info.max), float(info.tiny), float(info.smallest_subnormal), 1e-30, 1e30]
    with np.errstate(over="ignore"):
        return np.array(values, dtype=dtype)


def samples(dtype, arity: int, seed: int = 0):
    """(label, args) pairs: every pair of special values (broadcast), then layouts and shapes."""
    values = special_values(dtype)
    rng = np.random.default_rng(seed)
    if arity == 1:
        yield "special", (values,)
    else:
        a, b = np.meshgrid(values, values, indexing="ij")
        yield "special pairs", (a.ravel(), b.ravel())
        yield "broadcast (n,1) with (m,)", (values[:, None], values[: min(5, values.size)])
    pick = values[min(2, values.size - 1)]
    yield "0-d", tuple(np.asarray(pick) for _ in range(arity))
    yield "scalar", tuple(pick.item() if dtype == np.float64 else np.asarray(pick) for _ in range(arity))
    yield "empty", tuple(np.empty((0,), dtype) for _ in range(arity))
    yield "size 1", tuple(values[-1:] for _ in range(arity))
    grid = rng.choice(values, size=(4, 6))
    yield "non-contiguous", tuple(grid[:, ::2] for _ in range(arity))
    yield "Fortran order", tuple(np.asfortranarray(grid) for _ in range(arity))
    if np.dtype(dtype).itemsize > 1:
        swapped = grid.astype(np.dtype(dtype).newbyteorder(">" if np.little_endian else "<"))
        yield "byte-swapped", tuple(swapped for _ in range(arity))


# -- paths ----------------------------------------------------------------------------------------

def eager(f, *args):
    return f(*args)


def interpreted(f, *args):
    """The reference interpreter on the traced graph (what gradient evaluates)."""
    t = Traced(f, args)
    bindings = {node: np.asarray(a) for node, a in zip(t.arg_inputs + t.array_inputs, list(args) + t.arrays)}
    return interp.evaluate(t.outputs, bindings)[0]


def compiled(f, *args):
    return sf.compile(f)(*args)


_CC = None


def exported(f, *args):
    """``sf.export_c``, built with the system C compiler and called through ctypes."""
    global _CC
    arrays = [np.ascontiguousarray(a, dtype=np.asarray(a).dtype.newbyteorder("=")) for a in args]
    export = sf.export_c(f, *arrays, name="op")
    with tempfile.TemporaryDirectory() as directory:
        export.write(directory)
        library = os.path.join(directory, "op.so")
        subprocess.run(["cc", "-O1", "-shared", "-fPIC", "-o", library, os.path.join(directory, "op.c"), "-lm"],
                       check=True, capture_output=True)
        function = ctypes.CDLL(library).op
        outputs = [np.empty(shape, dtype) for shape, dtype in export.outputs]
        function(*[ctypes.c_void_p(a.ctypes.data) for a in arrays + outputs])
    return outputs[0]


PATHS = {"eager": eager, "interpreter": interpreted, "compiled": compiled}


def assert_numpy_equal(got, want, rtol, context="", rtol32=4e-6):
    """NumPy's dtype, shape, integers exact, NaN positions and infinities identical, floats close
    (complex numbers: their real and imaginary parts)."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, f"{context}: dtype {got.dtype}, NumPy {want.dtype}"
    assert got.shape == want.shape, f"{context}: shape {got.shape}, NumPy {want.shape}"
    if want.dtype.kind == "c":
        for part in (np.real, np.imag):
            assert_numpy_equal(part(got), part(want), rtol, context, rtol32)
        return
    if want.dtype.kind != "f":
        np.testing.assert_array_equal(got, want, err_msg=context)
        return
    rtol = max(rtol, rtol32) if want.dtype == np.float32 else rtol
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=f"{context}: NaN positions")
    finite = np.isfinite(want)
    np.testing.assert_array_equal(got[~finite & ~np.isnan(want)], want[~finite & ~np.isnan(want)],
                                  err_msg=f"{context}: infinities")
    tiny = np.finfo(want.dtype).tiny * 4
    np.testing.assert_allclose(got[finite], want[finite], rtol=rtol, atol=tiny, err_msg=context)


@dataclasses.dataclass
class Structural:
    """An op written once against a namespace (``np`` or ``sf``): ``f(m, x)`` for an input ``x``."""
    name: str
    f: Callable
    dtypes: tuple = (np.float64, np.float32, np.int32, np.int64)
    rtol: float = 1e-12


def _logsumexp(m, x):
    if m is np:
        top = np.max(x, axis=-1, keepdims=True)
        return np.squeeze(top, -1) + np.log(np.sum(np.exp(x - top), axis=-1))
    return m.logsumexp(x, axis=-1)


_GROUPED_WEIGHT = np.arange(8.0).reshape(2, 2, 2) - 3  # two groups of two channels, kernel 2 (transposed: (4, 1, 2))


def _grouped_conv(m, x):
    """conv and conv_transpose with groups=2 over x as (N=1, C=4, L=2), NumPy's by einsum."""
    v, w = x.T.reshape(1, 4, 2), _GROUPED_WEIGHT
    if m is not np:
        transposed = m.conv_transpose(v, w.reshape(4, 1, 2), groups=2)
        return m.concatenate([m.conv(v, w, groups=2).ravel(), transposed.ravel()])
    by_group = v.reshape(1, 2, 2, 2)  # (n, group, channel in group, position)
    conv = np.einsum("ngcl,gcl->ng", by_group, w.reshape(2, 1, 2, 2)[:, 0])
    spread = np.einsum("ngcl,gck->ngkl", by_group, w.reshape(2, 2, 1, 2)[:, :, 0])  # (n, g, k, l) → out[l + k]
    transposed = np.zeros((1, 2, 3))
    for k in range(2):
        transposed[:, :, k:k + 2] += spread[:, :, k]
    return np.concatenate([conv.ravel(), transposed.ravel()])


def _softmax(m, x):
    if m is np:
        e = np.exp(x - np.max(x, axis=-1, keepdims=True))
        return e / np.sum(e, axis=-1, keepdims=True)
    return m.softmax(x, axis=-1)


STRUCTURAL = [
    Structural("matmul", lambda m, x: m.matmul(x, m.transpose(x))),
    Structural("@ vector", lambda m, x: x @ x[0]),
    Structural("dot", lambda m, x: m.dot(x[0], x[1])),
    Structural("inner", lambda m, x: m.inner(x, x)),
    Structural("outer", lambda m, x: m.outer(x[0], x[1])),
    Structural("vdot", lambda m, x: m.vdot(x, x)),
    Structural("tensordot", lambda m, x: m.tensordot(x, x, axes=([1], [1]))),
    Structural("einsum", lambda m, x: m.einsum("ij,kj->ik", x, x)),
    Structural("reshape", lambda m, x: m.reshape(x, (-1, 2))),
    Structural("transpose", lambda m, x: m.transpose(x)),
    Structural("swapaxes", lambda m, x: m.swapaxes(x[None], 0, 2)),
    Structural("moveaxis", lambda m, x: m.moveaxis(x[None], 0, -1)),
    Structural("squeeze/expand_dims", lambda m, x: m.squeeze(m.expand_dims(x, 1), 1)),
    Structural("broadcast_to", lambda m, x: m.broadcast_to(x[0], (3,) + x[0].shape)),
    Structural("concatenate", lambda m, x: m.concatenate([x, x[::-1]], axis=1)),
    Structural("stack", lambda m, x: m.stack([x, x * 2], axis=1)),
    Structural("flip", lambda m, x: m.flip(x, 1)),
    Structural("ravel", lambda m, x: m.ravel(x)),
    Structural("slicing", lambda m, x: x[1:, ::-2]),
    Structural("index array", lambda m, x: x[:, [0, 2, 2]]),
    Structural("boolean mask", lambda m, x: x[np.array([True, False])]),
    Structural("negative index", lambda m, x: x[-1]),
    Structural("where", lambda m, x: m.where(x > 1, x, x * 3)),
    Structural("clip", lambda m, x: m.clip(x, 1, 4)),
    Structural("var", lambda m, x: m.var(x, axis=0), (np.float64, np.float32)),
    Structural("std", lambda m, x: m.std(x, axis=1), (np.float64, np.float32)),
    Structural("logsumexp", _logsumexp, (np.float64, np.float32)),
    Structural("append", lambda m, x: m.append(x, x[0])),
    Structural("split/array_split", lambda m, x: m.concatenate(m.split(x, 2, axis=1)[::-1] + m.array_split(x, 3, 1),
                                                               axis=1)),
    Structural("hstack/vstack/dstack", lambda m, x: m.dstack([m.vstack([x, x[0]]), m.vstack([x[::-1], x[1]])])),
    Structural("column_stack/atleast",
               lambda m, x: m.column_stack([x[0], m.atleast_2d(x[1]).T, m.atleast_3d(x)[..., 0].T])),
    Structural("cross", lambda m, x: m.cross(x[:, :3], x[:, 1:])),
    Structural("kron", lambda m, x: m.kron(x, x[:, :2])),
    Structural("cumsum", lambda m, x: m.cumsum(x, axis=1)),
    Structural("cumsum flat", lambda m, x: m.cumsum(x)),
    Structural("cumprod", lambda m, x: m.cumprod(x, axis=0)),
    Structural("diff", lambda m, x: m.diff(x, n=2, axis=1)),
    Structural("diag/diagonal", lambda m, x: m.diag(m.diagonal(x, 1), -1)),
    Structural("trace", lambda m, x: np.trace(x[:, 1:3])),
    Structural("sf.trace called", lambda m, x: m.trace(x[:, 1:3]) + m.trace(x, offset=1)),
    Structural("tril/triu", lambda m, x: m.tril(x, 1) + m.triu(x, 2)),
    Structural("tril/triu keep the type", lambda m, x: m.stack([m.tril(x, 1), m.triu(x, 2)]),
               (np.bool_, np.int8, np.float32)),
    Structural("real/imag/conj", lambda m, x: m.stack([m.real(x), m.imag(x), m.conj(x)]),
               (np.float64, np.float32, np.int32, np.int64, np.bool_)),
    Structural("flips/rot90", lambda m, x: m.rot90(m.fliplr(m.flipud(x)), 3)),
    Structural("roll", lambda m, x: m.roll(x, (1, -3), axis=(0, 1))),
    Structural("rollaxis/swapaxes", lambda m, x: m.rollaxis(m.swapaxes(x[None], axis1=0, axis2=2), 2)),
    Structural("tile/repeat", lambda m, x: m.repeat(m.tile(x, (1, 2)), [1, 2], axis=0)),
    Structural("pad", lambda m, x: m.pad(x, ((1, 0), (2, 1)))[:, :6] + m.pad(x, 1, mode="reflect")[:3, :6]),
    Structural("pad edge/wrap", lambda m, x: m.pad(x, (1, 2), mode="edge") - m.pad(x, (1, 2), mode="wrap")),
    Structural("select", lambda m, x: m.select([x > 3, x < 1], [x, x * 2], 7)),
    Structural("take", lambda m, x: m.take(x, [[1, 0], [7, -1]]) + m.take(x, [3, 0], axis=1)[:, :1]),
    Structural("take_along_axis", lambda m, x: m.take_along_axis(x, np.array([[2, 0], [1, 3]]), axis=1)),
    Structural("sort", lambda m, x: m.sort(x)),
    Structural("sort axis 0", lambda m, x: m.sort(x, axis=0)),
    Structural("argsort", lambda m, x: m.argsort(x, axis=None)),
    Structural("argmax/argmin", lambda m, x: m.argmax(x, axis=1) * 10 + m.argmin(x)),
    Structural("einsum complete", lambda m, x: m.einsum("...i,ki,...k->...", x, x.T[:, :2] @ x[:2], x)),
    Structural("einsum diagonal", lambda m, x: m.einsum("ii->i", x[:, :2]) + m.einsum(x, [0, 1], [1])[:2]),
    Structural("linspace", lambda m, x: m.linspace(x[0, 0], x[1, 1], 5)),
    Structural("r_/c_", lambda m, x: m.c_[m.r_[x[0], x[1]], m.r_[x[1], x[0]]]),
    Structural("softmax", _softmax, (np.float64, np.float32)),
    Structural("conv/conv_transpose groups", _grouped_conv, FLOATS),
    # symflux/numpy/sequences.py, statistics.py and the creation functions that take arrays
    Structural("convolve", lambda m, x: m.convolve(x[0], x[1, :3]) + m.convolve(x[1, :2], x[0], "same")[0]),
    Structural("convolve valid/correlate", lambda m, x: m.concatenate([m.convolve(x[0], x[1, 1:], "valid"),
                                                                       m.correlate(x[0], x[1, :3], "full"),
                                                                       m.correlate(x[1, :2], x[0], "same")])),
    Structural("trapezoid", lambda m, x: m.trapezoid(x, axis=0) + m.trapezoid(x, x[0] * 2.0)[0]),
    Structural("interp (np.interp: sf.interp is the interpreter)", lambda m, x: np.interp(x * 0.7, [-1.0, 0.5, 2, 4],
                                                                                          x[0] * 1.0)
               + np.interp(x, [0.0, 3], [1.0, 2], left=-7, right=9)),
    Structural("polyval/vander", lambda m, x: m.polyval(x[0], x) + m.vander(x[1], 3, increasing=True)[:2, :3].sum()),
    Structural("ediff1d", lambda m, x: m.ediff1d(x, to_begin=[7, 8], to_end=x[0, :1])),
    Structural("cov/corrcoef", lambda m, x: m.concatenate([m.cov(x), m.corrcoef(x.T, rowvar=False),
                                                           m.cov(x[0], x[1], bias=True)]),
               (np.float64, np.float32, np.int64)),
    Structural("cov rowvar=False", lambda m, x: m.cov(x, rowvar=False, ddof=0)),
    Structural("meshgrid", lambda m, x: m.stack(m.meshgrid(x[0], x[1, :3]) + m.meshgrid(x[1, :3], x[0], indexing="ij"))
               .sum(0)),
    Structural("broadcast_arrays/matrix_transpose",
               lambda m, x: m.stack(m.broadcast_arrays(x[:, :1], x[0])) + m.matrix_transpose(x[None, :, :2])[..., :1]),
    Structural("full_like/empty_like", lambda m, x: x + m.full_like(x, 3) + 0 * m.empty_like(x)),
    Structural("vecdot", lambda m, x: m.vecdot(x, x[::-1])),
    Structural("allclose", lambda m, x: m.stack([m.allclose(x, x * 1.000001), m.allclose(x, x + 1)])),
    # symflux/numpy/selection.py (positions and conditions constant, except searchsorted's values and sorter)
    Structural("searchsorted", lambda m, x: m.searchsorted(m.sort(x[0]), x) * 10 + m.searchsorted(
        x[1], x[0], "right", sorter=m.argsort(x[1], kind="stable"))),
    Structural("digitize", lambda m, x: m.digitize(x, [-1, 0.5, 4]) + m.digitize(x, [4, 2, 0], right=True)),
    Structural("delete/compress/extract", lambda m, x: m.concatenate([
        m.delete(x, [0, 2], axis=1).ravel(), m.delete(x, slice(1, 6, 2)), m.compress([False, True], x, axis=0)[0],
        m.extract(np.arange(8).reshape(2, 4) % 3 == 0, x)])),
    Structural("choose", lambda m, x: m.choose(np.array([[0, 1, 2, 1], [2, 0, 1, 1]]), [x, x * 2, x[::-1]])
               + m.choose(np.array([0, 5, -1, 2]), [x[0], x[1], x[0] + 1], mode="wrap")),
    Structural("piecewise", lambda m, x: m.piecewise(x, [x < 1, x > 3], [lambda v: -v, lambda v: v * 3, 7])),
    Structural("apply_along_axis", lambda m, x: m.apply_along_axis(lambda r: r[:2] * r[-1], 1, x).ravel()
               + m.apply_along_axis(lambda r: r.sum(), 0, x)),
    Structural("resize/indices", lambda m, x: m.resize(x, (3, 5)) + m.indices((3, 5))[1]),
    Structural("unravel_index/ravel_multi_index", lambda m, x: m.stack(m.unravel_index(
        m.abs(x).astype(np.int64), (2, 3))) + m.ravel_multi_index((m.abs(x).astype(np.int64) % 2,
                                                                   m.abs(x).astype(np.int64) % 3), (2, 3), order="F")),
    Structural("polyder/polyint", lambda m, x: m.concatenate([m.polyder(x[0], 2), m.polyint(x[1], 2, [1.0, 2.0])])),
    Structural("ldexp", lambda m, x: m.ldexp(x, np.array([1, -3, 0, 5]))),
    # NumPy 2's names and the rest of the array functions autograd's and JAX's users reach for
    Structural("cumulative_sum/cumulative_prod", lambda m, x: m.concatenate([
        m.cumulative_sum(x, axis=1, include_initial=True).ravel(), m.cumulative_prod(x[0])])),
    Structural("matvec/vecmat", lambda m, x: m.matvec(x, x[0]) + m.vecmat(x[1], x.T)),
    Structural("block/diagflat", lambda m, x: m.block([[x, x[:, :1]], [x[:1], x[:1, :1]]]).sum(0)
               + m.diagflat(x[0], 1)[0]),
    Structural("insert", lambda m, x: m.concatenate([m.insert(x, 1, x[0, 0], axis=1).ravel(),
                                                     m.insert(x, [0, 3], x[1, :2]),
                                                     m.insert(x, 2, [[7], [8]], axis=0)[2]])),
    Structural("isin/bincount", lambda m, x: m.concatenate([m.where(m.isin(x, [4, -2]), x, 0).ravel(),
                                                            m.bincount(np.array([0, 2, 2, 5]), x[0])])),
    Structural("copy/unstack/acos names", lambda m, x: m.stack(_numpy_named(m).unstack(m.copy(x), axis=1))
               + m.pow(m.permute_dims(x, (1, 0)), 2) + m.concat([x, x]).T[:, :1]),
    Structural("np.gradient", lambda m, x: m.stack(_numpy_named(m).gradient(x, 2.0, [0.0, 1, 3, 4.5]))
               + _numpy_named(m).gradient(x[0], edge_order=2)),
    Structural("unwrap", lambda m, x: m.unwrap(x * 1.7) + m.unwrap(x, axis=0, period=5.0), FLOATS),
    Structural("polyadd/polysub/polymul", lambda m, x: m.concatenate([
        m.polyadd(x[0], x[1, :2]), m.polysub(x[1, :3], x[0]), m.polymul(x[0], x[1, :2])])),
    Structural("polyfit", lambda m, x: m.polyfit(np.array([0.0, 1, 3, 4.5]), x.T, 2, w=np.array([1.0, 2, 1, 0.5])),
               FLOATS, rtol=1e-9),
    Structural("isreal/iscomplex/real_if_close", lambda m, x: m.stack([m.isreal(x), m.iscomplex(x)]).sum(0)
               + m.real_if_close(x)),
    Structural("geomspace", lambda m, x: m.geomspace(m.abs(x[0]) + 1, m.abs(x[1]) + 2, 5, axis=1), FLOATS),
    Structural("poly", lambda m, x: m.poly(x[0])),
    Structural("array_equal/array_equiv", lambda m, x: m.stack([m.array_equal(x, x[::-1]), m.array_equiv(x, x[0]),
                                                               m.array_equal(x, x * 1)])),
    Structural("argpartition", lambda m, x: m.take_along_axis(x, m.argpartition(x, 1, axis=0), axis=0)[1]),
]


def _numpy_named(m):
    """The namespace holding NumPy's functions where symflux's top level has Flux's of the same name."""
    return np if m is np else sf.numpy


@dataclasses.dataclass(frozen=True)
class Matrix:
    """A linear-algebra or Fourier function ``f(m, x)`` (m is NumPy or symflux) of a sample input;
    ``compiled``: sf.compile runs it (the Fourier transforms are complex: interpreter only)."""

    name: str
    f: Callable
    sample: Callable
    compiled: bool = True


def _square(dtype):
    return (np.array([[4.0, 1, 0.5], [1, 3, 0.2], [0.5, 0.2, 2]]) + np.diag([0.0, 0.3, 0.1])).astype(dtype)


def _wide(dtype):
    return np.array([[1.0, -2, 0.5, 3], [0.3, 1, -1, 2], [2, 0.1, 0.4, -0.6]]).astype(dtype)


MATRIX = [
    Matrix("inv", lambda m, x: m.linalg.inv(x), _square),
    Matrix("solve", lambda m, x: m.linalg.solve(x, x[0] + 1), _square),
    Matrix("det/slogdet", lambda m, x: m.linalg.det(x) + m.linalg.slogdet(x)[1], _square),
    Matrix("cholesky", lambda m, x: m.linalg.cholesky(x), _square),
    Matrix("eigh", lambda m, x: m.linalg.eigh(x)[0] + m.abs(m.linalg.eigh(x)[1][0]), _square),
    Matrix("eigvalsh", lambda m, x: m.linalg.eigvalsh(x), _square),
    Matrix("svd", lambda m, x: m.linalg.svd(x, compute_uv=False), _wide),
    Matrix("qr", lambda m, x: m.linalg.qr(x.T)[1], _wide),
    Matrix("pinv", lambda m, x: m.linalg.pinv(x), _wide),
    Matrix("matrix_power", lambda m, x: m.linalg.matrix_power(x, -2), _square),
    Matrix("norm", lambda m, x: m.linalg.norm(x, "nuc") + m.linalg.norm(x, 2), _wide),
    Matrix("vector_norm/matrix_norm", lambda m, x: m.linalg.vector_norm(x, axis=0, ord=3)
           + m.linalg.matrix_norm(x[None], ord=1) + m.linalg.vector_norm(x, keepdims=True)[0], _wide),
    Matrix("cond/matrix_rank", lambda m, x: m.linalg.cond(x) + m.linalg.cond(x, "fro") * m.linalg.matrix_rank(x[:2]),
           _square),
    Matrix("multi_dot", lambda m, x: m.linalg.multi_dot([x[0], x.T, x, x.T[:, :2]]), _wide),
    Matrix("tensorinv/tensorsolve", lambda m, x: m.linalg.tensorinv(x.reshape(3, 1, 3), ind=2).ravel()
           + m.linalg.tensorsolve(x, x[1]).sum(), _square),
    Matrix("linalg outer/cross/diagonal/trace", lambda m, x: m.linalg.outer(x[0], x[1]) + m.linalg.cross(x[0], x[2])
           + m.linalg.diagonal(x, offset=0) * m.linalg.trace(x), _square),
    Matrix("fft/ifft", lambda m, x: m.fft.ifft(m.fft.fft(x) * 2j, axis=0), _wide, compiled=False),
    Matrix("rfft/irfft", lambda m, x: m.fft.irfft(m.fft.rfft(x) ** 2, 5), _wide, compiled=False),
    Matrix("fft2/fftshift", lambda m, x: m.fft.fftshift(m.fft.fft2(x, norm="ortho")), _wide, compiled=False),
    Matrix("rfftn/irfftn", lambda m, x: m.fft.irfftn(m.fft.rfftn(x), s=(3, 4), axes=(0, 1)), _wide, compiled=False),
]


def structural_input(dtype):
    """A small matrix with repeated values (ties for max and sorting), and a zero."""
    return np.array([[3, 0, 5, 2], [1, 4, 4, -2]], dtype=dtype)
