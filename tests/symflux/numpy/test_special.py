"""sf.special against SciPy beyond the op table's rows: exact derivatives, higher orders through
compiled code, SciPy's own ufuncs on traced arrays, float32, and every backend (the CUDA emulator
too)."""

import os

import numpy as np
import pytest
import scipy.special as sp
import sympy
from optable import exported

import symflux as sf
from codegen.runtime import cuda as cuda_runtime

S = sf.special
x = np.array([0.3, 1.5, 2.0, 7.25, -0.7, -2.5, 1e-3])


def test_derivatives_are_exact_closed_forms():
    t = sympy.Symbol("t")
    assert sf.gradient(S.gammaln, t)[0] == sympy.polygamma(0, t)
    assert sf.gradient(S.digamma, t)[0] == sympy.polygamma(1, t)
    assert sympy.simplify(sf.gradient(S.erf, t)[0] - 2 * sympy.exp(-t**2) / sympy.sqrt(sympy.pi)) == 0
    assert sympy.simplify(sf.gradient(S.erfinv, t)[0] - sympy.sqrt(sympy.pi) * sympy.exp(sympy.erfinv(t)**2) / 2) == 0
    assert S.gamma(sympy.Integer(5)) == 24 and S.erf(t) == sympy.erf(t)


@pytest.mark.parametrize("compiled", [False, True])
def test_second_and_third_derivatives_are_polygammas(compiled):
    def derivatives(v):
        first = sf.grad(lambda u: sf.sum(S.gammaln(u)))
        second = sf.grad(lambda u: sf.sum(first(u)))
        third = sf.grad(lambda u: sf.sum(second(u)))
        return first(v), second(v), third(v), sf.grad(lambda u: sf.sum(S.erfinv(u)))(v / 8)
    got = sf.compile(derivatives)(x) if compiled else derivatives(x)
    want = sp.psi(x), sp.polygamma(1, x), sp.polygamma(2, x), np.sqrt(np.pi) / 2 * np.exp(sp.erfinv(x / 8) ** 2)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)


def test_scipys_ufuncs_run_on_traced_arrays():
    f = lambda v: sp.erf(v) + sp.gammaln(v + 3) + sp.psi(v + 3) + sp.expit(v) + sp.xlogy(v, v + 3)
    np.testing.assert_allclose(sf.compile(f)(x), f(x), rtol=1e-13)
    gradient = sf.grad(lambda v: sf.sum(f(v)))(x)
    want = (2 / np.sqrt(np.pi) * np.exp(-x**2) + sp.psi(x + 3) + sp.polygamma(1, x + 3) + sp.expit(x) * sp.expit(-x)
            + np.log(x + 3) + x / (x + 3))
    np.testing.assert_allclose(gradient, want, rtol=1e-12)


def test_float32_stays_float32_and_integers_are_float():
    for f in (S.erf, S.gammaln, S.digamma, lambda v: S.polygamma(1, v), S.erfinv):
        got = sf.compile(f)(x.astype(np.float32) / 8)
        assert got.dtype == np.float32
    assert S.erf(np.array([1, 2], np.int32)).dtype == np.float64 == sf.compile(S.gamma)(np.array([3, 4])).dtype


def test_scipy_softmax_and_logsumexp_reduce_every_axis_by_default():
    m = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(S.softmax(m), sp.softmax(m), rtol=1e-14)
    np.testing.assert_allclose(S.log_softmax(m, axis=1), sp.log_softmax(m, axis=1), rtol=1e-14)
    np.testing.assert_allclose(sf.compile(S.logsumexp)(m), sp.logsumexp(m), rtol=1e-14)


@pytest.mark.parametrize("path", ["exported C", "CUDA emulator"])
def test_every_backend_computes_scipys_values(path, monkeypatch):
    def f(v):
        return (S.erf(v), S.erfc(v), S.gamma(v), S.gammaln(v), S.digamma(v), S.polygamma(2, v), S.erfinv(v / 8),
                S.ndtr(v))
    want = (sp.erf(x), sp.erfc(x), sp.gamma(x), sp.gammaln(x), sp.psi(x), sp.polygamma(2, x), sp.erfinv(x / 8),
            sp.ndtr(x))
    if path == "CUDA emulator":
        monkeypatch.setitem(os.environ, "SYMFLUX_CUDA_EMULATE", "1")
        cuda_runtime.reset_default_cuda_runtime()
        got = sf.compile(f, backend="cuda")(x)
        cuda_runtime.reset_default_cuda_runtime()
    else:
        got = [exported(lambda v, k=k: f(v)[k], x) for k in range(len(want))]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-13)


def test_python_numbers_divide_by_zero_as_numpy_does():
    """A float function of Python numbers computes in NumPy's floats: 1/0.0 is inf, not ZeroDivisionError."""
    with np.errstate(all="ignore"):
        assert sf.reciprocal(0.0) == np.inf and S.logit(1.0) == np.inf and sf.power(0.0, -1.0) == np.inf
