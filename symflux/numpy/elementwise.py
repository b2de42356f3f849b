"""Elementwise functions and activations, each a SymPy body (``ELEMENTWISE``) applied to traced values (a
``map`` node), plain arrays (NumPy) and SymPy values alike."""

from __future__ import annotations

import numpy as np
import sympy

from .. import functions as fn
from .. import ops, rng, trace
from ..array import Array, Tracer
from ..ir import OBJECT
from ._base import apply_elementwise, dtype_of, weak_result_type


def _where_body(c, a, b):
    return sympy.Piecewise((a, fn.truth(c)), (b, True))


ELEMENTWISE = {
    "add": lambda a, b: a + b,
    "subtract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
    "divide": lambda a, b: a / b,
    "power": lambda a, b: a**b,
    "negative": lambda a: -a,
    "positive": lambda a: a,
    "reciprocal": lambda a: 1 / a,
    "square": lambda a: a**2,
    "sqrt": sympy.sqrt,
    "cbrt": fn.cbrt,
    "exp": sympy.exp,
    "exp2": lambda a: 2**a,
    "expm1": fn.expm1,
    "log": sympy.log,
    "log2": lambda a: sympy.log(a, 2),
    "log10": lambda a: sympy.log(a, 10),
    "log1p": fn.log1p,
    "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan,
    "arcsin": sympy.asin, "arccos": sympy.acos, "arctan": sympy.atan,
    "arctan2": lambda y, x: sympy.atan2(y, x),
    "sinh": sympy.sinh, "cosh": sympy.cosh, "tanh": sympy.tanh,
    "arcsinh": sympy.asinh, "arccosh": sympy.acosh, "arctanh": sympy.atanh,
    "abs": fn.abs_,
    "sign": fn.sign,
    "floor": sympy.floor,
    "ceil": sympy.ceiling,
    "trunc": fn.trunc,
    "rint": fn.rint,
    "floor_divide": fn.floor_divide,
    "remainder": fn.remainder,
    "fmod": fn.fmod,
    "hypot": fn.hypot,
    "logaddexp": fn.logaddexp,
    "logaddexp2": fn.logaddexp2,
    "sinc": fn.sinc,
    "deg2rad": lambda a: a * (sympy.pi / 180),
    "rad2deg": lambda a: a * (180 / sympy.pi),
    "maximum": fn.maximum,
    "minimum": fn.minimum,
    "where": _where_body,
    "greater": lambda a, b: a > b,
    "greater_equal": lambda a, b: a >= b,
    "less": lambda a, b: a < b,
    "less_equal": lambda a, b: a <= b,
    "equal": lambda a, b: sympy.Eq(a, b),
    "not_equal": lambda a, b: sympy.Ne(a, b),
    "logical_and": lambda a, b: sympy.And(fn.truth(a), fn.truth(b)),
    "logical_or": lambda a, b: sympy.Or(fn.truth(a), fn.truth(b)),
    "logical_not": lambda a: fn.logical_not(fn.truth(a)),
    "isnan": lambda a: sympy.Ne(fn.isnan(a), 0),
    "isinf": lambda a: sympy.Ne(fn.isinf(a), 0),
    "isfinite": lambda a: sympy.Ne(fn.isfinite(a), 0),
    # activations (NNlib names; σ is sigmoid)
    "sigmoid": fn.sigmoid,
    "relu": fn.relu,
    "leakyrelu": fn.leakyrelu,
    "relu6": fn.relu6,
    "elu": fn.elu,
    "celu": fn.celu,
    "selu": fn.selu,
    "softplus": fn.softplus,
    "logsigmoid": fn.logsigmoid,
    "gelu": fn.gelu,
    "swish": fn.swish,
    "softsign": fn.softsign,
    "trelu": fn.trelu,
    "logcosh": fn.logcosh,
    "hardsigmoid": fn.hardsigmoid,
    "hardtanh": fn.hardtanh,
    "lisht": fn.lisht,
    "mish": fn.mish,
    "tanhshrink": fn.tanhshrink,
    "softshrink": fn.softshrink,
}


