"""jacobian, hessian, hvp, value_and_gradient, JAX-style grad, Params and Grads."""

import dataclasses
import pickle

import numpy as np
import pytest
import sympy
from gradcheck import central_difference, needs_torch, torch

import symflux as sf
from symflux import gradient, params

rng = np.random.default_rng(7)


def rosenbrock(v):
    return sf.sum(100 * (v[1:] - v[:-1] ** 2) ** 2 + (1 - v[:-1]) ** 2)


def test_jacobian_matches_finite_differences():
    x = rng.standard_normal(3)
    f = lambda v: sf.tanh(sf.outer(v, v)) @ v
    (J,) = sf.jacobian(f, x)
    assert J.shape == (3, 3)
    np.testing.assert_allclose(J, central_difference(lambda v: np.asarray(f(v)), x), rtol=1e-6, atol=1e-8)


def test_jacobian_of_several_arguments_and_unused():
    a, b = rng.standard_normal((2, 3)), rng.standard_normal(3)
    Ja, Jb, Jc = sf.jacobian(lambda a, b, c: a @ b, a, b, 1.0)
    np.testing.assert_allclose(Ja, np.einsum("ij,k->ijk", np.eye(2), b))
    np.testing.assert_allclose(Jb, a)
    assert Jc is None


def test_hessian_and_hvp_agree():
    x = rng.uniform(-1, 1, 4)
    H = sf.hessian(rosenbrock, x)
    fd = central_difference(lambda v: np.asarray(gradient(rosenbrock, v)[0]), x)
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-4)
    v = rng.standard_normal(4)
    np.testing.assert_allclose(sf.hvp(rosenbrock, x, v), H @ v, rtol=1e-10)


@needs_torch
def test_hessian_matches_torch():
    x = rng.uniform(-1, 1, 4)
    ref = torch.autograd.functional.hessian(
        lambda t: (100 * (t[1:] - t[:-1] ** 2) ** 2 + (1 - t[:-1]) ** 2).sum(), torch.tensor(x))
    np.testing.assert_allclose(sf.hessian(rosenbrock, x), ref.numpy(), rtol=1e-10)


def test_exact_hessian_with_symbols():
    x, y = sf.symbols("x y")
    H = sf.hessian(lambda v: v[0] ** 2 * v[1] + sf.sin(v[1]), sf.array([x, y]))
    assert sympy.Matrix(H) == sympy.Matrix([[2 * y, 2 * x], [2 * x, -sympy.sin(y)]])


def test_value_and_gradient():
    value, (g,) = sf.value_and_gradient(lambda v: sf.sum(v**3), [1, 2])
    assert value == 9 and list(g) == [3, 12]
    W = sf.ones(2)
    value, gs = sf.value_and_gradient(lambda: sf.sum(W * 3.0), params(W))
    assert value == 6.0 and list(gs[W]) == [3.0, 3.0]


def test_jax_style_grad():
    f = lambda x, y: x**2 * y
    assert sf.grad(f)(3.0, 2.0) == 12.0
    assert sf.grad(f, argnums=1)(3.0, 2.0) == 9.0
    assert sf.grad(f, argnums=(0, 1))(3, 2) == (12, 9)
    assert sf.grad(sf.grad(sf.grad(f)))(3.0, 2.0) == 0.0
    assert sf.grad(sf.grad(lambda x: x**4))(2) == 48


def test_jax_style_grad_gives_zeros_for_what_f_does_not_use():
    """JAX's zeros, where Flux's gradient says None (vmap(grad) of an unused argument was None)."""
    assert sf.grad(lambda a, b: b)(1.0, 2.0) == 0.0
    g = sf.grad(lambda a: 3.0)(np.ones(2, np.float32))
    assert g.dtype == np.float32 and g.tolist() == [0.0, 0.0]
    assert sf.grad(lambda d: d["a"] * 2.0)({"a": 1.0, "b": 2.0})["b"] == 0.0
    np.testing.assert_array_equal(sf.vmap(sf.grad(lambda a, b: sf.sum(b)))(np.ones((3, 2)), np.ones((3, 2))),
                                  np.zeros((3, 2)))
    assert sf.value_and_grad(lambda a, b: sf.sum(b), argnums=(0, 1))(np.ones(2), np.ones(2))[1][0].tolist() == [0, 0]
    assert sf.gradient(lambda a, b: b, 1.0, 2.0) == (None, 1.0)


