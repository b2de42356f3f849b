"""DESIGN.md §1: the gradient / params / nesting / printing sessions, verbatim, plus the Flux and
Zygote test cases of flux_spec.md §2 and §4.5."""

import doctest
import math

import numpy as np
import pytest
import sympy

import symflux as sf
from symflux import gradient, params

SESSION = r'''
>>> import symflux as sf
>>> from symflux import gradient, params, σ

>>> f = lambda x: 3*x**2 + 2*x + 1
>>> df = lambda x: gradient(f, x)[0]          # gradient returns a tuple, one entry per argument
>>> df(2)
14
>>> d2f = lambda x: gradient(df, x)[0]
>>> d2f(2)
6
>>> x = sf.symbols("x")                        # a sympy.Symbol
>>> df(x), d2f(x)
(6*x + 2, 6)

>>> f = lambda x, y: sf.sum((x - y)**2)
>>> gradient(f, [2, 1], [2, 0])               # lists become arrays; integer in → exact integer out
(array([0, 2]), array([0, -2]))

>>> x, y = sf.array([2, 1]), sf.array([2, 0])  # symflux arrays can be tracked by identity
>>> gs = gradient(lambda: f(x, y), params(x, y))
>>> gs[x], gs[y]
(array([0, 2]), array([0, -2]))
'''