# NumPy has no bool loop for these, and raises rather than compute in integers
_NO_BOOL_LOOP = {
    "negative": "The numpy boolean negative, the `-` operator, is not supported, use the `~` operator or the "
                "logical_not function instead.",
    "subtract": "numpy boolean subtract, the `-` operator, is not supported, use the bitwise_xor, the `^` "
                "operator, or the logical_xor function instead.",
    "positive": "ufunc 'positive' did not contain a loop with signature matching types bool",
    "sign": "ufunc 'sign' did not contain a loop with signature matching types bool",
}


def _unless_all_bool(name: str, *operands) -> None:
    if not any(map(trace.is_symbolic, operands)) and all(dtype_of(o).kind == "b" for o in operands):
        raise TypeError(_NO_BOOL_LOOP[name])


def add(x1, x2):
    """Elementwise ``add``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["add"], x1, x2)


def subtract(x1, x2):
    """Elementwise ``subtract``, on traced and plain arrays."""
    _unless_all_bool("subtract", x1, x2)
    return apply_elementwise(ELEMENTWISE["subtract"], x1, x2)


def multiply(x1, x2):
    """Elementwise ``multiply``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["multiply"], x1, x2)


def divide(x1, x2):
    """Elementwise ``divide``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["divide"], x1, x2)


def power(x1, x2):
    """Elementwise ``power``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["power"], x1, x2)


def negative(x):
    """Elementwise ``negative``, on traced and plain arrays."""
    _unless_all_bool("negative", x)
    return apply_elementwise(ELEMENTWISE["negative"], x)


def positive(x):
    """Elementwise ``positive``, on traced and plain arrays."""
    _unless_all_bool("positive", x)
    return apply_elementwise(ELEMENTWISE["positive"], x)


def reciprocal(x):
    """Elementwise 1/x. Of integers NumPy's integer reciprocal, in their dtype: ±1 stay, every other
    value is 0 (0 too: an integer divided by zero gives 0); of bools int8."""
    kind = dtype_of(x).kind
    if kind == "b":
        return astype(x, np.int8)
    if kind in "iu":
        return multiply(x, equal(abs(x), 1))
    return apply_elementwise(ELEMENTWISE["reciprocal"], x)


def square(x):
    """Elementwise ``square``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["square"], x)


def sqrt(x):
    """Elementwise ``sqrt``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["sqrt"], x)


def cbrt(x):
    """Elementwise ``cbrt``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["cbrt"], x)


def exp(x):
    """Elementwise ``exp``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["exp"], x)


def exp2(x):
    """Elementwise 2**x, a float function also of integers (``2 ** int_array`` is NumPy's integer power)."""
    return apply_elementwise(ELEMENTWISE["exp2"], x, dtype=ops.float_type(dtype_of(x)))


def expm1(x):
    """Elementwise ``expm1``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["expm1"], x)


def log(x):
    """Elementwise ``log``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["log"], x)


def log2(x):
    """Elementwise ``log2``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["log2"], x)


def log10(x):
    """Elementwise ``log10``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["log10"], x)


def log1p(x):
    """Elementwise ``log1p``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["log1p"], x)


def sin(x):
    """Elementwise ``sin``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["sin"], x)


def cos(x):
    """Elementwise ``cos``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["cos"], x)


def tan(x):
    """Elementwise ``tan``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["tan"], x)


def arcsin(x):
    """Elementwise ``arcsin``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["arcsin"], x)


def arccos(x):
    """Elementwise ``arccos``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["arccos"], x)


def arctan(x):
    """Elementwise ``arctan``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["arctan"], x)


def arctan2(x1, x2):
    """Elementwise ``arctan2``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["arctan2"], x1, x2)


def sinh(x):
    """Elementwise ``sinh``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["sinh"], x)


def cosh(x):
    """Elementwise ``cosh``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["cosh"], x)


def tanh(x):
    """Elementwise ``tanh``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["tanh"], x)


def arcsinh(x):
    """Elementwise ``arcsinh``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["arcsinh"], x)


def arccosh(x):
    """Elementwise ``arccosh``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["arccosh"], x)


def arctanh(x):
    """Elementwise ``arctanh``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["arctanh"], x)


