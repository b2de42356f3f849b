"""Scalar functions that appear in elementwise bodies.

Smooth activations are SymPy ``Function`` classes whose ``fdiff`` is written in terms of the
function itself (σ' = σ(1−σ)), so backward bodies can reuse forward outputs. Kinked functions
(relu, abs, max) are ``Piecewise`` so second derivatives never produce ``DiracDelta``.
``NUMPY_IMPLS`` holds the numerically stable NumPy implementations used by the interpreter.
"""

from __future__ import annotations

import functools
import importlib
import math
import operator

import numpy as np
import sympy
from sympy.matrices.expressions.matexpr import MatrixElement

from codegen.kernel import dag_atoms, dag_replace, piecewise, rebuilt, unfolded_conditions

from . import derived, elementary
from .taylor import nth_derivative


class _OfReals(sympy.Function):
    """A function of real numbers with real values. Declared, or SymPy's derivative of |f| keeps
    re(f), which no renderer has."""

    def _eval_is_extended_real(self):
        return all(a.is_extended_real for a in self.args) or None


class sigmoid(_OfReals):
    """σ(x) = 1 / (1 + exp(-x))."""

    def fdiff(self, argindex=1):
        return self * (1 - self)

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return 1 / (1 + sympy.exp(-x))
        return None

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sympy.exp(-x))

    def _eval_evalf(self, prec):
        return (1 / (1 + sympy.exp(-self.args[0])))._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        base = rf"\sigma\left({printer._print(self.args[0])}\right)"
        return base if exp is None else rf"{base}^{{{exp}}}"

    def _sympystr(self, printer):
        return f"σ({printer._print(self.args[0])})"


class softplus(_OfReals):
    """softplus(x) = log(1 + exp(x)); its derivative is σ(x)."""

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return sympy.log(1 + sympy.exp(x))
        return None

    def _eval_evalf(self, prec):
        return sympy.log(1 + sympy.exp(self.args[0]))._eval_evalf(prec)


class expm1(_OfReals):
    """eˣ − 1, accurate near 0. SymPy's own (``sympy.codegen.cfunctions``) rewrites expm1(x + 2.0)
    as 7.389·exp(x) − 1, which loses exactly the accuracy it is for."""

    def fdiff(self, argindex=1):
        return sympy.exp(self.args[0])  # not expm1(x) + 1, which cancels for x ≪ 0

    @classmethod
    def eval(cls, x):
        return sympy.exp(x) - 1 if x.is_Number else None

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_evalf(self, prec):
        return (sympy.exp(self.args[0]) - 1)._eval_evalf(prec)


class log1p(_OfReals):
    """log(1 + x), accurate near 0 (kept as itself, see ``expm1``)."""

    def fdiff(self, argindex=1):
        return 1 / (1 + self.args[0])

    @classmethod
    def eval(cls, x):
        return sympy.log(1 + x) if x.is_Number else None

    def _eval_evalf(self, prec):
        return sympy.log(1 + self.args[0])._eval_evalf(prec)


class _FloatClass(sympy.Function):
    """1 where a number is of an IEEE class, else 0: the body of sf.isnan/isinf/isfinite is
    ``Ne(isnan(x), 0)``. A number, not a truth value, so SymPy's logic cannot rewrite it (x != x
    folds to False, and not(x > 0) becomes x <= 0, both wrong for NaN)."""

    nargs = 1
    test = staticmethod(lambda value: False)

    @classmethod
    def eval(cls, x):
        if x.is_Number or x in (sympy.nan, sympy.oo, -sympy.oo, sympy.zoo):
            return sympy.Integer(cls.test(complex(x) if x is not sympy.zoo else complex("inf")))
        return None

    def fdiff(self, argindex=1):
        return sympy.S.Zero

    def _eval_is_integer(self):
        return True

    def _eval_evalf(self, prec):
        """The class of the number the argument evaluates to (mpmath's isnan/isinf, which SymPy would
        call by name, give bools, not numbers: a sign test of a body holding one raised)."""
        value = self.args[0].evalf(prec)
        return self.func(value) if value.is_Number or value in (sympy.nan, sympy.oo, -sympy.oo, sympy.zoo) else None


class isnan(_FloatClass):
    test = staticmethod(lambda v: v != v)


class isinf(_FloatClass):
    test = staticmethod(lambda v: v == v and abs(v) == float("inf"))


class isfinite(_FloatClass):
    test = staticmethod(lambda v: v == v and abs(v) != float("inf"))


