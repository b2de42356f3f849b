"""Transforms composed with each other and with compile, against the interpreter; pytrees through
every transform; compiled functions differentiated, batched and compiled again."""

import numpy as np
import pytest

import symflux as sf

rng = np.random.default_rng(17)
W = rng.standard_normal((3, 4))


def loss(w, x):
    return sf.sum(sf.tanh(w @ x) ** 2) + sf.sum(w**2) * 0.1


def per_example(w, xs):
    return np.stack([np.asarray(sf.grad(loss)(w, x)) for x in xs])


XS = rng.standard_normal((5, 4))
COMPOSITIONS = {
    "compile(grad)": (lambda: sf.compile(sf.grad(loss))(W, XS[0]), lambda: sf.grad(loss)(W, XS[0])),
    "grad(compile)": (lambda: sf.grad(sf.compile(loss))(W, XS[0]), lambda: sf.grad(loss)(W, XS[0])),
    "compile(grad(compile))": (lambda: sf.compile(sf.grad(sf.compile(loss)))(W, XS[0]),
                               lambda: sf.grad(loss)(W, XS[0])),
    "vmap(grad)": (lambda: sf.vmap(sf.grad(loss), in_axes=(None, 0))(W, XS), lambda: per_example(W, XS)),
    "compile(vmap(grad))": (lambda: sf.compile(sf.vmap(sf.grad(loss), in_axes=(None, 0)))(W, XS),
                            lambda: per_example(W, XS)),
    "vmap(compile(grad))": (lambda: sf.vmap(sf.compile(sf.grad(loss)), in_axes=(None, 0))(W, XS),
                            lambda: per_example(W, XS)),
    "jvp(grad)": (lambda: sf.jvp(lambda w: sf.grad(loss)(w, XS[0]), (W,), (np.ones_like(W),))[1],
                  lambda: sf.hvp(lambda w: loss(w, XS[0]), W, np.ones_like(W))),
    "compile(jvp)": (lambda: sf.compile(lambda w, v: sf.jvp(lambda u: loss(u, XS[0]), (w,), (v,))[1])(W, W),
                     lambda: np.sum(np.asarray(sf.grad(loss)(W, XS[0])) * W)),
    "vmap(jvp)": (lambda: sf.vmap(lambda v: sf.jvp(lambda u: loss(u, XS[0]), (W,), (v,))[1])(np.stack([W, 2 * W])),
                  lambda: np.sum(np.asarray(sf.grad(loss)(W, XS[0])) * W) * np.array([1.0, 2.0])),
    "hessian(compile)": (lambda: sf.hessian(sf.compile(lambda x: loss(W, x)), XS[0]),
                         lambda: sf.hessian(lambda x: loss(W, x), XS[0])),
    "compile(hessian)": (lambda: sf.compile(lambda x: sf.hessian(lambda u: loss(W, u), x))(XS[0]),
                         lambda: sf.hessian(lambda x: loss(W, x), XS[0])),
    "jacfwd(vmap)": (lambda: sf.jacfwd(sf.vmap(sf.tanh))(XS[0]), lambda: np.diag(1 - np.tanh(XS[0]) ** 2)),
    "vmap(vmap(compile))": (lambda: sf.vmap(sf.vmap(sf.compile(lambda a: a * 2 + 1)))(XS),
                            lambda: XS * 2 + 1),
}


@pytest.mark.parametrize("name", sorted(COMPOSITIONS))
def test_composition_matches_the_interpreter(name):
    got, want = COMPOSITIONS[name]
    np.testing.assert_allclose(np.asarray(got()), np.asarray(want()), rtol=1e-10, atol=1e-12)


def test_compiled_model_gradients_and_the_2017_back_update():
    model = sf.f64(sf.Chain(sf.Dense(4, 3, sf.tanh), sf.Dense(3, 2)))
    x, Δ = rng.standard_normal((6, 4)), rng.standard_normal((6, 2))
    fast = sf.compile(model)
    gs = sf.gradient(lambda: sf.sum(fast(x) * Δ), sf.params(model))
    ref = sf.gradient(lambda: sf.sum(model(x) * Δ), sf.params(model))
    for p in sf.params(model):
        np.testing.assert_allclose(gs[p], ref[p], rtol=1e-12)
    dx = sf.back(sf.llvm(model), Δ, x)
    np.testing.assert_allclose(dx, sf.gradient(lambda v: sf.sum(model(v) * Δ), x)[0], rtol=1e-12)
    W0 = np.array(model[0].W)
    sf.update(model, 0.1)
    np.testing.assert_allclose(model[0].W, W0 - 0.1 * ref[model[0].W], rtol=1e-12)


PYTREE = {"w": rng.standard_normal(3), "pair": (rng.standard_normal(2), None), "list": [rng.standard_normal(1)]}


def tree_loss(p):
    return sf.sum(p["w"] ** 2) + sf.sum(p["pair"][0] * 3) + sf.sum(sf.exp(p["list"][0]))


def _check_tree(g):
    np.testing.assert_allclose(g["w"], 2 * PYTREE["w"])
    np.testing.assert_allclose(g["pair"][0], [3.0, 3.0])
    assert g["pair"][1] is None
    np.testing.assert_allclose(g["list"][0], np.exp(PYTREE["list"][0]))


@pytest.mark.parametrize("transform", ["gradient", "grad", "vjp", "jacrev", "jacfwd", "compile(grad)"])
def test_pytrees_through_every_transform(transform):
    if transform == "gradient":
        (g,) = sf.gradient(tree_loss, PYTREE)
    elif transform == "grad":
        g = sf.grad(tree_loss)(PYTREE)
    elif transform == "vjp":
        (g,) = sf.vjp(tree_loss, PYTREE)[1](1.0)
    elif transform == "compile(grad)":
        g = sf.compile(sf.grad(tree_loss))(PYTREE)
    else:
        g = getattr(sf, transform)(tree_loss)(PYTREE)
    _check_tree(g)


def test_jvp_and_vmap_of_pytrees():
    tangent = {"w": np.ones(3), "pair": (np.zeros(2), None), "list": [np.zeros(1)]}
    _, t = sf.jvp(tree_loss, (PYTREE,), (tangent,))
    np.testing.assert_allclose(t, 2 * PYTREE["w"].sum())
    stacked = {"w": np.stack([PYTREE["w"]] * 2), "pair": (np.stack([PYTREE["pair"][0]] * 2), None),
               "list": [np.stack([PYTREE["list"][0]] * 2)]}
    np.testing.assert_allclose(sf.vmap(tree_loss)(stacked), [tree_loss(PYTREE)] * 2, rtol=1e-12)


def test_a_compiled_model_converts_like_its_model():
    model = sf.Dense(2, 1)
    fast = sf.compile(model)
    x = np.ones((3, 2), np.float32)
    fast(x)
    fast64 = sf.f64(fast)
    assert list(sf.params(fast)) == list(sf.params(model))
    assert fast64(x.astype(np.float64)).dtype == np.float64 and fast64.f.W.dtype == np.float64