def abs(x):
    """Elementwise ``abs``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["abs"], x)


def _complex(x) -> bool:
    return dtype_of(x).kind == "c"


def real(val):
    """The real part (``val`` itself for real arrays)."""
    return apply_elementwise(fn.real_part, val) if _complex(val) else val


def imag(val):
    """The imaginary part (zeros of the array's type for real arrays: False is weakly typed)."""
    return apply_elementwise(fn.imag_part, val) if _complex(val) else multiply(val, False)


def conj(x):
    """The complex conjugate (``x`` itself for real arrays; NumPy's has no loop for bools: int8)."""
    if _complex(x):
        return apply_elementwise(fn.conj, x)
    return astype(x, np.int8) if dtype_of(x).kind == "b" else x


def angle(z, deg=False):
    """The argument of each complex number, in radians (degrees with ``deg``): atan2(imag, real)."""
    out = apply_elementwise(fn.angle, z) if _complex(z) else apply_elementwise(lambda x: sympy.atan2(0, x), z)
    return rad2deg(out) if deg else out


def sign(x):
    """Elementwise ``sign``, on traced and plain arrays."""
    _unless_all_bool("sign", x)
    return apply_elementwise(ELEMENTWISE["sign"], x)


def _integral(x) -> bool:
    return dtype_of(x).kind in "biu"


def _rounded(name, x):
    """floor, ceil, trunc of ``x``: integers and bools come back as they are, in their dtype
    (NumPy ≥ 2.1); the gradient is 0."""
    return apply_elementwise(ELEMENTWISE["positive" if _integral(x) else name], x)


def floor(x):
    """Elementwise ``floor``; integers unchanged, in their dtype."""
    return _rounded("floor", x)


def ceil(x):
    """Elementwise ``ceil``; integers unchanged, in their dtype."""
    return _rounded("ceil", x)


def trunc(x):
    """Elementwise rounding toward zero (trunc(−0.5) = −0.0); integers unchanged, in their dtype."""
    return _rounded("trunc", x)


fix = trunc


def rint(x):
    """Elementwise rounding to the nearest integer, halves to even (rint(2.5) = 2.0); a float result
    as NumPy's, also for integers."""
    return apply_elementwise(ELEMENTWISE["rint"], x)


def round(x, decimals=0):  # noqa: A001 (NumPy's name)
    """``x`` rounded to ``decimals`` decimals, halves to even, as NumPy computes it:
    rint(x·10^d)/10^d (rint(x/10^−d)·10^−d for d < 0). Integers are unchanged for d ≥ 0 and keep
    their dtype for d < 0; bools are rounded as numbers (a float result)."""
    if dtype_of(x).kind in "iu":
        if decimals >= 0:
            return _rounded("rint", x)
        return astype(rint(divide(x, 10**-decimals)) * 10**-decimals, dtype_of(x).newbyteorder("="))
    if decimals == 0:
        return rint(x)
    scale = sympy.Integer(10) ** abs(decimals)
    if decimals > 0:  # divided, not multiplied by 10^-d, as NumPy rounds it
        return apply_elementwise(lambda v: fn.rint(v * scale) * sympy.Pow(scale, -1, evaluate=False), x)
    return apply_elementwise(lambda v: fn.rint(v * sympy.Pow(scale, -1, evaluate=False)) * scale, x)


around = round


def floor_divide(x1, x2):
    """Elementwise ``floor_divide``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["floor_divide"], x1, x2)


def remainder(x1, x2):
    """Elementwise ``remainder``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["remainder"], x1, x2)


def maximum(x1, x2):
    """Elementwise ``maximum``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["maximum"], x1, x2)


def minimum(x1, x2):
    """Elementwise ``minimum``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["minimum"], x1, x2)


def where(condition, x, y):
    """x where ``condition`` holds, else y, elementwise; in the type of x and y alone (NumPy's: an
    int8 x with 7 is int8 whatever the condition's type)."""
    dtype = weak_result_type(x, y)
    return apply_elementwise(ELEMENTWISE["where"], condition, x, y, dtype=None if dtype == OBJECT else dtype)


