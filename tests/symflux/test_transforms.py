"""jacobian, hessian, hvp, value_and_gradient, JAX-style grad, Params and Grads."""

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
