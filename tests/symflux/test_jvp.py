"""Every JVP rule against finite differences and against its VJP: ⟨J v, u⟩ = ⟨v, Jᵀ u⟩."""

import numpy as np
import pytest
import sympy
from optable import OPS, REDUCTIONS, STRUCTURAL, structural_input

import symflux as sf

rng = np.random.default_rng(3)
DIFFERENTIABLE = [op for op in OPS if np.float64 in op.dtypes and op.name not in {
    "greater", "greater_equal", "less", "less_equal", "equal", "not_equal", "logical_and", "logical_or",
    "logical_not", "isnan", "isinf", "isfinite"}]  # (the bitwise operations take integers only)


def _sample(name, arity, shape=(3, 4)):
    """Values away from every kink and edge of the domain (remainder: a < b, so no jumps)."""
    if name == "arccosh":
        return (rng.uniform(1.2, 3.0, shape),)
    if arity == 2:
        return rng.uniform(0.2, 0.45, shape), rng.uniform(0.55, 0.9, shape[-1:])
    return (rng.uniform(0.2, 0.9, shape) * rng.choice([-1, 1], shape),) if name not in {
        "sqrt", "log", "log2", "log10", "log1p", "arcsin", "arccos", "arctanh", "cbrt", "reciprocal",
        "floor", "ceil", "special.logit", "special.entr"} else (rng.uniform(0.2, 0.9, shape),)


def check_jvp(f, xs, rtol=1e-6, atol=1e-9):
    vs = tuple(rng.standard_normal(np.shape(x)) for x in xs)
    out, tangent = sf.jvp(f, xs, vs)
    np.testing.assert_allclose(out, np.asarray(f(*xs)), rtol=1e-12, atol=1e-12)
    h = 1e-6
    plus = np.asarray(f(*[x + h * v for x, v in zip(xs, vs)]), np.float64)
    minus = np.asarray(f(*[x - h * v for x, v in zip(xs, vs)]), np.float64)
    np.testing.assert_allclose(tangent, (plus - minus) / (2 * h), rtol=rtol, atol=atol, err_msg="jvp vs FD")
    u = rng.standard_normal(np.shape(out))
    _, vjp_fn = sf.vjp(f, *xs)
    cotangents = vjp_fn(u)
    lhs = float(np.sum(np.asarray(tangent) * u))
    rhs = sum(float(np.sum(np.asarray(c) * v)) for c, v in zip(cotangents, vs))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10, atol=1e-12, err_msg="⟨Jv, u⟩ vs ⟨v, Jᵀu⟩")


@pytest.mark.parametrize("op", DIFFERENTIABLE, ids=[op.name for op in DIFFERENTIABLE])
def test_elementwise(op):
    check_jvp(op.op, _sample(op.name, op.arity))


def _numpy_takes(op, axis) -> bool:
    """Whether NumPy's function takes ``axis`` (running sums and arg-reductions take one axis)."""
    try:
        op.reference(np.ones((3, 4)), axis=axis)
        return True
    except (TypeError, ValueError):
        return False


@pytest.mark.parametrize("op,axis", [pytest.param(op, axis, id=f"{op.name}-{axis}") for op in REDUCTIONS
                                     for axis in (None, 1, (0, 1)) if _numpy_takes(op, axis)])
def test_reductions(op, axis):
    check_jvp(lambda x: op.op(x, axis=axis), (rng.uniform(0.5, 2.0, (3, 4)),))


@pytest.mark.parametrize("s", STRUCTURAL, ids=[s.name for s in STRUCTURAL])
def test_structural(s):
    x = structural_input(np.float64) + rng.uniform(0.1, 0.3, (2, 4))
    check_jvp(lambda v: s.f(sf, v), (x,))


CONV_FAMILY = {
    "conv": lambda x, w: sf.conv(x, w, stride=1, pad=1),
    "conv strided dilated": lambda x, w: sf.conv(x, w, stride=2, pad=(1, 0), dilation=(1, 2)),
    "conv_transpose": lambda x, w: sf.conv_transpose(x, sf.transpose(w, (0, 1, 3, 2)), stride=2, pad=1),
    "maxpool": lambda x, w: sf.maxpool(x, (2, 2)) * sf.sum(w),
    "meanpool": lambda x, w: sf.meanpool(x, (2, 3), pad=1) * sf.sum(w),
}


@pytest.mark.parametrize("name", sorted(CONV_FAMILY))
def test_conv_family(name):
    x, w = rng.standard_normal((2, 3, 5, 6)), rng.standard_normal((4, 3, 2, 2)) if name != "conv_transpose" \
        else rng.standard_normal((3, 4, 2, 2))
    check_jvp(CONV_FAMILY[name], (x, w), rtol=1e-5)


def test_take_scatter_and_concat():
    idx = np.array([2, 0, 2])
    check_jvp(lambda x, y: sf.concatenate([x[idx], y * 2], axis=0), (rng.standard_normal((3, 2)),
                                                                       rng.standard_normal((1, 2))))
    check_jvp(lambda x: sf.gradient(lambda v: sf.sum(v[idx] ** 2), x)[0], (rng.standard_normal(3),))


def test_detach_has_no_tangent():
    out, t = sf.jvp(lambda x: sf.stop_gradient(x) * 2 + x, (np.array([1.0, 2.0]),), (np.array([1.0, 1.0]),))
    np.testing.assert_array_equal(t, [1.0, 1.0])


def test_pytrees_and_constant_outputs():
    primals = ({"a": np.array([1.0, 2.0]), "b": (3.0, None)},)
    tangents = ({"a": np.array([1.0, 0.0]), "b": (1.0, None)},)
    out, t = sf.jvp(lambda p: {"y": p["a"] * p["b"][0], "c": 5.0}, primals, tangents)
    np.testing.assert_allclose(out["y"], [3.0, 6.0])
    np.testing.assert_allclose(t["y"], [1 * 3 + 1 * 1, 0 * 3 + 2 * 1])
    assert out["c"] == 5.0 and t["c"] == 0.0


def test_exact_and_symbolic():
    x = sf.symbols("x")
    out, t = sf.jvp(lambda v: sf.sin(v) * v, (x,), (1,))
    assert sympy.simplify(t - (sympy.cos(x) * x + sympy.sin(x))) == 0
    out, t = sf.jvp(lambda v: v**3, (2,), (1,))
    assert (out, t) == (8, 12)


def test_shape_mismatch_names_the_argument():
    with pytest.raises(ValueError, match=r"tangent of v has shape \(3,\).*\(2,\)"):
        sf.jvp(lambda v: v * 2, (np.ones(2),), (np.ones(3),))
