"""The sf.* namespace and symflux arrays behave like NumPy on plain values."""

import inspect

import numpy as np
import pytest
import sympy

import symflux as sf


def test_arrays_are_numpy_arrays():
    a = sf.array([1.0, 2.0, 3.0])
    assert isinstance(a, np.ndarray) and isinstance(a, sf.Array)
    assert isinstance(a + 1, sf.Array) and isinstance(np.exp(a), sf.Array)
    assert repr(sf.array([0, -2])) == "array([0, -2])"
    assert repr(a) == repr(np.array([1.0, 2.0, 3.0]))
    b = a
    b -= 1.0
    assert b is a and list(a) == [0.0, 1.0, 2.0]
    assert sf.rand(2, 3).shape == (2, 3) and sf.rand(2, 3).dtype == np.float64
    assert sf.randn((4,)).shape == (4,) and sf.zeros(2, 2).sum() == 0 and sf.ones(3).sum() == 3
    assert a.T.shape == (3,) and a.reshape(3, 1).shape == (3, 1) and a[1:].sum() == 3.0


def test_functions_on_plain_values():
    assert np.isclose(sf.log(sf.sum(sf.exp(sf.array([1.0, 2, 3])))), 3.40760596444438)
    assert isinstance(sf.exp(2), np.floating) and np.isclose(sf.exp(2), np.e**2)
    assert isinstance(sf.exp([0.0, 1.0]), sf.Array)
    x = sympy.Symbol("x")
    assert sf.exp(x) == sympy.exp(x) and sf.sigmoid(x) == sf.functions.sigmoid(x)
    assert sf.maximum(3, 5) == 5 and sf.relu(-2.0) == 0.0
    assert np.allclose(sf.softmax(np.array([[1.0, 2.0], [3.0, 3.0]])), [[0.26894142, 0.73105858], [0.5, 0.5]])
    assert np.isclose(sf.logsumexp(np.array([1.0, 2.0])), np.log(np.e + np.e**2))
    assert sf.matmul(np.eye(2), [1, 2]).tolist() == [1, 2]
    assert sf.mean([1, 2, 3, 4]) == 2.5 and sf.var([1, 2, 3, 4]) == 1.25
    exact = sf.array([sympy.Rational(1, 2), sympy.Rational(1, 3)])
    assert sf.sum(exact) == sympy.Rational(5, 6) and sf.max(exact) == sympy.Rational(1, 2)


def test_activation_values():
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    assert np.allclose(sf.relu(x), [0, 0, 0, 0.5, 2])
    assert np.allclose(sf.leakyrelu(x), [-0.02, -0.005, 0, 0.5, 2])
    assert np.allclose(sf.leakyrelu(x, 0.2), [-0.4, -0.1, 0, 0.5, 2])
    assert np.allclose(sf.elu(x), [np.expm1(-2), np.expm1(-0.5), 0, 0.5, 2])
    assert np.allclose(sf.softplus(x), np.log1p(np.exp(x)))
    assert np.allclose(sf.swish(x), x / (1 + np.exp(-x)))
    assert np.allclose(sf.hardtanh(x), [-1, -0.5, 0, 0.5, 1])
    assert np.allclose(sf.hardsigmoid(x), np.clip(0.2 * x + 0.5, 0, 1))
    assert np.allclose(sf.σ(x), 1 / (1 + np.exp(-x))) and sf.σ is sf.sigmoid
    assert np.allclose(sf.logσ(x), -np.log1p(np.exp(-x)))
    assert np.allclose(sf.softsign(x), x / (1 + np.abs(x)))
    assert np.allclose(sf.relu6(np.array([-1.0, 3.0, 7.0])), [0, 3, 6])
    assert np.allclose(sf.selu(np.array([1.0])), [1.0507009873554805])


def test_traced_methods_and_protocols():
    def f(x):
        y = x.reshape(2, 3).T.sum(axis=1) + np.sum(x) + x.mean() + x.max() - x.min()
        return (y.dot(np.ones(3)) + len(x) + x.size + x.ndim + sum(x[:2])) * x.std() + x.var()

    x = np.arange(6.0)
    (g,) = sf.gradient(f, x)
    eps, fd = 1e-6, []
    for i in range(6):
        e = np.zeros(6)
        e[i] = eps
        fd.append((f(x + e) - f(x - e)) / (2 * eps))
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-6)


