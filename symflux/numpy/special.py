"""``sf.special``: SciPy's special functions (``scipy.special``, ``jax.scipy.special``) on traced,
plain and SymPy values, each a SymPy body like every elementwise function, so they differentiate to
any order exactly (erf′ = 2e^(−x²)/√π, gammaln′ = digamma, digamma′ = polygamma(1, ·), …) and
compile: libm's erf, erfc and tgamma, and the runtime's polygamma, erfinv and gammaln
(``codegen.runtime.special``). Values are SciPy's; so are the float types (float32 stays float32,
integers compute in NumPy's float type). SciPy's own ufuncs (``scipy.special.erf(x)``) on traced
arrays run these."""

from __future__ import annotations

import sympy

from ._base import apply_elementwise
from .elementwise import equal, isnan, log, log1p, logical_and, logical_not, multiply, sigmoid, where
from .reductions import logsoftmax
from .reductions import logsumexp as _logsumexp
from .reductions import softmax as _softmax

BODIES = {
    "erf": sympy.erf,
    "erfc": sympy.erfc,
    "erfinv": sympy.erfinv,
    "gamma": sympy.gamma,
    "gammaln": sympy.loggamma,  # log|Γ(x)|, SciPy's gammaln
    "digamma": lambda x: sympy.polygamma(0, x),
    "polygamma": sympy.polygamma,
    "logit": lambda p: sympy.log(p / (1 - p)),
    # SymPy writes erfc(−u) as 2 − erfc(u), which cancels to 0 below −26: the tail is erfc(|x|/√2)/2
    "ndtr": lambda x: sympy.Piecewise((sympy.erfc(sympy.Abs(x) / sympy.sqrt(2)) / 2, x < 0),
                                      (1 - sympy.erfc(x / sympy.sqrt(2)) / 2, True)),
    "entr": lambda x: sympy.Piecewise((-x * sympy.log(x), x > 0), (0, sympy.Eq(x, 0)), (-sympy.oo, x < 0), (x, True)),
}


def erf(x):
    """The error function 2/√π ∫₀ˣ e^(−t²) dt."""
    return apply_elementwise(BODIES["erf"], x)


def erfc(x):
    """1 − erf(x), accurate where erf(x) is near 1."""
    return apply_elementwise(BODIES["erfc"], x)


def erfinv(y):
    """The inverse of erf: ±∞ at ±1, NaN outside [−1, 1]."""
    return apply_elementwise(BODIES["erfinv"], y)


def gamma(x):
    """Γ(x); ±∞ at ±0, NaN at the negative integers."""
    return apply_elementwise(BODIES["gamma"], x)


def gammaln(x):
    """log|Γ(x)| (its derivative is ``digamma``)."""
    return apply_elementwise(BODIES["gammaln"], x)


def digamma(x):
    """ψ(x) = Γ′(x)/Γ(x); −∞ at +0, +∞ at −0, NaN at the negative integers (SciPy's ``psi``)."""
    return apply_elementwise(BODIES["digamma"], x)


psi = digamma


def polygamma(n, x):
    """ψ⁽ⁿ⁾(x), the n-th derivative of ``digamma`` (n a natural number; NaN for others)."""
    return apply_elementwise(BODIES["polygamma"], n, x)


def expit(x):
    """1/(1 + e^(−x)), the logistic sigmoid (computed stably)."""
    return sigmoid(x)


def logit(p):
    """log(p/(1 − p)), the inverse of ``expit``."""
    return apply_elementwise(BODIES["logit"], p)


def ndtr(x):
    """The standard normal CDF, erfc(−x/√2)/2."""
    return apply_elementwise(BODIES["ndtr"], x)


def entr(x):
    """−x·log(x) for x > 0, 0 at 0, −∞ below."""
    return apply_elementwise(BODIES["entr"], x)


def xlogy(x, y):
    """x·log(y), and 0 where x == 0 unless y is NaN (SciPy's)."""
    return where(logical_and(equal(x, 0), logical_not(isnan(y))), 0.0, multiply(x, log(y)))


def xlog1py(x, y):
    """x·log(1 + y), and 0 where x == 0 unless y is NaN (SciPy's)."""
    return where(logical_and(equal(x, 0), logical_not(isnan(y))), 0.0, multiply(x, log1p(y)))


def logsumexp(a, axis=None, keepdims=False):
    """log(Σ exp(a)) over ``axis`` (all axes by default), computed stably."""
    return _logsumexp(a, axis=axis, keepdims=keepdims)


def softmax(x, axis=None):
    """exp(x)/Σ exp(x) over ``axis`` — all axes by default, as SciPy's (``sf.softmax``'s is the last)."""
    return _softmax(x, axis=axis)


def log_softmax(x, axis=None):
    """x − logsumexp(x) over ``axis`` (all axes by default, as SciPy's)."""
    return logsoftmax(x, axis=axis)


# scipy.special's ufuncs that run the functions above on traced arrays (``dispatch``)
UFUNCS = {"erf": erf, "erfc": erfc, "erfinv": erfinv, "gamma": gamma, "gammaln": gammaln, "psi": digamma,
          "expit": expit, "logit": logit, "ndtr": ndtr, "entr": entr, "xlogy": xlogy, "xlog1py": xlog1py}