def test_grad_of_closure_over_outer_traced_value():
    # d/dx [ x * d/dy (x*y + y^2) at y = x ] = d/dx [x * (x + 2x)] = 6x
    f = lambda x: x * sf.grad(lambda y: x * y + y**2)(x)
    assert sf.grad(f)(2) == 12


def test_params_are_ordered_and_deduplicated():
    a, b = sf.zeros(2), sf.ones(3)
    ps = params(a, [b, a], (b,), {"k": a})
    assert len(ps) == 2 and ps[0] is a and ps[1] is b
    assert b in ps and sf.ones(3) not in ps


def test_params_walks_functors():
    @sf.functor
    class Affine:
        def __init__(self, W, b):
            self.W, self.b = W, b

        def __call__(self, x):
            return self.W @ x + self.b

    a = Affine(sf.randn(5, 10), sf.randn(5))
    ps = params(a)
    assert list(ps) == [a.W, a.b] and ps == [a.W, a.b]
    x = sf.randn(10)
    gs = gradient(lambda: sf.sum(a(x)), ps)
    np.testing.assert_allclose(gs[a.W], np.tile(x, (5, 1)))
    np.testing.assert_allclose(gs[a.b], np.ones(5))


def test_grads_indexing_errors():
    W = sf.ones(2)
    gs = gradient(lambda: sf.sum(W), params(W))
    with pytest.raises(KeyError, match="not among the parameters"):
        gs[sf.ones(2)]
    with pytest.raises(TypeError, match="Only reference types"):
        gs[1.0]
    assert "Grads" in repr(gs) and list(gs.keys()) == [W]


def test_nested_implicit_params():
    W = sf.array([1.0, 2.0])
    inner = lambda: gradient(lambda: sf.sum(W**3), params(W))[W]
    gs = gradient(lambda: sf.sum(inner()), params(W))   # d/dW Σ 3W² = 6W
    np.testing.assert_allclose(gs[W], [6.0, 12.0])


# -- tensor-level Jacobians and Hessians (one-hot batches) --------------------------------------

def _graph_size(transform, f, n):
    return len(sf.make_graph(lambda v: transform(f, v), rng.standard_normal(n)))


LAUE = {  # Laue, Mitterreiter and Giesen (NeurIPS 2018): the three Hessian problems, and a generic one
    "quadratic": lambda A: lambda v: v @ A @ v,
    "logistic": lambda A: lambda v: sf.sum(sf.log(1 + sf.exp(-sf.sign(A[:, 0]) * (A @ v)))),
    "rosenbrock": lambda A: rosenbrock,
}


@pytest.mark.parametrize("name", sorted(LAUE))
def test_hessian_and_jacobian_graphs_do_not_grow_with_n(name):
    sizes = []
    for n in (8, 256):
        f = LAUE[name](rng.standard_normal((2 * n if name == "logistic" else n, n)))
        sizes.append((_graph_size(sf.hessian, f, n), _graph_size(lambda g, v: sf.jacobian(g, v)[0],
                                                                     lambda v: sf.tanh(v) * f(v), n)))
    assert sizes[0] == sizes[1]


def test_hessian_of_quadratic_form_is_a_plus_a_transpose():
    A, x = rng.standard_normal((5, 5)), rng.standard_normal(5)
    g = sf.make_graph(lambda v: sf.hessian(lambda u: u @ A @ u, v), x)
    assert g.op_counts()["einsum"] == 0 and g.op_counts()["input"] == 0  # A + Aᵀ, independent of x
    np.testing.assert_allclose(sf.hessian(lambda u: u @ A @ u, x), A + A.T, rtol=1e-14)


def test_logistic_regression_hessian_is_xt_diag_x():
    X, w = rng.standard_normal((10, 4)), rng.standard_normal(4)
    y = np.sign(rng.standard_normal(10))
    f = lambda v: sf.sum(sf.log(1 + sf.exp(-y * (X @ v))))
    g = sf.make_graph(lambda v: sf.hessian(f, v), w)
    assert max(np.prod(n.shape) for n in g.nodes) <= 10 * 4  # no n × n or 2n × 2n one-hot intermediates
    s = 1 / (1 + np.exp(-y * (X @ w)))
    np.testing.assert_allclose(sf.hessian(f, w), X.T @ np.diag(s * (1 - s)) @ X, rtol=1e-12)


def test_matrix_factorisation_hessian():
    T, U, V = rng.standard_normal((6, 6)), rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    H = sf.hessian(lambda u: sf.sum((T - u @ V.T) ** 2), U)
    np.testing.assert_allclose(H, 2 * np.einsum("ij,kl->ikjl", np.eye(6), V.T @ V), rtol=1e-12, atol=1e-12)