class cbrt(_OfReals):
    """The real cube root (NumPy's ``cbrt``: cbrt(−8) = −2, where SymPy's x**(1/3) is complex)."""

    def fdiff(self, argindex=1):
        return 1 / (3 * self**2)

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return x if x is sympy.nan or x.is_infinite else sympy.real_root(x, 3)
        return None

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_evalf(self, prec):
        return sympy.real_root(self.args[0], 3)._eval_evalf(prec)


class hypot(_OfReals):
    """√(a² + b²) without overflow or underflow in between (C's and NumPy's ``hypot``)."""

    nargs = 2

    def fdiff(self, argindex=1):
        return self.args[argindex - 1] / self

    @classmethod
    def eval(cls, a, b):
        if a.is_Number and b.is_Number:
            return sympy.sqrt(a**2 + b**2)
        return None


class _Rounding(_OfReals):
    """x rounded to an integer: piecewise constant, exact on numbers."""

    def fdiff(self, argindex=1):
        return sympy.S.Zero

    @classmethod
    def eval(cls, x):
        if x.is_Float:
            return sympy.Float(cls.numpy(float(x)))
        if x.is_Rational:
            return cls.exact(x)
        return x if x is sympy.nan or x.is_infinite else None


def _nearest_even(x: sympy.Rational) -> sympy.Integer:
    low = sympy.floor(x)
    above = x - low
    return low + 1 if above > sympy.S.Half or above == sympy.S.Half and low % 2 else low


class rint(_Rounding):
    """x rounded to the nearest integer, halves to even (NumPy's ``rint``; SymPy has none)."""

    numpy, exact = staticmethod(np.rint), staticmethod(_nearest_even)


class trunc(_Rounding):
    """x rounded toward zero (NumPy's ``trunc`` and ``fix``; trunc(−0.5) = −0.0)."""

    numpy, exact = staticmethod(np.trunc), staticmethod(lambda x: sympy.sign(x) * sympy.floor(abs(x)))


class floor_divide(_OfReals):
    """a // b as NumPy computes it (floor of the quotient; x // 0 = ±inf or nan, int // 0 = 0)."""

    nargs = 2

    @classmethod
    def eval(cls, a, b):
        if a.is_Number and b.is_Number and b != 0 and a.is_finite and b.is_finite:
            return sympy.floor(a / b)
        return None

    def fdiff(self, argindex=1):
        return sympy.S.Zero  # piecewise constant


class remainder(_OfReals):
    """a % b as NumPy computes it: a − b·floor(a / b), with the sign of b (Python's %)."""

    nargs = 2

    @classmethod
    def eval(cls, a, b):
        if a.is_Number and b.is_Number and b != 0 and a.is_finite and b.is_finite:
            return sympy.Mod(a, b)
        return None

    def fdiff(self, argindex=1):
        return sympy.S.One if argindex == 1 else -floor_divide(*self.args)


class fmod(_OfReals):
    """C's fmod, as NumPy's ``fmod``: a − b·trunc(a / b), with the sign of a; integers by zero give 0."""

    nargs = 2

    @classmethod
    def eval(cls, a, b):
        if a.is_Number and b.is_Number and b != 0 and a.is_finite and b.is_finite:
            q = a / b
            return a - b * sympy.sign(q) * sympy.floor(sympy.Abs(q))
        return None

    def fdiff(self, argindex=1):
        a, b = self.args  # ∂/∂b = −trunc(a/b), written with fmod so derivatives stay closed
        return sympy.S.One if argindex == 1 else (self - a) / b


class _Bitwise(sympy.Function):
    """An operation on the bits of integers, as NumPy's ufunc of the same name (two's complement,
    in the operands' common type; shifts past the width give 0, or −1 for a negative number shifted
    right). Piecewise constant. The API gives it integers only: bools go through the logical
    functions, floats are refused."""

    @classmethod
    def eval(cls, *args):
        if all(a.is_Integer for a in args):
            return sympy.Integer(cls.python(*map(int, args)))
        return None

    def fdiff(self, argindex=1):
        return sympy.S.Zero


class bitwise_and(_Bitwise):
    nargs, python = 2, staticmethod(operator.and_)


class bitwise_or(_Bitwise):
    nargs, python = 2, staticmethod(operator.or_)


class bitwise_xor(_Bitwise):
    nargs, python = 2, staticmethod(operator.xor)


class invert(_Bitwise):
    nargs, python = 1, staticmethod(operator.invert)


