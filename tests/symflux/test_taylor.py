"""Taylor-mode high derivatives against SymPy's: the same values (exact where both are rational),
exact where a base or argument is 0, almost everywhere through kinks, and a fallback to SymPy for
what has no rule."""

import mpmath
import numpy as np
import pytest
import sympy

import symflux as sf
from symflux import functions as fn
from symflux.taylor import nth_derivative

x, y = sympy.symbols("x y", real=True)  # real: SymPy differentiates |u| as sign(u)·u'

BODIES = {
    "exp_sin_over": sympy.exp(sympy.sin(x)) / (1 + x**2),
    "tanh": sympy.tanh(3 * x - 1),
    "sigmoid": fn.sigmoid(x),
    "softplus": fn.softplus(2 * x),
    "gauss": x * sympy.exp(-x**2),
    "log": sympy.log(1 + x**2),
    "sqrt": sympy.sqrt(1 + x**2),
    "cbrt": fn.cbrt(x + 3),
    "atan": sympy.atan(x),
    "sincos": sympy.sin(x) * sympy.cos(2 * x),
    "power_of_x": x**x,
    "symbol_power": (x + 2) ** y,
    "ratio": (x**2 - 1) / (x**3 + 2 * x + 5),
    "negative_power": (x**2 + 1) ** -3,
    "other_symbols": sympy.exp(y * x) * sympy.cos(x + y),
    "expm1_log1p": fn.expm1(x) * fn.log1p(x**2),
    "abs": sympy.Abs(sympy.sin(x)) ** 3,
    "erf": sympy.erf(x / 2),
    "cosh": sympy.cosh(x) / sympy.sinh(x + 3),
}


@pytest.mark.parametrize("name", BODIES)
@pytest.mark.parametrize("n", [1, 4, 8])
def test_values_match_sympy(name, n):
    body = BODIES[name]
    ours = nth_derivative(body, x, n)
    reference = fn.almost_everywhere(sympy.diff(body, x, n))
    ours, reference = (sympy.lambdify([x, y], e, "mpmath", cse=True) for e in (ours, reference))
    with mpmath.workdps(30):
        for point in (0.3, -0.7, 1.9):
            want = complex(reference(mpmath.mpf(point), mpmath.mpf("0.4")))
            assert complex(ours(mpmath.mpf(point), mpmath.mpf("0.4"))) == pytest.approx(want, rel=1e-20, abs=1e-20)


def test_rational_bodies_are_exact():
    body = (x**2 - 1) / (x**3 + 2 * x + 5)
    assert sympy.simplify(nth_derivative(body, x, 5) - sympy.diff(body, x, 5)) == 0
    assert nth_derivative(x**7, x, 4) == 840 * x**3
    assert nth_derivative(x**3, x, 5) == 0


def test_exact_where_a_base_is_zero():
    # no 0/0 where the power recurrence would divide by the base
    assert nth_derivative(x**3, x, 3).subs(x, 0) == 6
    assert nth_derivative(sympy.sin(x) ** 4, x, 4).subs(x, 0) == 24
    assert nth_derivative(sympy.sin(x) ** 5, x, 5).subs(x, 0) == 120


def test_kinks_are_differentiated_almost_everywhere():
    relu4 = sympy.Piecewise((x**4, x > 0), (0, True))
    assert nth_derivative(relu4, x, 4) == sympy.Piecewise((24, x > 0), (0, True))
    assert nth_derivative(sympy.floor(x) * x**5, x, 5) == 120 * sympy.floor(x)
    assert nth_derivative(sympy.sign(x) * sympy.exp(x), x, 4) == sympy.sign(x) * sympy.exp(x)


def test_what_has_no_rule_is_left_to_sympy():
    assert nth_derivative(sympy.Max(x, x**2) * x, x, 4) is None
    assert nth_derivative(sympy.Derivative(sympy.sin(x * y), y) * x, x, 4) is None
    assert nth_derivative(sympy.gamma(x), x, 4) is None  # SymPy's gamma' is polygamma, not a rule here
    deep = x
    for _ in range(2000):
        deep = sympy.sin(deep) + x
    assert nth_derivative(deep, x, 4) is None


def test_derivatives_written_with_the_function_stay_polynomials_in_it():
    t = sympy.tanh(x)
    d8 = nth_derivative(t, x, 8)
    assert d8.free_symbols == {x} and d8.atoms(sympy.Function) == {t}
    assert sympy.expand(d8 - sympy.diff(t, x, 8).rewrite(sympy.tanh)) == 0


def test_nested_gradients_take_high_orders_in_taylor_mode():
    f = lambda v: sf.tanh(v) * sf.exp(-v**2)
    g = f
    for _ in range(6):
        g = (lambda h: (lambda v: sf.gradient(h, v)[0]))(g)
    want = float(sympy.diff(sympy.tanh(x) * sympy.exp(-x**2), x, 6).subs(x, 0.35))
    assert g(0.35) == pytest.approx(want, rel=1e-12)
    compiled = sf.compile(g)
    for point in np.linspace(-2, 2, 5):
        want = float(sympy.diff(sympy.tanh(x) * sympy.exp(-x**2), x, 6).subs(x, point))
        assert compiled(point) == pytest.approx(want, rel=1e-10)