def test_design_session_verbatim():
    parser = doctest.DocTestParser()
    test = parser.get_doctest(SESSION, {}, "design §1", None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0 and runner.tries > 0


def test_types_follow_inputs():
    f = lambda x: 3 * x**2 + 2 * x + 1
    assert type(gradient(f, 2)[0]) is int
    assert type(gradient(f, 2.0)[0]) is float and gradient(f, 2.0)[0] == 14.0
    assert gradient(f, sympy.Rational(1, 3))[0] == 4
    assert gradient(lambda x: x**3 / 3, sympy.Rational(1, 2))[0] == sympy.Rational(1, 4)
    g32 = gradient(f, np.float32(2))[0]
    assert g32.dtype == np.float32 and g32 == 14
    arr = gradient(lambda v: sf.sum(v**2), np.arange(3, dtype=np.float32))[0]
    assert arr.dtype == np.float32 and list(arr) == [0, 2, 4]
    exact = gradient(lambda v: sf.sum(sf.sqrt(v)), [4, 9])[0]
    assert list(exact) == [sympy.Rational(1, 4), sympy.Rational(1, 6)]
    assert gradient(sf.sin, 2)[0] == sympy.cos(2)


def test_linear_regression_loss_goes_down_in_place():
    sf.seed(1)
    W = sf.rand(2, 5)
    b = sf.rand(2)
    predict = lambda x: W @ x + b

    def loss(x, y):
        return sf.sum((y - predict(x)) ** 2)

    x, y = sf.rand(5), sf.rand(2)
    W_id, first = id(W), loss(x, y)
    for _ in range(5):
        gs = gradient(lambda: loss(x, y), params(W, b))
        W -= 0.1 * gs[W]
        b -= 0.1 * gs[b]
    assert id(W) == W_id and isinstance(W, sf.Array)
    assert loss(x, y) < 0.5 * first
    # the gradient is the closed form 2(Wx + b - y)xᵀ
    residual = W @ x + b - y
    gs = gradient(lambda: loss(x, y), params(W, b))
    np.testing.assert_allclose(gs[W], 2 * np.outer(residual, x))
    np.testing.assert_allclose(gs[b], 2 * residual)


def test_zygote_feature_cases():
    assert gradient(lambda a, b: a * b, 2, 3) == (3, 2)
    assert gradient(lambda x: 1, 2) == (None,)
    assert gradient(lambda t: t[0] * t[1], (2, 3)) == ((3, 2),)
    assert gradient(lambda x, *rest: x, 1, 1) == (1, None)
    W, x = sf.array([[1, 0], [0, 1]]), sf.array([1, 2])
    assert np.array_equal(gradient(lambda: sf.sum(W @ x), sf.Params([W]))[W], [[1, 2], [1, 2]])


def test_control_flow_on_integers_follows_their_values():
    """flux_spec §2: ``gradient(pow, 2, 3) == (12, nothing)``, n only read by control flow. An integer's
    branch follows its value in a gradient taken at numbers (Zygote, autograd, JAX's grad); it raised."""
    def power(x, n):
        return 1 if n <= 0 else x * power(x, n - 1)
    assert gradient(power, 2, 3) == (12, None)
    assert gradient(power, 2.0, 3) == (12.0, None)
    assert gradient(lambda x, n: sum(x ** i for i in range(n)), 2.0, 4) == (17.0, None)  # range(traced int)
    np.testing.assert_array_equal(sf.grad(lambda x, k: sf.sum(x[:k] ** 2))(sf.array([1.0, 2.0, -1.0]), 2), [2, 4, 0])
    assert gradient(lambda x: gradient(lambda y: power(y, x), 3)[0], 2) == (None,)  # nested: 2·3, x only branches
    with pytest.raises(sf.TracingError, match="control flow"):  # compiled code keeps no branch of values
        sf.compile(lambda x, n: power(x, n))(2.0, 3)
    with pytest.raises(sf.TracingError, match="sf.where"):  # on floats both branches are sf.where's
        gradient(lambda x: x if x > 0 else -x, 1.0)


def test_nested_gradients_and_perturbation_confusion():
    D = lambda f, x: gradient(f, x)[0]
    assert D(lambda x: D(sf.sin, x), 0.5) == -math.sin(0.5)
    assert D(lambda x: x * D(lambda y: x + y, 1), 1) == 1
    assert D(lambda x: x * D(lambda y: x * y, 1), 4) == 8
    prime = lambda f: (lambda x: gradient(f, x)[0])
    assert prime(prime(prime(sf.sin)))(1.0) == -math.cos(1.0)
    assert prime(prime(prime(sf.sin)))(sf.symbols("x")) == -sympy.cos(sf.symbols("x"))


def test_unused_and_vanishing_gradients():
    ps_a, ps_b = sf.ones(2), sf.ones(3)
    gs = gradient(lambda: sf.sum(ps_a * 2), params(ps_a, ps_b))
    assert gs[ps_b] is None and list(gs[ps_a]) == [2, 2]
    assert gradient(lambda x: 0 * x, 2.0) == (0.0,)
    prime = lambda f: (lambda x: gradient(f, x)[0])
    assert prime(prime(prime(sf.relu)))(0.5) == 0


def test_symbols_and_closed_forms():
    x, y = sf.symbols("x y")
    assert gradient(lambda a, b: a * sf.exp(b), x, y) == (sympy.exp(y), x * sympy.exp(y))
    assert gradient(lambda a: sf.sigmoid(a), x)[0] == sf.sigmoid(x) * (1 - sf.sigmoid(x))
    assert sf.latex(gradient(lambda a: a**3, x)[0]) == "3 x^{2}"
    k = sympy.Symbol("k")
    assert gradient(lambda a: k * a**2, x)[0] == 2 * k * x


def test_matrix_calculus_prints_as_formulas():
    m, n = sympy.symbols("m n", integer=True, positive=True)
    W, x = sf.symbols("W", shape=(m, n)), sf.symbols("x", shape=(n,))
    b, y = sf.symbols("b", shape=(m,)), sf.symbols("y", shape=(m,))
    loss = lambda W, x, b: sf.sum((W @ x + b - y) ** 2)
    dW, dx, db = gradient(loss, W, x, b)
    assert str(dW) == "2*(W*x + b - y)*x.T"
    assert str(dx) == "2*W.T*(W*x + b - y)"
    assert str(db) == "2*(W*x + b - y)"
    assert sf.latex(dW) == r"2 \left(W x + b - y\right) x^{T}"


def test_tiny_tensors_expand_to_explicit_matrices():
    W, x = sf.symbols("W", shape=(2, 2)), sf.symbols("x", shape=(2,))
    dW = gradient(lambda W: sf.sum(W @ x), W)[0]
    assert sf.as_matrix(dW) == sympy.Matrix([[x[0, 0], x[1, 0]], [x[0, 0], x[1, 0]]])
    a, b = sf.symbols("a b")
    g = gradient(lambda v: sf.sum(v**2), sympy.Matrix([[a], [b]]))[0]
    assert g == sympy.Matrix([[2 * a], [2 * b]])


def test_jupyter_latex_for_exact_arrays():
    x, y = sf.symbols("x y")
    g = gradient(lambda v: sf.sum(v**3), sf.array([x, y]))[0]
    assert g._repr_latex_() == r"$\displaystyle \left[\begin{matrix}3 x^{2} & 3 y^{2}\end{matrix}\right]$"
    assert sf.array([1.0])._repr_latex_() is None
    assert gradient(lambda a: a**2, x)[0]._repr_latex_() == "$\\displaystyle 2 x$"