def greater(x1, x2):
    """Elementwise ``greater``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["greater"], x1, x2)


def greater_equal(x1, x2):
    """Elementwise ``greater_equal``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["greater_equal"], x1, x2)


def less(x1, x2):
    """Elementwise ``less``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["less"], x1, x2)


def less_equal(x1, x2):
    """Elementwise ``less_equal``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["less_equal"], x1, x2)


def equal(x1, x2):
    """Elementwise ``equal``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["equal"], x1, x2)


def not_equal(x1, x2):
    """Elementwise ``not_equal``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["not_equal"], x1, x2)


def logical_and(x1, x2):
    """Elementwise ``logical_and``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["logical_and"], x1, x2)


def logical_or(x1, x2):
    """Elementwise ``logical_or``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["logical_or"], x1, x2)


def logical_not(x):
    """Elementwise ``logical_not``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["logical_not"], x)


def isnan(x):
    """Elementwise ``isnan``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["isnan"], x)


def isinf(x):
    """Elementwise ``isinf``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["isinf"], x)


def isfinite(x):
    """Elementwise ``isfinite``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["isfinite"], x)


def sigmoid(x):
    """Elementwise ``sigmoid``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["sigmoid"], x)


def relu(x):
    """Elementwise ``relu``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["relu"], x)


def relu6(x):
    """Elementwise ``relu6``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["relu6"], x)


def selu(x):
    """Elementwise ``selu``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["selu"], x)


def softplus(x):
    """Elementwise ``softplus``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["softplus"], x)


def logsigmoid(x):
    """Elementwise ``logsigmoid``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["logsigmoid"], x)


def gelu(x):
    """Elementwise ``gelu``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["gelu"], x)


def swish(x):
    """Elementwise ``swish``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["swish"], x)


def softsign(x):
    """Elementwise ``softsign``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["softsign"], x)


def logcosh(x):
    """Elementwise ``logcosh``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["logcosh"], x)


def hardsigmoid(x, a=0.2):
    """NNlib's hardσ(x, a=0.2) = max(0, min(1, a·x + 0.5))."""
    return apply_elementwise(lambda v: fn.hardsigmoid(v, sympy.nsimplify(a)), x)


def lisht(x):
    """lisht(x) = x·tanh(x)."""
    return apply_elementwise(ELEMENTWISE["lisht"], x)


def mish(x):
    """mish(x) = x·tanh(softplus(x))."""
    return apply_elementwise(ELEMENTWISE["mish"], x)


def tanhshrink(x):
    """tanhshrink(x) = x − tanh(x)."""
    return apply_elementwise(ELEMENTWISE["tanhshrink"], x)


def softshrink(x, lam=0.5):
    """softshrink(x, λ=0.5) = min(max(0, x − λ), x + λ)."""
    return apply_elementwise(lambda v: fn.softshrink(v, sympy.nsimplify(lam)), x)


def rrelu(x, lo=1 / 8, hi=1 / 3):
    """Randomised leaky relu: x > 0 ? x : a·x with a drawn from U[lo, hi] for every element and call."""
    if trace.is_traced(x):
        slope = Tracer(ops.rand(tuple(x.shape), np.float64 if x.dtype.kind != "f" else x.dtype))
    else:
        slope = rng.generator().random(np.shape(x))
    a = add(lo, multiply(hi - lo, slope))
    return where(greater(x, 0), x, multiply(a, x))


def hardtanh(x):
    """Elementwise ``hardtanh``, on traced and plain arrays."""
    return apply_elementwise(ELEMENTWISE["hardtanh"], x)


def fmod(x1, x2):
    """C's fmod: the remainder of x1 / x2 with the sign of x1 (``remainder`` has the sign of x2)."""
    return apply_elementwise(ELEMENTWISE["fmod"], x1, x2)


def hypot(x1, x2):
    """√(x1² + x2²), without overflow or underflow in between."""
    return apply_elementwise(ELEMENTWISE["hypot"], x1, x2)


