"""Derivatives kept on disk (``symflux.derived``): a new process reads what SymPy derived before,
under the body's structure and the rules' hash; cheap bodies, and what SymEngine derives, are not kept."""

import importlib

import numpy as np
import pytest
import sympy

import symflux as sf
from symflux import derived, elementary, functions
from symflux.ir import ARG, arg_symbol

vjp = importlib.import_module("symflux.vjp")  # the module (sf.vjp is the function)

x, y = ARG[0], ARG[1]
BODY = sympy.sin(x) * sympy.exp(-x**2 - y**2) + sympy.log(1 + x**2 * y**2) / (1 + sympy.cos(x * y) ** 2)
SYMPYS = BODY + functions.sigmoid(x * y)  # not elementary: SymPy differentiates it


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """A process's view of an empty cache directory: nothing remembered in memory."""
    monkeypatch.setenv("SYMFLUX_CACHE_DIR", str(tmp_path / "cache"))
    derived._cache.cache_clear()
    functions.evaluated.cache_clear()
    functions.carried_out.cache_clear()
    yield
    derived._cache.cache_clear()
    functions.evaluated.cache_clear()


def _no_sympy(monkeypatch):
    def refuse(*args):
        raise AssertionError("SymPy was asked again")
    monkeypatch.setattr(functions, "carried_out", refuse)
    monkeypatch.setattr(vjp, "_partial", refuse)


def test_second_and_mixed_derivatives_come_back_from_disk(fresh_cache, monkeypatch):
    mixed = sympy.Derivative(SYMPYS, x, y)
    first = functions.evaluated(mixed)
    assert sympy.expand(first - sympy.diff(SYMPYS, x, y)) == 0
    functions.evaluated.cache_clear()  # a new process
    _no_sympy(monkeypatch)
    assert functions.evaluated(mixed) == first


def test_what_symengine_derives_is_taken_again_not_read_from_disk(fresh_cache, monkeypatch):
    out = arg_symbol(2)
    functions.evaluated(sympy.Derivative(BODY, x, y))
    vjp.partial_derivative(BODY, x, out)
    functions.evaluated.cache_clear()
    _no_sympy(monkeypatch)
    for again in (lambda: functions.evaluated(sympy.Derivative(BODY, x, y)),
                  lambda: vjp.partial_derivative(BODY, x, out)):
        with pytest.raises(AssertionError, match="asked again"):
            again()


def test_partials_of_big_bodies_come_back_from_disk_and_small_ones_are_not_kept(fresh_cache, monkeypatch):
    out = arg_symbol(2)
    first = vjp.partial_derivative(SYMPYS, x, out)
    _no_sympy(monkeypatch)
    assert vjp.partial_derivative(SYMPYS, x, out) == first
    with pytest.raises(AssertionError, match="asked again"):
        vjp.partial_derivative(functions.sigmoid(x + y), x, out)


def test_an_edit_to_the_rules_reads_no_stale_entry(fresh_cache, monkeypatch):
    mixed = sympy.Derivative(SYMPYS, x, (y, 2))
    functions.evaluated(mixed)
    functions.evaluated.cache_clear()
    functions.carried_out.cache_clear()
    monkeypatch.setattr(derived, "_rules", lambda: "edited")
    _no_sympy(monkeypatch)
    with pytest.raises(AssertionError, match="asked again"):
        functions.evaluated(mixed)


def test_a_hessian_compiled_in_a_warm_cache_equals_the_cold_one(fresh_cache):
    f = lambda a, b: sf.sin(a) * sf.exp(-a**2 - b**2) + sf.log(1 + a**2 * b**2) / (1 + sf.cos(a * b) ** 2)
    hessian = lambda a, b: sf.gradient(lambda c, d: sf.sum(sf.gradient(lambda u, v: sf.sum(f(u, v)), c, d)[0]), a, b)
    a, b = np.linspace(-2, 2, 7), np.linspace(2, -1, 7)
    cold = sf.compile(hessian)(a, b)
    functions.evaluated.cache_clear()
    functions.carried_out.cache_clear()
    warm = sf.compile(hessian)(a, b)
    for c, w in zip(cold, warm):
        np.testing.assert_array_equal(c, w)
    np.testing.assert_allclose(cold[0], hessian(a, b)[0], rtol=1e-12)


def test_a_structure_digest_tells_bodies_apart_in_time_linear_in_their_dag():
    same = sympy.sin(x) * sympy.exp(-x**2 - y**2) + sympy.log(1 + x**2 * y**2) / (1 + sympy.cos(x * y) ** 2)
    assert derived.structure(same) == derived.structure(BODY)
    plain_x = sympy.Symbol(x.name)  # the same name without the real assumption
    for other in (BODY.xreplace({x: y, y: x}), BODY.xreplace({x: plain_x}), BODY + 1, BODY.xreplace({y: 2.0}),
                  BODY.xreplace({y: 2})):
        assert derived.structure(other) != derived.structure(BODY)
    e = sympy.sin(x)
    for _ in range(60):  # a tree of 2^60 nodes, a DAG of a few hundred
        e = e * sympy.cos(e) + e
    assert len(derived.structure(e)) == 32


def test_a_partial_kept_unevaluated_while_tracing_is_not_taken_again_when_lowering(fresh_cache):
    f = lambda a, b: sf.sum(sf.sin(a) * sf.exp(-a**2 - b**2) + sf.log(1 + a**2 * b**2) / (1 + sf.cos(a * b) ** 2))
    a, b = np.linspace(-2, 2, 7), np.linspace(2, -1, 7)
    taken = []
    original = elementary.derivative

    def differentiate(body, variable_count):  # the whole body is the only one holding both sin and log
        if body.has(sympy.sin) and body.has(sympy.log):
            taken.append((body, variable_count))
        return original(body, variable_count)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(elementary, "derivative", differentiate)
        gx, gy = sf.compile(lambda a, b: sf.gradient(f, a, b))(a, b)
    assert len(taken) == len(set(taken)) == 2  # ∂/∂a and ∂/∂b of the body, once each
    np.testing.assert_allclose(gx, sf.gradient(f, a, b)[0], rtol=1e-12)


def test_a_hessian_takes_its_mixed_entries_from_the_gradient(fresh_cache):
    f = lambda a, b: sf.sin(a) * sf.exp(-a**2 - b**2) + sf.log(1 + a**2 * b**2) / (1 + sf.cos(a * b) ** 2)
    grad = lambda c, d: sf.gradient(lambda u, v: sf.sum(f(u, v)), c, d)
    hessian = lambda a, b: (*sf.gradient(lambda c, d: sf.sum(grad(c, d)[0]), a, b),
                            *sf.gradient(lambda c, d: sf.sum(grad(c, d)[1]), a, b))
    a, b = np.linspace(-2, 2, 7), np.linspace(2, -1, 7)
    taken = []
    original = elementary.derivative  # what every derivative of an elementary body goes through
    with pytest.MonkeyPatch.context() as m:
        m.setattr(elementary, "derivative", lambda e, vc: taken.append((e, *vc)) or original(e, vc))
        compiled = sf.compile(hessian)(a, b)
    body_taken = sorted((s.name, n) for e, (s, n) in taken if e == BODY)
    assert body_taken == [(x.name, 1), (x.name, 2), (y.name, 1), (y.name, 2)]
    for c, expected in zip(compiled, (sympy.diff(BODY, x, x), sympy.diff(BODY, x, y),
                                      sympy.diff(BODY, y, x), sympy.diff(BODY, y, y))):
        np.testing.assert_allclose(c, sympy.lambdify([x, y], expected)(a, b), rtol=1e-12)
