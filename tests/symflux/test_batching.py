"""vmap: every op's batching rule against a Python loop; in_axes/out_axes, pytrees, compositions."""

import numpy as np
import pytest
from optable import OPS, REDUCTIONS, STRUCTURAL, structural_input

import symflux as sf
from symflux import batching, ir, ops

rng = np.random.default_rng(5)


def loop(f, xs, in_axes=0):
    """The reference: f applied to each slice, stacked along axis 0."""
    axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(xs)
    size = next(np.shape(x)[a] for x, a in zip(xs, axes) if a is not None)
    rows = [np.asarray(f(*[np.take(x, k, a) if a is not None else x for x, a in zip(xs, axes)]))
            for k in range(size)]
    return np.stack(rows)


def check_vmap(f, xs, in_axes=0, rtol=1e-12):
    got = sf.vmap(f, in_axes=in_axes)(*xs)
    want = loop(f, xs, in_axes)
    assert np.asarray(got).dtype == want.dtype, (np.asarray(got).dtype, want.dtype)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-14)


def _values(dtype, shape):
    values = rng.uniform(0.2, 0.9, shape) * rng.choice([-1, 1], shape) if dtype.kind == "f" else \
        rng.integers(1, 5, shape)
    return values.astype(dtype)


@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
def test_elementwise(op):
    dtype = np.dtype(op.dtypes[0])
    if op.arity == 1:
        x = np.abs(_values(dtype, (4, 3))) + (1 if op.name == "arccosh" else 0)
        check_vmap(op.op, (x,))
    else:
        a, b = np.abs(_values(dtype, (4, 3))), np.abs(_values(dtype, (3,))) + 1
        check_vmap(op.op, (a, b), in_axes=(0, None))
        check_vmap(op.op, (a, np.abs(_values(dtype, (4, 1)))), in_axes=(0, 0))
        check_vmap(op.op, (np.abs(_values(dtype, (4,))) + 1, a), in_axes=(None, 1))


@pytest.mark.parametrize("op", REDUCTIONS, ids=[op.name for op in REDUCTIONS])
@pytest.mark.parametrize("axis", [None, 0, -1])
def test_reductions(op, axis):
    check_vmap(lambda x: op.op(x, axis=axis), (rng.uniform(0.5, 2.0, (3, 4, 2)),))


@pytest.mark.parametrize("s", STRUCTURAL, ids=[s.name for s in STRUCTURAL])
def test_structural(s):
    x = np.stack([structural_input(np.float64) + rng.uniform(0.1, 0.3, (2, 4)) for _ in range(3)])
    check_vmap(lambda v: s.f(sf, v), (x,))


def test_contractions_with_shared_and_batched_operands():
    A, xs = rng.standard_normal((3, 4)), rng.standard_normal((5, 4))
    check_vmap(lambda x: A @ x, (xs,))
    check_vmap(lambda a, x: a @ x, (rng.standard_normal((5, 3, 4)), xs))
    check_vmap(lambda x, y: sf.einsum("i,j->ij", x, y), (xs, xs[:, :2]))


@pytest.mark.parametrize("name", ["conv", "maxpool", "meanpool", "conv_transpose"])
def test_conv_family(name):
    xs, w = rng.standard_normal((3, 2, 2, 5, 5)), rng.standard_normal((2, 2, 3, 3))
    f = {"conv": lambda x: sf.conv(x, w, pad=1, stride=2), "maxpool": lambda x: sf.maxpool(x, (2, 2)),
         "meanpool": lambda x: sf.meanpool(x, (3, 2), pad=1), "conv_transpose": lambda x: sf.conv_transpose(x, w)}[name]
    check_vmap(f, (xs,))


def test_index_arrays_and_slices():
    xs = rng.standard_normal((4, 5, 3))
    check_vmap(lambda x: x[[0, 2, 2], 1:], (xs,))
    check_vmap(lambda x: sf.concatenate([x, x[::-1] * 2], axis=1), (xs,))
    check_vmap(lambda x: sf.where(x > 0, x, 0.0), (xs,))


def test_axes_in_and_out_and_nesting():
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(sf.vmap(lambda v: v * 2, in_axes=1, out_axes=1)(x), x * 2)
    np.testing.assert_allclose(sf.vmap(lambda v: v * 2, in_axes=1)(x), (x * 2).T)
    np.testing.assert_allclose(sf.vmap(sf.vmap(lambda a: a**2))(x), x**2)
    outer = sf.vmap(sf.vmap(lambda a, b: a * b, in_axes=(None, 0)), in_axes=(0, None))
    np.testing.assert_allclose(outer(x[:, 0], x[0]), np.outer(x[:, 0], x[0]))


