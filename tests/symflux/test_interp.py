"""The reference interpreter: exact (SymPy) and numeric (NumPy) modes agree on random graphs."""

import numpy as np
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import symflux as sf
from symflux import contract, functions, interp, ops
from symflux.ir import ARG, new_input
from symflux.numpy import sorting

UNARY = [lambda a: a**2, lambda a: 3 * a - 1, sf.functions.sigmoid, lambda a: sympy.Rational(1, 2) * a,
         sf.functions.relu, lambda a: sympy.exp(a / 4), lambda a: a / (1 + a**2)]
BINARY = [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - 2 * b, sf.functions.maximum]


@st.composite
def programs(draw):
    """A random graph over one (2, 3) input: elementwise maps, reductions, movement, contraction."""
    x = new_input((2, 3), np.float64, "x")
    nodes = [x]
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["unary", "binary", "sum", "permute", "slice", "einsum", "max", "reshape",
                                     "concat", "take", "window", "sort", "mask"]))
        a = draw(st.sampled_from(nodes))
        if kind == "unary":
            nodes.append(ops.map_(draw(st.sampled_from(UNARY))(ARG[0]), [a]))
        elif kind == "binary":
            b = draw(st.sampled_from([n for n in nodes if n.shape == a.shape or n.shape == ()] or [a]))
            nodes.append(ops.map_(draw(st.sampled_from(BINARY))(ARG[0], ARG[1]), [a, b]))
        elif kind == "sum" and a.ndim:
            nodes.append(ops.reduce("sum", a, draw(st.integers(0, a.ndim - 1))))
        elif kind == "permute" and a.ndim == 2:
            nodes.append(ops.permute(a, (1, 0)))
        elif kind == "slice" and a.ndim:
            nodes.append(ops.slice_(a, [(0, 1, 1)] + [(0, d, 1) for d in a.shape[1:]]))
        elif kind == "einsum" and a.ndim == 2:
            nodes.append(contract.einsum("ij,kj->ik", a, a))
        elif kind == "max" and a.ndim:
            nodes.append(ops.reduce("max", a, draw(st.integers(0, a.ndim - 1))))
        elif kind == "reshape" and a.ndim:
            nodes.append(ops.reshape(a, (int(np.prod(a.shape)),) if a.ndim > 1 else (1, a.shape[0])))
        elif kind == "concat" and a.ndim:
            reversed_rows = ops.slice_(a, [(a.shape[0] - 1, -1, -1)] + [(0, d, 1) for d in a.shape[1:]])
            nodes.append(ops.concat([a, reversed_rows], 0))
        elif kind == "take" and a.ndim:
            nodes.append(ops.take(a, ops.const(np.array([0, a.shape[-1] - 1, 0])), a.ndim - 1))
        elif kind == "window" and a.ndim == 2:
            image = ops.reshape(a, (1, 1) + a.shape)
            cols = ops.unfold(image, (1, 2), (1, 1), (1, 1), ((0, 0), (1, 0)))
            nodes.append(ops.reshape(ops.reduce("sum", cols, (4, 5)), a.shape[:1] + (cols.shape[3],)))
        elif kind == "sort" and a.ndim:
            nodes.append(sorting._sorted(a))
        elif kind == "mask":  # a bool constant read as a condition
            mask = ops.const(np.arange(int(np.prod(a.shape))).reshape(a.shape) % 2 == 0)
            nodes.append(ops.map_(sympy.Piecewise((ARG[0], functions.truth(ARG[1])), (-ARG[0], True)), [a, mask]))
    return x, nodes[-1]


@settings(max_examples=40, deadline=None)
@given(programs(), st.lists(st.integers(-3, 3), min_size=6, max_size=6))
def test_exact_and_numeric_modes_agree(program, values):
    x, out = program
    value = np.array(values, dtype=np.float64).reshape(2, 3) / 2
    (numeric,) = interp.evaluate([out], {x: value})
    exact_in = np.array([sympy.Rational(v, 2) for v in values], dtype=object).reshape(2, 3)
    (exact,) = interp.evaluate([out], {x: exact_in}, exact=True)
    as_float = np.array([float(sympy.N(v, 30)) for v in np.ravel(exact)]).reshape(np.shape(exact))
    np.testing.assert_allclose(numeric, as_float, rtol=1e-12, atol=1e-12)