class left_shift(_Bitwise):
    nargs, python = 2, staticmethod(lambda a, b: a << b if b >= 0 else 0)


class right_shift(_Bitwise):
    nargs, python = 2, staticmethod(lambda a, b: a >> b if b >= 0 else -1 if a < 0 else 0)


class gcd(_Bitwise):
    """NumPy's gcd: of the absolute values, in the operands' common type."""
    nargs, python = 2, staticmethod(math.gcd)


class lcm(_Bitwise):
    """NumPy's lcm: of the absolute values, in the operands' common type (wrapping)."""
    nargs, python = 2, staticmethod(math.lcm)


class cast(sympy.Function):
    """cast(x, dtype): x converted to the NumPy dtype named by the symbol ``dtype`` (``astype``). Kept
    in bodies, so a fused expression computes in the type the program asked for: int32 values cast to
    int64 multiply in 64 bits, float32 ones cast to float64 in double precision."""

    nargs = 2

    @classmethod
    def eval(cls, x, dtype):
        if isinstance(x, cast) and x.args[1] == dtype:  # converting twice to one type is converting once
            return x
        # two conversions are not one otherwise: float → int64 → float64 truncates (was merged away)
        return _converted(x, np.dtype(str(dtype))) if x.is_Number else None

    def fdiff(self, argindex=1):
        return sympy.S.One  # a float's truncation is trunc's (``ops.cast``), whose derivative is 0

    def _sympystr(self, printer):
        value = printer._print(self.args[0])
        return f"({value}).astype({self.args[1]})" if self.args[0].is_Add or self.args[0].is_Mul else \
            f"{value}.astype({self.args[1]})"

    def _latex(self, printer, exp=None):
        return printer._print(self.args[0])


def _converted(x: sympy.Number, dtype: np.dtype) -> sympy.Number | None:
    """The number ``x`` converted to ``dtype`` as NumPy converts it (−3 to uint8 is 253, 2.7 to
    int8 is 2, 0.1 to float32 is rounded); None where that is undefined (NaN or ±inf to an integer)."""
    if dtype.kind == "b":
        return sympy.Integer(int(x != 0))
    if dtype.kind in "iu":
        if not x.is_finite:
            return None
        bits = 8 * dtype.itemsize
        value = int(x) % 2**bits  # int() truncates toward zero, as C converts
        return sympy.Integer(value - 2**bits if dtype.kind == "i" and value >= 2 ** (bits - 1) else value)
    if dtype.kind == "f" and x.is_Float:
        return sympy.Float(float(dtype.type(float(x))))
    return x  # an integer or rational stays exact (gradients of Python integers are exact)


def typed_literal(value: sympy.Number, dtype: np.dtype) -> sympy.Expr:
    """A constant that keeps its NumPy type in a body: an int64 −3 times a uint8 is computed in
    int64, a bare −3 would take the uint8's type. Left unevaluated (``literals_folded`` folds it)."""
    return cast(value, sympy.Symbol(np.dtype(dtype).name), evaluate=False)


def literals_folded(body: sympy.Expr) -> sympy.Expr:
    """``body`` with its typed literals as the numbers they are (exact evaluation computes exactly)."""
    typed = [c for c in dag_atoms(body, cast) if c.args[0].is_Number]
    return dag_replace(body, {c: _converted(c.args[0], np.dtype(str(c.args[1]))) or c.args[0] for c in typed})


def _cast(x, dtype):
    return np.asarray(x).astype(str(dtype) if isinstance(dtype, sympy.Basic) else dtype)


class _OfComplex(sympy.Function):
    """A function of a complex value. Bodies' symbols are real-assumed placeholders for values NumPy
    may hold as complex, so these never simplify on them (SymPy's ``re(x)`` would be ``x``); on
    numbers and on the user's own SymPy expressions they are SymPy's."""

    sympy_function = None

    @classmethod
    def eval(cls, z):
        if z.is_Number or not any(_placeholder(x) for x in z.free_symbols):
            return cls.sympy_function(z)
        return None


def _placeholder(symbol) -> bool:
    """Whether ``symbol`` is a body's argument (``ir.ARG``: _0, _1, …) rather than the user's."""
    return symbol.name[:1] == "_" and symbol.name[1:].isdigit()


class real_part(_OfComplex):
    sympy_function = sympy.re


class imag_part(_OfComplex):
    sympy_function = sympy.im