def test_jacfwd_and_jacrev_agree_on_pytrees():
    f = lambda p, x: {"y": sf.tanh(p["W"] @ x + p["b"]), "n": sf.sum(x**2)}
    p, x = {"W": rng.standard_normal((3, 4)), "b": rng.standard_normal(3)}, rng.standard_normal(4)
    rev, fwd = sf.jacrev(f, argnums=(0, 1))(p, x), sf.jacfwd(f, argnums=(0, 1))(p, x)
    for key in ("y", "n"):
        np.testing.assert_allclose(rev[key][0]["W"], fwd[key][0]["W"], rtol=1e-12)
        np.testing.assert_allclose(rev[key][1], fwd[key][1], rtol=1e-12)
    assert rev["y"][0]["W"].shape == (3, 3, 4) and rev["n"][1].shape == (4,)
    np.testing.assert_allclose(rev["n"][1], 2 * x)
    np.testing.assert_allclose(rev["y"][1], central_difference(lambda v: np.asarray(f(p, v)["y"]), x), rtol=1e-6)


def test_nested_jacobians_are_fast_and_exact():
    import time
    start = time.perf_counter()
    (J2,) = sf.jacobian(lambda v: sf.jacobian(lambda u: u**3 * u[0], v)[0], np.array([1.0, 2.0]))
    assert time.perf_counter() - start < 1.0
    assert J2.shape == (2, 2, 2)
    np.testing.assert_allclose(sf.jacfwd(sf.jacrev(sf.jacrev(lambda v: sf.sum(v**4))))(np.array([1.0, 2.0])),
                               np.einsum("i,ij,ik->ijk", 24 * np.array([1.0, 2.0]), np.eye(2), np.eye(2)))


def test_hessian_as_a_function_and_hvp_by_forward_mode():
    f = lambda x, y: sf.sum(x**2 * y)
    H = sf.hessian(f, argnums=1)(np.ones(2), np.array([1.0, 2.0]))
    np.testing.assert_allclose(H, np.zeros((2, 2)))
    np.testing.assert_allclose(sf.hessian(f)(np.ones(2), np.array([1.0, 2.0])), np.diag([2.0, 4.0]))
    x, v = rng.uniform(-1, 1, 4), rng.standard_normal(4)
    np.testing.assert_allclose(sf.hvp(rosenbrock, x, v), sf.hessian(rosenbrock, x) @ v, rtol=1e-12)


# -- vjp, value_and_grad, has_aux --------------------------------------------------------------

def test_vjp_with_pytrees_and_aux():
    f = lambda p: ({"a": p[0] * p[1], "b": sf.sum(p[0])}, "aux")
    out, vjp_fn, aux = sf.vjp(f, (np.array([1.0, 2.0]), 3.0), has_aux=True)
    assert aux == "aux" and out["b"] == 3.0
    ((ga, gb),) = vjp_fn({"a": np.array([1.0, 1.0]), "b": 1.0})
    np.testing.assert_allclose(ga, [4.0, 4.0])
    assert gb == 3.0
    with pytest.raises(ValueError, match="cotangent of shape"):
        vjp_fn({"a": np.ones(3), "b": 1.0})