def test_exact_mode_reads_truth_values_as_numbers():
    """A bool constant became SymPy's false, and Ne(false, 0) holds: exact sorts ranked every
    element past itself (sort of [3, 1] was [0, 1]; integer gradients through it were wrong)."""
    three_one = np.array([sympy.Integer(3), sympy.Integer(1)], dtype=object)
    assert list(sf.vmap(sf.sort)(three_one[None])[0]) == [1, 3]
    assert list(sf.grad(lambda v: sf.sum(sf.sort(v) * np.array([1, 2])))(np.array([3, 1]))) == [2, 1]
    assert list(sf.vmap(lambda v: sf.argsort(v))(three_one[None])[0]) == [1, 0]


def test_exact_values_converted_to_integers_truncate():
    """astype(int64) of exact rationals kept 3/2 (NumPy: 1) and its derivative was 1 (it is 0)."""
    v = np.array([sympy.Rational(3, 2), sympy.Rational(-7, 2), sympy.Integer(2)], dtype=object)
    assert list(sf.vmap(lambda a: a.astype(np.int64))(v[None])[0]) == [1, -3, 2]
    assert list(sf.gradient(lambda a: sf.sum(a.astype(np.int64) * a), v)[0]) == [1, -3, 2]


def test_exact_zeros_have_no_sign_bit():
    """signbit tested 1/x < 0, and 1/0 is SymPy's zoo, which has no order: copysign and modf raised."""
    v = np.array([sympy.Rational(-5, 2), sympy.Integer(0), sympy.Rational(7, 3)], dtype=object)
    assert list(sf.signbit(v)) == [True, False, False]
    assert list(sf.copysign(2, v)) == [-2, 2, 2]
    assert list(sf.modf(v)[0]) == [sympy.Rational(-1, 2), 0, sympy.Rational(1, 3)]


def test_exact_mode_keeps_rationals():
    x = new_input((2,), np.int64, "x")
    out = ops.map_(ARG[0] / 3 + sympy.Rational(1, 2), [x])
    (value,) = interp.evaluate([out], {x: [1, 2]}, exact=True)
    assert list(value) == [sympy.Rational(5, 6), sympy.Rational(7, 6)]


def test_numeric_mode_keeps_dtype():
    x = new_input((3,), np.float32, "x")
    out = ops.reduce("sum", ops.map_(sf.functions.sigmoid(ARG[0]) * 0.5, [x]))
    (value,) = interp.evaluate([out], {x: np.array([0, 1, 2], dtype=np.float32)})
    assert value.dtype == np.float32


def test_every_op_has_an_interpreter_rule():
    from symflux.vjp import RULES
    assert set(RULES) <= set(interp.EVAL)


@settings(max_examples=25, deadline=None)
@given(programs(), st.integers(0, 2**32 - 1))
def test_random_programs_differentiate_correctly(program, seed):
    """Gradients and Hessian-vector products of random compositions against finite differences,
    and the compiled gradient against the interpreted one."""
    from symflux.graph import Graph
    from symflux.simplify import substitute

    x, out = program
    rng = np.random.default_rng(seed)
    value, direction = rng.uniform(-1, 1, (2, 3)), rng.standard_normal((2, 3))
    weights = rng.uniform(0.5, 1.5, out.shape)

    def f(v):  # the random program applied to v, reduced to a scalar
        (node,) = substitute([out], {x: sf.trace.operand_node(v)})
        result = sf.Tracer(node) if isinstance(v, sf.Tracer) else interp.evaluate([node], {})[0]
        return sf.sum(sf.sin(result) * weights)

    eps = 1e-6
    g = np.asarray(sf.gradient(f, value)[0])
    fd = np.zeros_like(value)
    for i in np.ndindex(value.shape):
        step = np.zeros_like(value)
        step[i] = eps
        fd[i] = (f(value + step) - f(value - step)) / (2 * eps)
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-6)
    hv = np.asarray(sf.hvp(f, value, direction))
    grad = lambda v: np.asarray(sf.gradient(f, v)[0])
    fd_hv = (grad(value + eps * direction) - grad(value - eps * direction)) / (2 * eps)
    np.testing.assert_allclose(hv, fd_hv, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(sf.compile(lambda v: sf.gradient(f, v)[0])(value), g, rtol=1e-12, atol=1e-12)
    assert isinstance(Graph([x], [out]), Graph)