def logaddexp(x1, x2):
    """log(exp(x1) + exp(x2)), computed stably."""
    return apply_elementwise(ELEMENTWISE["logaddexp"], x1, x2)


def logaddexp2(x1, x2):
    """log₂(2^x1 + 2^x2), computed stably."""
    return apply_elementwise(ELEMENTWISE["logaddexp2"], x1, x2)


def sinc(x):
    """sin(πx)/(πx), and 1 at 0."""
    return apply_elementwise(ELEMENTWISE["sinc"], x)


def deg2rad(x):
    """Degrees to radians."""
    return apply_elementwise(ELEMENTWISE["deg2rad"], x)


def rad2deg(x):
    """Radians to degrees."""
    return apply_elementwise(ELEMENTWISE["rad2deg"], x)


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """NaN → ``nan``, ±inf → ``posinf``/``neginf`` (by default the largest finite values of x's dtype)."""
    dtype = np.dtype(x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype).newbyteorder("=")
    if dtype.kind not in "fc":
        return x
    if dtype.kind == "c":  # each part on its own (NumPy's inf + nan·i is big + 0i)
        fixed = lambda part: nan_to_num(part, copy, nan, posinf, neginf)  # noqa: E731
        return add(fixed(real(x)), multiply(fixed(imag(x)), 1j))
    big = float(np.finfo(dtype).max)
    top, bottom = big if posinf is None else posinf, -big if neginf is None else neginf
    infinite = lambda v: sympy.Ne(fn.isinf(v), 0)  # noqa: E731  (Eq(v, oo) is False for a real symbol)
    return apply_elementwise(lambda v: sympy.Piecewise(
        (nan, sympy.Ne(fn.isnan(v), 0)), (top, sympy.And(infinite(v), v > 0)), (bottom, infinite(v)), (v, True)), x,
        dtype=dtype)


true_divide = divide


absolute = abs
conjugate = conj


mod = remainder
radians = deg2rad
degrees = rad2deg


def leakyrelu(x, a=0.01):  # noqa: F811  (takes a parameter)
    """leakyrelu(x, a=0.01) = x > 0 ? x : a·x"""
    return apply_elementwise(lambda v: fn.leakyrelu(v, sympy.nsimplify(a)), x)


def elu(x, alpha=1):  # noqa: F811
    """elu(x, α=1) = x > 0 ? x : α(eˣ − 1)"""
    return apply_elementwise(lambda v: fn.elu(v, sympy.nsimplify(alpha)), x)


def celu(x, alpha=1):  # noqa: F811
    """celu(x, α=1) = x > 0 ? x : α(e^(x/α) − 1)"""
    return apply_elementwise(lambda v: fn.celu(v, sympy.nsimplify(alpha)), x)


def trelu(x, theta=1):  # noqa: F811
    """trelu(x, θ=1) = x > θ ? x : 0"""
    return apply_elementwise(lambda v: fn.trelu(v, sympy.nsimplify(theta)), x)


def clip(x, a_min=None, a_max=None):
    """clip(x, lo, hi) = min(max(x, lo), hi); either bound may be None. NaN stays NaN; with
    scalar bounds the gradient is 1 on [lo, hi], bounds included (PyTorch's clamp)."""
    bounds = [b for b in (a_min, a_max) if b is not None]
    if all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds):  # weak, as NumPy types them
        return apply_elementwise(lambda v: fn.clip(v, a_min, a_max), x, dtype=np.result_type(dtype_of(x), *bounds))
    if a_min is not None:
        x = maximum(x, a_min)  # noqa: F821
    if a_max is not None:
        x = minimum(x, a_max)  # noqa: F821
    return x


def astype(x, dtype):
    """``x`` converted to ``dtype``."""
    dtype = np.dtype(dtype)
    if trace.is_traced(x):
        return Tracer(ops.cast(trace.operand_node(x), dtype))
    return np.asarray(x).astype(dtype).view(Array)


def stop_gradient(x):
    """The value of ``x``, treated as a constant by differentiation."""
    if trace.is_traced(x):
        return Tracer(ops.detach(trace.operand_node(x)))
    return x