def test_operators_combine_masks_and_bits_on_traced_arrays():
    """(x > 0) & (x < 1), ~mask, and integer bits: the NumPy idioms, traced and compiled."""
    x = np.array([-1.0, 0.5, 2.0, np.nan])
    masks = lambda v: ((v > 0) & (v < 1), ~(v > 0) | (v > 1), (v > 0) ^ np.isnan(v), np.bitwise_and(v > 0, True))
    for got, want in zip(sf.compile(masks)(x), masks(x)):
        np.testing.assert_array_equal(got, want)
    (g,) = sf.gradient(lambda v: sf.sum(sf.where((v > 0) & (v < 1), v**2, 0.0)), x[:3])
    np.testing.assert_array_equal(g, [0.0, 1.0, 0.0])
    with pytest.raises(TypeError, match="bitwise_and"):
        sf.compile(lambda v: v & 1)(x)
    with pytest.raises(TypeError, match="invert"):
        sf.gradient(lambda v: sf.sum(~v), x)


def test_geomspace_poly_array_equal_argpartition_sort_complex_and_constructors():
    for start, stop in ((1.0, 1000.0), (-2.0, -16.0)):
        np.testing.assert_allclose(sf.vmap(lambda s: sf.geomspace(s, stop, 4))(np.array([start]))[0],
                                   np.geomspace(start, stop, 4), rtol=1e-12)
    assert sf.grad(lambda s: sf.sum(sf.geomspace(s, 8.0, 4)))(1.0) == pytest.approx(1 + 4 / 3 + 4 / 3)
    roots = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(sf.vmap(sf.poly)(roots[None])[0], np.poly(roots))
    np.testing.assert_allclose(sf.grad(lambda r: sf.sum(sf.poly(r)))(roots), [-2.0, 0.0, 0.0])  # ∂Π(1 − rᵢ)
    rows = np.array([[1, 2, 1], [1, 2, 3]])
    assert sf.vmap(lambda a: sf.array_equal(a, a[::-1]))(rows).tolist() == [True, False]
    assert sf.jit(lambda a: sf.array_equiv(a, a[0]))(np.ones((2, 3)))
    assert sf.array_equal(np.ones(2), np.ones(3)) is False
    assert sf.vmap(lambda a: sf.array_equal(a, a, equal_nan=True))(np.array([[np.nan, 1.0]])).tolist() == [True]
    a = np.array([[3.0, 1.0, 2.0]])
    order = sf.vmap(lambda v: sf.argpartition(v, 1))(a)[0]
    assert a[0][order][1] == np.partition(a[0], 1)[1]
    sorted_complex = sf.vmap(sf.sort_complex)(a)[0]
    assert sorted_complex.dtype == np.complex128 and sorted_complex.tolist() == [1, 2, 3]
    assert sf.numpy.identity(2).tolist() == [[1, 0], [0, 1]] and sf.empty((2,)).tolist() == [0, 0]
    assert sf.identity(3.0) == 3.0  # Flux's identity activation, not NumPy's identity matrix
    assert [i.tolist() for i in sf.numpy.triu_indices(2)] == [[0, 0, 1], [0, 1, 1]]


def test_the_numpy_namespace_does_not_replace_flux_names():
    """``sf.*`` takes NumPy's names after Flux's: NumPy's ``identity`` had replaced the activation."""
    replaced = [name for name in sf.nn.__all__ if getattr(sf, name, None) is not getattr(sf.nn, name)
                and not inspect.ismodule(getattr(sf.nn, name))]  # sf.conv is the function, not nn's module
    assert not replaced, replaced


def test_sf_trace_and_sf_interp_are_numpys_functions_when_called():
    """``sf.trace`` and ``sf.interp`` are symflux's tracing and interpreter modules, and NumPy's trace and
    interp when called (as a NumPy user writes them): calling them raised "'module' object is not callable"."""
    a = np.arange(9.0).reshape(3, 3)
    assert sf.trace(a) == np.trace(a) and sf.trace(a, offset=1) == np.trace(a, offset=1)
    np.testing.assert_allclose(sf.grad(lambda x: sf.trace(x @ x))(a), 2 * a.T)
    assert sf.interp(1.5, [1.0, 2.0], [0.0, 10.0]) == np.interp(1.5, [1.0, 2.0], [0.0, 10.0])
    assert callable(sf.trace.operand_node) and callable(sf.interp.evaluate)
