"""The runtime's special functions (codegen/runtime/special.c) against mpmath and SciPy, called
through ctypes: accuracy far from and near the poles, the reflection below 0, the tails of erf⁻¹,
and SciPy's values at the special points."""

import ctypes

import mpmath
import numpy as np
import pytest
import scipy.special as sp

from codegen.runtime import special

LIB = special.library()
for _name, _arity in (("codegen_polygamma", 2), ("codegen_erfinv", 1), ("codegen_gammaln", 1)):
    getattr(LIB, _name).restype, getattr(LIB, _name).argtypes = ctypes.c_double, [ctypes.c_double] * _arity

rng = np.random.default_rng(5)
POINTS = np.concatenate([rng.uniform(-20, 20, 150), rng.uniform(0, 3, 50), np.exp(rng.uniform(-25, 9, 50)),
                         -np.exp(rng.uniform(-25, 9, 50)), [-9999.25, -2.5, -0.5, 1e-300, 1.0, 2.0, 1e15]])
POINTS = POINTS[(POINTS > 0) | (POINTS != np.floor(POINTS))]


@pytest.mark.parametrize("n", [0, 1, 2, 3, 6])
def test_polygamma_is_accurate_everywhere_off_the_poles(n):
    mpmath.mp.dps = 40
    for x in POINTS:
        got = LIB.codegen_polygamma(n, x)
        want = float(mpmath.polygamma(n, mpmath.mpf(x))) if abs(x) < 1e4 else sp.polygamma(n, x)
        # near a root of ψ (x ≈ 1.46, and one in each negative unit interval) the relative error grows
        assert got == pytest.approx(want, rel=1e-11, abs=1e-14), (n, x)


def test_polygamma_and_gammaln_at_scipys_special_points():
    specials = [0.0, -0.0, -1.0, -3.0, -np.inf, np.inf, np.nan, 5e-324]
    for n in (0, 1, 2):
        got = [LIB.codegen_polygamma(n, x) for x in specials]
        np.testing.assert_array_equal(got, sp.polygamma(n, np.array(specials)), err_msg=f"n = {n}")
    assert np.isnan(LIB.codegen_polygamma(1.5, 2.0)) and np.isnan(LIB.codegen_polygamma(-1, 2.0))
    np.testing.assert_array_equal([LIB.codegen_gammaln(x) for x in specials[:-1]], sp.gammaln(specials[:-1]))


def test_erfinv_to_the_last_bits_and_at_the_ends():
    ys = np.concatenate([rng.uniform(-1, 1, 300), 1 - np.exp(rng.uniform(-36, 0, 100)),
                         -1 + np.exp(rng.uniform(-36, 0, 100)), np.exp(rng.uniform(-300, 0, 50))])
    got = np.array([LIB.codegen_erfinv(y) for y in ys])
    np.testing.assert_allclose(got, sp.erfinv(ys), rtol=2e-15)
    ends = [1.0, -1.0, 0.0, 1.5, -1.5, np.nan]
    np.testing.assert_array_equal([LIB.codegen_erfinv(y) for y in ends], sp.erfinv(ends))
    assert np.signbit(LIB.codegen_erfinv(-0.0))  # odd, as erf is (SciPy's is +0)