def test_pytrees_in_and_out():
    batch = {"w": rng.standard_normal((5, 3)), "b": rng.standard_normal(5)}
    f = lambda p, s: (p["w"] * s + p["b"], {"n": sf.sum(p["w"])})
    out = sf.vmap(f, in_axes=({"w": 0, "b": 0}, None))(batch, 2.0)
    np.testing.assert_allclose(out[0], batch["w"] * 2 + batch["b"][:, None])
    np.testing.assert_allclose(out[1]["n"], batch["w"].sum(1))


def test_unmapped_output_and_errors():
    np.testing.assert_allclose(sf.vmap(lambda v: 3.0)(np.ones(4)), np.full(4, 3.0))
    with pytest.raises(ValueError, match="different sizes"):
        sf.vmap(lambda a, b: a + b)(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="no argument is mapped"):
        sf.vmap(lambda a: a, in_axes=None)(np.ones(3))


def test_per_example_gradients_are_one_graph():
    W, X, Y = rng.standard_normal((2, 3)), rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    loss = lambda w, x, y: sf.sum((sf.tanh(w @ x) - y) ** 2)
    per_example = sf.vmap(sf.grad(loss), in_axes=(None, 0, 0))(W, X, Y)
    assert per_example.shape == (6, 2, 3)
    np.testing.assert_allclose(per_example, loop(sf.grad(loss), (W, X, Y), (None, 0, 0)), rtol=1e-12)
    sizes = [len(sf.make_graph(lambda x, y: sf.vmap(sf.grad(loss), in_axes=(None, 0, 0))(W, x, y),
                               rng.standard_normal((n, 3)), rng.standard_normal((n, 2)))) for n in (2, 64)]
    assert sizes[0] == sizes[1]


def test_grad_of_vmap_and_compiled_vmap():
    x = rng.standard_normal((4, 3))
    f = lambda v: sf.sum(sf.vmap(lambda r: sf.sum(sf.sin(r)) ** 2)(v))
    (g,) = sf.gradient(f, x)
    np.testing.assert_allclose(g, 2 * np.sin(x).sum(1, keepdims=True) * np.cos(x), rtol=1e-12)
    fast = sf.compile(sf.vmap(lambda r: sf.softmax(r)))
    np.testing.assert_allclose(fast(x), np.exp(x) / np.exp(x).sum(1, keepdims=True), rtol=1e-12)


def test_batched_graph_has_as_many_nodes_as_the_original():
    x = ir.new_input((3,), np.float64)
    y = ops.reduce("sum", ops.map_(ir.ARG[0] ** 2, [x]))
    for size in (2, 100):
        (out,) = batching.batch([y], {x: ir.new_input((size, 3), np.float64)}, size)
        assert len(ir.toposort([out])) == len(ir.toposort([y]))


def test_in_axes_and_out_axes_are_prefixes_of_the_pytrees():
    a, b = rng.standard_normal((4, 3)), rng.standard_normal(3)
    out, same_b = sf.vmap(lambda x, y: (x * y, y), in_axes=(0, None), out_axes=(0, None))(a, b)
    np.testing.assert_allclose(out, a * b)
    np.testing.assert_allclose(same_b, b)
    np.testing.assert_allclose(sf.vmap(lambda d: d["x"] * d["y"], in_axes=({"x": 0, "y": None},))({"x": a, "y": b}),
                               a * b)
    nested = sf.vmap(lambda t: t[0] + t[1][0], in_axes=((0, (1,)),))((a, (a.T,)))
    np.testing.assert_allclose(nested, 2 * a)
    d = sf.vmap(lambda x: {"x": x, "s": sf.sum(x)}, out_axes={"x": 1, "s": 0})(a)
    np.testing.assert_allclose(d["x"], a.T)
    np.testing.assert_allclose(d["s"], a.sum(1))
    np.testing.assert_allclose(sf.vmap(lambda x, y: x + y, in_axes=[0, 1])(a, a.T), 2 * a)
    with pytest.raises(ValueError, match="out_axes has 3 entries for 2 values"):
        sf.vmap(lambda x: (x, x), out_axes=(0, 0, 0))(a)
    with pytest.raises(ValueError, match="keys"):
        sf.vmap(lambda d: d["x"], in_axes=({"z": 0},))({"x": a})