def test_value_and_grad_argnums_and_aux():
    f = lambda x, y: (sf.sum(x * y), {"norm": sf.sum(x**2)})
    both = sf.value_and_grad(f, argnums=(0, 1), has_aux=True)
    (value, aux), (gx, gy) = both(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    assert value == 11.0 and aux["norm"] == 5.0
    np.testing.assert_allclose(gx, [3.0, 4.0])
    np.testing.assert_allclose(gy, [1.0, 2.0])
    g, aux = sf.grad(f, has_aux=True)(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    np.testing.assert_allclose(g, [3.0, 4.0])
    assert sf.value_and_grad(lambda x: x**2, argnums=-1)(3.0) == (9.0, 6.0)
    assert sf.jit is sf.compile


def test_structural_gradient_of_a_model():
    model = sf.Chain(sf.Dense(3, 2, sf.tanh), sf.Dense(2, 1))
    x, y = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((4, 1)).astype(np.float32)
    (g,) = sf.gradient(lambda m: sf.mse(m(x), y), model)
    assert type(g) is sf.Chain and type(g[0]) is sf.Dense and g[0].σ is sf.tanh
    gs = sf.gradient(lambda: sf.mse(model(x), y), sf.params(model))
    for layer, grads in zip(model, g):
        np.testing.assert_allclose(grads.W, gs[layer.W], rtol=1e-6)
        np.testing.assert_allclose(grads.b, gs[layer.b], rtol=1e-6)


def test_update_applies_a_structural_gradient():
    model = sf.Chain(sf.Dense(3, 2, sf.tanh), sf.Dense(2, 1))
    x, y = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((4, 1)).astype(np.float32)
    before = [np.array(p) for p in sf.params(model)]
    (g,) = sf.gradient(lambda m: sf.mse(m(x), y), model)
    g[1].b = None  # no gradient for this one: left as it is
    gW = np.array(g[0].W)
    sf.update(sf.Descent(0.1), model, g)
    after = list(sf.params(model))
    np.testing.assert_allclose(after[0], before[0] - 0.1 * gW, rtol=1e-6)
    np.testing.assert_array_equal(after[3], before[3])


def test_hessian_with_matrix_symbols_prints_a_plus_a_transpose():
    A, x = sf.symbols("A", shape=(3, 3)), sf.symbols("x", shape=(3,))
    assert x.shape == (3, 1)  # a column to SymPy, a vector to symflux
    assert str(sf.gradient(lambda v: v @ A @ v, x)[0]) == "A*x + A.T*x"
    assert str(sf.hessian(lambda v: v @ A @ v, x)) == "A + A.T"


def test_aux_values_come_back_as_values_from_every_transform():
    x = np.array([0.5, -1.0, 2.0])
    f = lambda a: (sf.sin(a), {"s": sf.sum(a), "k": 3})
    _, _, aux = sf.vjp(f, x, has_aux=True)
    for jac, aux2 in (sf.jacrev(f, has_aux=True)(x), sf.jacfwd(f, has_aux=True)(x)):
        np.testing.assert_allclose(jac, np.diag(np.cos(x)))
        assert aux2 == {"s": x.sum(), "k": 3} and isinstance(aux2["s"], float)
    assert aux == {"s": x.sum(), "k": 3} and isinstance(aux["s"], float)
    per_row = sf.vmap(lambda r: sf.vjp(f, r, has_aux=True)[2]["s"])(np.stack([x, 2 * x]))
    np.testing.assert_allclose(per_row, [x.sum(), 2 * x.sum()])


CONFIGURED = [  # layers whose strides, pads, window and group sizes are tuples or ints of the model
    lambda: sf.Conv((3, 3), (2, 3), sf.relu, stride=2, pad=1),
    lambda: sf.Chain(sf.Conv((1, 1), (2, 2)), sf.MaxPool((2, 2))),
    lambda: sf.Chain(sf.ConvTranspose((3, 3), (2, 2), stride=2), sf.MeanPool((3, 3), pad=1, stride=2)),
    lambda: sf.Chain(sf.DepthwiseConv((3, 3), (2, 4)), sf.GroupNorm(4, 2), sf.AdaptiveMaxPool((2, 1))),
]


@pytest.mark.parametrize("make", CONFIGURED)
def test_model_shaped_gradients_compile_and_vmap_of_configured_layers(make):
    """A model's tuple settings are static like its numbers: traced, stride (2, 2) was two traced
    ints and int() of one failed, in gradient(loss, model), compile(f)(model, x) and vmap."""
    model = make()
    x = rng.standard_normal((2, 2, 6, 6)).astype(np.float32)
    loss = lambda m, xx: sf.sum(sf.tanh(m(xx)))
    (g,) = sf.gradient(lambda m: loss(m, x), model)
    gs = sf.gradient(lambda: loss(model, x), sf.params(model))
    for p, gp in zip(sf.params(model), sf.params(g)):
        np.testing.assert_allclose(gp, gs[p], rtol=1e-5, atol=1e-6)
    compiled = sf.compile(lambda m, xx: sf.gradient(lambda q: loss(q, xx), m)[0])(model, x)
    for a, b in zip(sf.params(g), sf.params(compiled)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sf.compile(loss)(model, x), loss(model, x), rtol=1e-5)
    np.testing.assert_allclose(sf.vmap(lambda m, xx: m(xx[None])[0], in_axes=(None, 0))(model, x), model(x), rtol=1e-5,
                               atol=1e-6)


def test_keyword_arguments_as_in_jax():
    """jit traces them (a new value of the same shape reuses the code), grad and the Jacobians pass
    them through undifferentiated, vmap maps them over their first axis."""
    f = sf.jit(lambda a, b=2.0: a * b)
    assert f(np.ones(2)).tolist() == [2, 2] and f(np.ones(2), b=3.0).tolist() == [3, 3]
    assert f(np.ones(2), b=4.0).tolist() == [4, 4] and len(f._signatures) == 2
    assert f(np.ones(2), b=np.arange(2.0)).tolist() == [0, 1]
    assert sf.grad(lambda a, *, s: sf.sum(a * s))(np.ones(2), s=3.0).tolist() == [3, 3]
    assert sf.value_and_grad(lambda a, s=1.0: sf.sum(a * s))(np.ones(2), s=2.0)[0] == 4.0
    np.testing.assert_array_equal(sf.jacrev(lambda a, s=1.0: a * s)(np.ones(2), s=2.0), 2 * np.eye(2))
    np.testing.assert_array_equal(sf.hessian(lambda a, s=1.0: sf.sum(a**3 * s))(np.ones(2), s=2.0), 12 * np.eye(2))
    np.testing.assert_array_equal(sf.vmap(lambda a, b=2.0: a * b)(np.ones((2, 2)), b=np.array([3.0, 4.0])),
                                  [[3, 3], [4, 4]])
    assert sf.grad(lambda a: f(a, b=3.0)[0])(np.ones(2)).tolist() == [3, 0]


def test_static_argnames_as_in_jax():
    f = sf.jit(lambda a, n: a * n if n > 1 else a, static_argnames="n")
    assert f(np.ones(2), 3).tolist() == [3, 3] and f(np.ones(2), n=1).tolist() == [1, 1]
    g = sf.jit(lambda a, *, mode="x", s=1.0: a * s if mode == "x" else -a, static_argnames=("mode",))
    assert g(np.ones(2), mode="y").tolist() == [-1, -1] and g(np.ones(2), mode="x", s=2.0).tolist() == [2, 2]
    assert pickle.loads(pickle.dumps(sf.jit(np.sin, static_argnames="q"))).static_names == ("q",)


def test_dataclass_models_are_functors():
    """params, fmap (f32) and update walk a dataclass's fields as Flux's @functor walks a struct's:
    params of one was empty, so training it with implicit parameters trained nothing."""
    @dataclasses.dataclass(frozen=True)
    class Linear:
        W: np.ndarray
        b: np.ndarray
        scale: float = 2.0

        def __call__(self, x):
            return (x @ self.W + self.b) * self.scale

    model = Linear(sf.array(np.ones((3, 2))), sf.array(np.zeros(2)))
    assert [p.shape for p in sf.params(model)] == [(3, 2), (2,)]
    assert sf.f32(model).W.dtype == np.float32 and sf.f32(model).scale == 2.0
    x = np.ones((4, 3))
    gs = sf.gradient(lambda: sf.sum(model(x)), sf.params(model))
    np.testing.assert_array_equal(gs[model.b], [8.0, 8.0])
    (g,) = sf.gradient(lambda m: sf.sum(m(x)), model)
    assert type(g) is Linear and g.b.tolist() == [8.0, 8.0]
    assert g.scale == 24.0  # a float field is differentiated (as JAX's registered dataclasses): it kept 2.0


def test_a_dataclass_float_field_gets_its_gradient_and_a_count_stays_static():
    """A float field's gradient was its own value (it was static, copied into the gradient's
    structure); an int field is configuration, static under compile as before."""
    @dataclasses.dataclass
    class Params:
        w: np.ndarray
        b: float
        n: int = 1

    p = Params(np.array([1.0, 5.0]), 3.0)
    g = sf.grad(lambda q: sf.sum(q.w * q.b) * 2)(p)
    assert g.w.tolist() == [6.0, 6.0] and g.b == 12.0 and g.n == 1
    assert sf.compile(lambda q: sf.sum(q.w[:q.n]) * q.b)(p) == 3.0


def test_linearize_axis_size_and_holomorphic_as_in_jax():
    x = np.array([0.5, 1.0])
    out, f_jvp = sf.linearize(lambda a: sf.sin(a) * a, x)
    np.testing.assert_allclose(out, np.sin(x) * x)
    np.testing.assert_allclose(f_jvp(np.array([1.0, 0.0])), [np.cos(0.5) * 0.5 + np.sin(0.5), 0.0])
    np.testing.assert_array_equal(sf.vmap(lambda: 1.0, axis_size=3)(), [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="different sizes"):
        sf.vmap(lambda a: a, axis_size=3)(np.ones(2))
    assert sf.grad(lambda z: z**2, holomorphic=True)(1 + 1j) == 2 + 2j
    np.testing.assert_array_equal(sf.jacrev(lambda z: z**2, holomorphic=True)(np.array([1 + 1j, 2j])),
                                  np.diag([2 + 2j, 4j]))