class conj(_OfComplex):
    sympy_function = sympy.conjugate


class angle(_OfComplex):
    sympy_function = sympy.arg


# Wirtinger partials (∂f/∂z, ∂f/∂z̄) of the functions that are not holomorphic, in a value z;
# |z|'s at 0 are 0 (abs'(0) = 0)
def _abs_partials(z):
    safe = sympy.Piecewise((0, sympy.Eq(z, 0)), (1 / (2 * sympy.Abs(z)), True))
    return conj(z) * safe, z * safe


WIRTINGER = {
    sympy.Abs: _abs_partials,
    real_part: lambda z: (sympy.Rational(1, 2), sympy.Rational(1, 2)),
    imag_part: lambda z: (-sympy.I / 2, sympy.I / 2),
    conj: lambda z: (sympy.Integer(0), sympy.Integer(1)),
    angle: lambda z: (-sympy.I / (2 * z), sympy.I / (2 * conj(z))),
}
REAL_OF_COMPLEX = (sympy.Abs, real_part, imag_part, angle)  # complex in, real out
OF_COMPLEX = (real_part, imag_part, conj, angle)


def _stable_sigmoid(x):
    x = np.asarray(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _stable_softplus(x):
    return np.logaddexp(0, np.asarray(x))


def _scipy_special(name: str):
    """scipy.special's ``name``, imported at its first call (the import takes 0.3 s, which programs
    without special functions should not pay)."""
    return lambda *args: getattr(importlib.import_module("scipy.special"), name)(*args)


NUMPY_IMPLS = {"sigmoid": _stable_sigmoid, "softplus": _stable_softplus, "cbrt": np.cbrt, "rint": np.rint,
               "trunc": np.trunc,
               "floor_divide": np.floor_divide, "remainder": np.remainder, "hypot": np.hypot, "fmod": np.fmod,
               "gcd": np.gcd, "lcm": np.lcm,
               "cast": _cast,
               "expm1": np.expm1, "log1p": np.log1p, "isnan": np.isnan, "isinf": np.isinf,
               "isfinite": np.isfinite, "real_part": np.real, "imag_part": np.imag, "conj": np.conj,
               "angle": np.angle,
               **{ours: _scipy_special(theirs) for ours, theirs in (
                   ("erf", "erf"), ("erfc", "erfc"), ("erfinv", "erfinv"), ("gamma", "gamma"), ("lgamma", "gammaln"),
                   ("polygamma", "polygamma"))}}


# -- body builders: each takes SymPy scalars and returns a SymPy scalar ------------------------

# Kinks: maximum/minimum are SymPy's Max/Min (NaN-propagating on every path; at ties each operand
# gets half the gradient, as in PyTorch and JAX), abs and sign are Abs and sign (abs'(0) = 0).
# Activations with kinks are Piecewise with the NaN case last (x itself), so relu(NaN) is NaN and
# relu'(0) = 0, relu6'(6) = 0, hardtanh'(±1) = 0 as in PyTorch.

def maximum(a, b):
    return sympy.Max(a, b)


def minimum(a, b):
    return sympy.Min(a, b)


def abs_(x):
    return sympy.Abs(x)


def sign(x):
    return sympy.sign(x)


ACTIVATIONS = ("relu", "leakyrelu", "relu6", "elu", "celu", "selu", "hardsigmoid", "hardtanh", "trelu",
               "softshrink")  # bodies that are not one SymPy function: formulas print them by name


def relu(x):
    return sympy.Piecewise((0, x <= 0), (x, True))


def leakyrelu(x, a=0.01):
    return sympy.Piecewise((x, x > 0), (a * x, True))


def relu6(x):
    return sympy.Piecewise((0, x <= 0), (6, x >= 6), (x, True))


def elu(x, alpha=1):
    return sympy.Piecewise((x, x > 0), (alpha * expm1(x), True))


def celu(x, alpha=1):
    return sympy.Piecewise((x, x > 0), (alpha * expm1(x / alpha), True))


SELU_LAMBDA = sympy.Float("1.0507009873554804934193349852946")
SELU_ALPHA = sympy.Float("1.6732632423543772848170429916717")


def selu(x):
    return SELU_LAMBDA * sympy.Piecewise((x, x > 0), (SELU_ALPHA * expm1(x), True))


def clip(x, lo=None, hi=None):
    """x within [lo, hi] (a bound may be None); NaN stays NaN, the slope is 1 at the bounds."""
    pieces = [(sympy.sympify(lo), x < lo)] if lo is not None else []
    pieces += [(sympy.sympify(hi), x > hi)] if hi is not None else []
    return sympy.Piecewise(*pieces, (x, True))


def logsigmoid(x):
    return -softplus(-x)


GELU_CUBIC = sympy.Rational(44715, 10**6)  # exact, so printed derivatives stay exact


def gelu(x):
    """NNlib's tanh approximation: 0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))."""
    return x / 2 * (1 + sympy.tanh(sympy.sqrt(2 / sympy.pi) * (x + GELU_CUBIC * x**3)))


def swish(x):
    return x * sigmoid(x)


def trelu(x, theta=1):
    """Thresholded relu: x > θ ? x : 0."""
    return sympy.Piecewise((0, x <= theta), (x, True))


def logcosh(x):
    """log(cosh(x)) = x + softplus(−2x) − log 2, stable for large |x|."""
    return x + softplus(-2 * x) - sympy.log(2)


def softsign(x):
    return x / (1 + abs_(x))


HARDSIGMOID_SLOPE = sympy.Rational(1, 5)


def hardsigmoid(x, a=HARDSIGMOID_SLOPE):
    """NNlib's hardσ(x, a=0.2) = max(0, min(1, a·x + 0.5))."""
    y = a * x + sympy.Rational(1, 2)
    return sympy.Piecewise((0, y <= 0), (1, y >= 1), (y, True))


def lisht(x):
    """x·tanh(x)."""
    return x * sympy.tanh(x)


def mish(x):
    """x·tanh(softplus(x))."""
    return x * sympy.tanh(softplus(x))


def tanhshrink(x):
    """x − tanh(x)."""
    return x - sympy.tanh(x)


HALF = sympy.Rational(1, 2)


def softshrink(x, lam=HALF):
    """NNlib's softshrink(x, λ=0.5) = min(max(0, x − λ), x + λ): 0 within λ of 0 (NaN stays NaN)."""
    return sympy.Piecewise((x - lam, x > lam), (x + lam, x < -lam), (0, sympy.Abs(x) <= lam), (x, True))


def hardtanh(x):
    return sympy.Piecewise((-1, x <= -1), (1, x >= 1), (x, True))


# -- derivatives ---------------------------------------------------------------------------------

def almost_everywhere(expr: sympy.Expr) -> sympy.Expr:
    """Derivatives almost everywhere: DiracDelta terms vanish, Heaviside becomes a Piecewise, and
    derivatives of piecewise-constant functions (floor, ceiling, sign, even of an argument SymPy
    cannot tell is real, such as sign(√x)) are zero."""
    if expr.has(sympy.DiracDelta):
        expr = expr.replace(sympy.DiracDelta, lambda *args: sympy.S.Zero)
    if expr.has(sympy.Derivative):
        expr = expr.replace(lambda e: isinstance(e, sympy.Derivative)
                            and isinstance(e.expr, (sympy.floor, sympy.ceiling, sympy.sign)), lambda e: sympy.S.Zero)
    if expr.has(sympy.Subs):  # the chain rule through floor(g(x)) leaves Subs(0, ξ, g(x))
        expr = expr.replace(lambda e: isinstance(e, sympy.Subs), lambda e: e.doit())
    if expr.has(sympy.Heaviside):  # from Max/Min: ties split the gradient
        expr = expr.replace(sympy.Heaviside, lambda x, *rest: sympy.Piecewise(
            (1, x > 0), (sympy.Rational(1, 2), sympy.Eq(x, 0)), (0, True)))
    return expr


# From this order on derivatives are taken in Taylor mode (``taylor``), where SymPy's n-fold rules
# swell (the 8th of exp(sin x)/(1+x²): 0.6 s against 0.03 s, 176 operations against 152); up to the
# third, SymPy's closed forms are quick, read best and are as short after CSE.
TAYLOR_ORDER = 4


@functools.lru_cache(maxsize=4096)
def evaluated(body: sympy.Expr) -> sympy.Expr:
    """``body`` with unevaluated derivatives carried out (once, each in one n-fold step). Bodies
    with derivatives that SymPy takes slowly (Taylor mode, its rules past the first order or on big
    bodies) are kept on disk too (``derived``): SymPy's were most of a Hessian's compile in every new
    process; SymEngine's (``elementary``) are quicker than the disk."""
    if not body.has(sympy.Derivative):
        return body
    carry_out = lambda: body.replace(lambda e: isinstance(e, sympy.Derivative), carried_out)
    derivatives = dag_atoms(body, sympy.Derivative, inside=True)
    if not any(_slow(d) for d in derivatives):
        return carry_out()
    return derived.kept("derived", (body,), carry_out)


def _slow(d: sympy.Derivative) -> bool:
    order = d.derivative_count
    return order >= TAYLOR_ORDER or derived.costly(d.expr) or order > 1 and not elementary.is_elementary(d.expr)


@functools.lru_cache(maxsize=4096)
def carried_out(d: sympy.Derivative) -> sympy.Expr:
    """``d`` taken, almost everywhere. Memoised, and a mixed derivative is taken from the one in its
    other variables (as SymPy takes it, one variable after the other): a backward pass takes a body's
    partial and may keep it unevaluated (it would swell), then lowering takes that partial and the
    Hessian's mixed entries from it. Repeated in one variable, SymPy's n-fold rules are shorter."""
    held = {cond: sympy.Dummy("condition") for cond in unfolded_conditions(d.expr)}
    if held:  # constant almost everywhere; SymPy's derivative would fold them into branches
        taken = carried_out(sympy.Derivative(dag_replace(d.expr, held), *d.variable_count))
        return dag_replace(taken, {symbol: cond for cond, symbol in held.items()})
    *outer, (last, n) = d.variable_count
    if outer:
        return carried_out(sympy.Derivative(carried_out(sympy.Derivative(d.expr, *outer)), (last, n)))
    if n >= TAYLOR_ORDER:
        taken = nth_derivative(d.expr, last, n)
        if taken is not None:  # almost everywhere already: kinks are Piecewise, steps' derivatives 0
            return taken
    expr, reals = _abs_of_reals(d.expr)
    taken = elementary.derivative(expr, d.variable_count)
    if taken is None:
        paired = _extrema_in_pairs(expr)  # not deep: evaluating it again would flatten the pairs
        taken = almost_everywhere(sympy.Derivative(paired, *d.variable_count).doit(deep=paired is expr))
    return dag_replace(taken, reals) if reals else taken


def _extrema_in_pairs(expr):
    """``expr`` with each Max and Min of more than two arguments nested two by two, unevaluated.
    SymPy's Max(a, b, c)′ in a is Heaviside(a − Max(b, c)), ½ at a tie whatever b and c do: where
    three arguments tie, the shares added up to 3/2. Nested, a tie's shares add up to 1 (½, ¼, ¼,
    as PyTorch and JAX give maximum(a, maximum(b, c))); a tie that holds on an interval is one
    function there, whose derivative any shares adding up to 1 give."""
    if not any(len(e.args) > 2 for e in dag_atoms(expr, (sympy.Max, sympy.Min))):
        return expr
    done: dict = {}

    def paired(e):
        if e not in done:
            args = [paired(a) for a in e.args]
            if isinstance(e, (sympy.Max, sympy.Min)) and len(args) > 2:
                done[e] = functools.reduce(lambda a, b: e.func(a, b, evaluate=False), args)
            else:
                done[e] = rebuilt(e, tuple(args))
        return done[e]

    return paired(expr)


class _Real(sympy.Function):
    """A value known to be real while differentiating: SymPy takes |f|' as sign(f)·f' only for an f
    it knows is real, and otherwise as (re f·(re f)' + im f·(im f)')/|f|, which no renderer has and
    which is 0/0 at f = 0. Every value a derivative is taken of is real (NaN outside a domain)."""
    is_extended_real = True

    def fdiff(self, argindex=1):
        return sympy.Integer(1)


def _abs_of_reals(expr):
    """(expr with the argument of each |f| SymPy cannot tell is real marked real, the marks' undoing)."""
    unknown = [a for a in dag_atoms(expr, sympy.Abs) if a.args[0].is_extended_real is not True]
    if not unknown:
        return expr, {}
    marked = {a: sympy.Abs(_Real(a.args[0]), evaluate=False) for a in unknown}
    return dag_replace(expr, marked), {_Real(a.args[0]): a.args[0] for a in unknown}


def substitute(body: sympy.Expr, subs: dict, evaluate: bool = True) -> sympy.Expr:
    """``body.xreplace(subs)``, truth values substituted as numbers (``as_value``); with
    ``evaluate``, SymPy applies its identities across ``body`` and the values (fusion: they are part
    of symflux's semantics); without, the values compose as computed apart (lowering a value that
    the graph computes once, as the interpreter does). Unevaluated derivatives survive only a
    one-to-one renaming of their symbols; anything else (a variable replaced by an expression, two
    arguments merged into one) would change their meaning, so they are carried out first."""
    truths = [k for k, v in subs.items() if is_boolean(v)]
    if truths:
        subs = {**subs, **{k: as_value(subs[k]) for k in truths}}
    if body.has(sympy.Derivative):
        for d in body.atoms(sympy.Derivative):
            symbols = d.free_symbols | set(d.variables)
            images = [subs.get(sym, sym) for sym in symbols]
            if not all(im.is_Symbol for im in images) or len(set(images)) < len(images):
                body = evaluated(body)
                break
    images = list(subs.values())
    renaming = all(isinstance(v, sympy.Indexed) for v in images) and len(set(images)) == len(images)
    evaluate = evaluate and not renaming  # a renaming could simplify nothing
    body = dag_replace(body, subs, evaluate)
    return _truths_restored(body, evaluate) if truths else body


# -- result dtypes -------------------------------------------------------------------------------

_INTEGER_CLOSED = (sympy.Add, sympy.Mul, sympy.Piecewise, sympy.Max, sympy.Min, sympy.Abs, sympy.sign,
                   floor_divide, remainder, fmod, _Bitwise)
# what NumPy computes in bool for bool operands: or, and, max, min, abs
_BOOLEAN_CLOSED = (sympy.Add, sympy.Mul, sympy.Max, sympy.Min, sympy.Abs)


def keeps_integers(body: sympy.Basic) -> bool:
    """Whether ``body`` maps integers to integers (so integer inputs keep an integer dtype)."""
    if body.is_Symbol or body.is_Integer:
        return True
    if isinstance(body, sympy.Pow):  # x**n, and x**y of integer arrays (NumPy's integer power)
        exponent = body.exp
        natural = exponent.is_Integer and exponent >= 0 or not exponent.is_Number and keeps_integers(exponent)
        return natural and keeps_integers(body.base)
    if isinstance(body, sympy.Piecewise):
        return all(keeps_integers(e) for e, _ in body.args)
    if isinstance(body, sympy.Derivative):
        return keeps_integers(body.expr)
    if isinstance(body, cast):
        return np.dtype(str(body.args[1])).kind in "biu"
    if isinstance(body, _INTEGER_CLOSED):
        return all(keeps_integers(a) for a in body.args)
    return False


def as_value(expr: sympy.Basic) -> sympy.Basic:
    """``expr`` as a number: a truth value becomes 1 or 0. Bodies treat every argument as a number
    (a bool array's elements are 0 and 1), so a boolean body inlined into another, or a boolean
    constant, must be one too; conditions test arguments with ``truth``."""
    if not is_boolean(expr):
        return expr
    if isinstance(expr, sympy.logic.boolalg.BooleanAtom):
        return sympy.Integer(bool(expr))
    return piecewise((1, expr), (0, True))


class logical_not(sympy.Not):
    """¬c that stays a negation: SymPy's ``Not`` turns ¬(x > 0) into x ≤ 0, which its real symbols
    allow but NaN does not (¬(NaN > 0) is true, NaN ≤ 0 false)."""

    @classmethod
    def eval(cls, arg):
        if arg in (sympy.true, sympy.false):
            return sympy.false if arg is sympy.true else sympy.true
        if isinstance(arg, sympy.Not):
            return arg.args[0]
        return None


def truth(x: sympy.Basic) -> sympy.Basic:
    """The condition ``x ≠ 0`` (NumPy's truth of a number); the condition itself for an inlined truth value."""
    if is_boolean(x):
        return x
    if isinstance(x, sympy.Piecewise) and x.args == ((1, x.args[0][1]), (0, sympy.true)):
        return x.args[0][1]
    return sympy.Ne(x, 0)


def _truths_restored(body: sympy.Basic, evaluate: bool) -> sympy.Basic:
    """``Ne(Piecewise((1, c), (0, True)), 0)`` (a truth value inlined into a condition) back to ``c``."""
    while True:  # outermost first: a restored condition may hold another
        truths = [e for e in dag_atoms(body, sympy.Ne) if e.rhs == 0 and isinstance(e.lhs, sympy.Piecewise)]
        restored = {e: c for e in truths if (c := truth(e.lhs)) != e}
        if not restored:
            return body
        body = dag_replace(body, restored, evaluate)


def keeps_booleans(body: sympy.Basic) -> bool:
    """Whether ``body`` maps bools to bools in NumPy (True + True is True, where(c, a, b) of bools)."""
    if isinstance(body, sympy.Piecewise):
        return all(keeps_booleans(e) for e, _ in body.args)
    if body.is_Symbol or body in (sympy.S.Zero, sympy.S.One):  # a weak False or True
        return True
    return isinstance(body, _BOOLEAN_CLOSED) and all(keeps_booleans(a) for a in body.args)


def is_boolean(body: sympy.Basic) -> bool:
    """Whether ``body`` is a truth value. (A SymPy ``Symbol`` is also a ``Boolean``; it is not one.)"""
    return isinstance(body, (sympy.logic.boolalg.BooleanFunction, sympy.logic.boolalg.BooleanAtom,
                             sympy.core.relational.Relational))


class VectorSymbol(sympy.MatrixSymbol):
    """A vector symbol: an n × 1 column to SymPy's matrix algebra, a 1-D array of n to symflux
    (so ``x @ A @ x`` traces as NumPy would and its gradient is a vector)."""

    def _entry(self, i, j, **kwargs):
        return VectorElement(self, i, j)


class ArrayElement(MatrixElement):
    """An entry of a matrix; 0 when read outside it, which index notation's [conditions] rely on
    (x[i − 1]·[i ≥ 1] at i = 0)."""

    def __new__(cls, name, n, m):
        n, m = sympy.sympify(n), sympy.sympify(m)
        if isinstance(name, sympy.MatrixBase) and n.is_Integer and m.is_Integer:
            rows, cols = name.shape
            if not (0 <= n < rows and 0 <= m < cols):
                return sympy.Integer(0)
        return super().__new__(cls, name, n, m)


class VectorElement(ArrayElement):
    """An entry of a vector symbol, printed ``x[i]`` (not ``x[i, 0]``)."""

    def _sympystr(self, printer):
        return f"{printer._print(self.parent)}[{printer._print(self.i)}]"

    def _latex(self, printer):
        return f"{{{printer._print(self.parent)}}}_{{{printer._print(self.i)}}}"


class Vector(sympy.MatrixExpr):
    """A 1-D array value of a formula (``-y``, ``A @ x`` for vector symbols): a column to SymPy,
    printed as that column, 1-D to symflux (NumPy semantics, as for a ``VectorSymbol``)."""

    def __new__(cls, column):
        return column if isinstance(column, (Vector, VectorSymbol)) else sympy.Basic.__new__(cls, column)

    shape = property(lambda self: self.args[0].shape)
    precedence = property(lambda self: getattr(self.args[0], "precedence", None) or
                          sympy.printing.precedence.precedence(self.args[0]))

    def _entry(self, i, j, **kwargs):
        return self.args[0]._entry(i, j, **kwargs)

    def doit(self, **hints):
        return self.args[0].doit(**hints)

    def _eval_transpose(self):
        return sympy.Transpose(self.args[0]).doit(deep=False)

    def _sympystr(self, printer):
        return printer._print(self.args[0])

    def _latex(self, printer):
        return printer._print(self.args[0])


def shape_of(value) -> tuple:
    """The array shape symflux gives a SymPy matrix value (a ``VectorSymbol`` or ``Vector`` is 1-D)."""
    return (value.shape[0],) if isinstance(value, (VectorSymbol, Vector)) else tuple(value.shape)


# -- more NumPy functions as bodies -------------------------------------------------------------

def logaddexp(a, b):
    """log(eᵃ + eᵇ) = a + softplus(b − a) where a ≥ b (b + softplus(a − b) elsewhere): stable, and
    each branch is smooth through the tie, so every derivative is σ's (at a tie too: through
    max/min the second derivative vanished there). Equal infinities give themselves (NumPy)."""
    equal_infinities = sympy.And(sympy.Eq(a, b), sympy.Ne(isinf(a), 0))
    return sympy.Piecewise((a, equal_infinities), (a + softplus(b - a), a >= b), (b + softplus(a - b), True))


def logaddexp2(a, b):
    """log₂(2ᵃ + 2ᵇ)."""
    ln2 = sympy.log(2)
    return logaddexp(a * ln2, b * ln2) / ln2


def sinc(x):
    """sin(πx)/(πx), 1 at 0 (NumPy's normalised sinc)."""
    return sympy.Piecewise((1, sympy.Eq(x, 0)), (sympy.sin(sympy.pi * x) / (sympy.pi * x), True))



