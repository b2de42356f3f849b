"""A random-program fuzzer: hypothesis builds expression trees over two inputs from the op table's
functions, with inputs that sit on kinks and special values (0, ±0, equal operands, ±inf, NaN),
and every program must give the same values — NaN positions included — and the same gradients
on the interpreter, compiled code and (for a share of them) exported C. Programs over mixed types
are checked against NumPy itself, and tensor programs' gradients and Hessian products against
PyTorch.

CI runs a fixed, derandomised set; ``SYMFLUX_FUZZ_EXAMPLES=5000 python -m pytest -m fuzz
tests/symflux/test_fuzz.py`` runs a longer, random search."""

import os
import warnings

import numpy as np
import pytest
from gradcheck import torch as T
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from optable import assert_numpy_equal, compiled, exported, interpreted

import symflux as sf

LONG = int(os.environ.get("SYMFLUX_FUZZ_EXAMPLES", "0"))
EXAMPLES = LONG or 60
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=not LONG, database=None,
                    suppress_health_check=list(HealthCheck))

UNARY = ["negative", "square", "abs", "sign", "relu", "sqrt", "exp", "log", "sin", "tanh", "sigmoid",
         "softplus", "floor", "cbrt", "log1p", "expm1", "arctan", "relu6", "elu", "hardtanh", "reciprocal"]
BINARY = ["add", "subtract", "multiply", "divide", "maximum", "minimum", "power", "arctan2", "remainder"]
REDUCE = ["sum", "max", "min", "mean"]
# exact in binary floating point, so both paths round alike before the kinks and domain edges
VALUES = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, -1.5, 0.25, 4.0, np.inf, -np.inf, np.nan]
PLUS_ZERO = [v for v in VALUES if not (v == 0 and np.signbit(v))]


def trees(leaves, branches, depth):
    """Expression trees up to ``depth``: a leaf, or one of ``branches(subtrees)``."""
    leaf = st.sampled_from(leaves)
    return leaf if depth == 0 else st.one_of(leaf, *branches(trees(leaves, branches, depth - 1)))


def programs(depth):
    return trees([("x",), ("y",), ("const", 2.0), ("const", -0.5)], lambda inner: [
        st.tuples(st.just("unary"), st.sampled_from(UNARY), inner),
        st.tuples(st.just("binary"), st.sampled_from(BINARY), inner, inner),
        st.tuples(st.just("where"), inner, inner, inner),
        st.tuples(st.just("reduce"), st.sampled_from(REDUCE), inner),
    ], depth)


def build(program, x, y):
    kind = program[0]
    if kind in ("x", "y"):
        return x if kind == "x" else y
    if kind == "const":
        return program[1]
    if kind == "unary":
        return getattr(sf, program[1])(build(program[2], x, y))
    if kind == "binary":
        return getattr(sf, program[1])(build(program[2], x, y), build(program[3], x, y))
    if kind == "where":
        # a NaN condition is kept out: SymPy rewrites not(c > 0) as c <= 0, which NaN makes false too
        # (docs/numerics.md), and the paths canonicalise conditions differently
        condition = build(program[1], x, y)
        condition = sf.greater(sf.where(sf.isnan(condition), 0.0, condition), 0)
        return sf.where(condition, build(program[2], x, y), build(program[3], x, y))
    operand = sf.add(build(program[2], x, y), sf.multiply(0.0, x))  # an array even for a constant
    return getattr(sf, program[1])(operand, axis=-1, keepdims=True)


def inputs(dtype, columns=3, values=VALUES):
    return st.tuples(*[st.lists(st.sampled_from(values), min_size=2 * columns, max_size=2 * columns).map(
        lambda v: np.array(v, dtype=dtype).reshape(2, columns)) for _ in range(2)])


def _function(program):
    return lambda x, y: sf.add(build(program, x, y), sf.multiply(0.0, x))  # always an array of x's shape


@SETTINGS
@given(program=programs(3), args=inputs(np.float64), export=st.integers(0, 9))
def test_random_programs_agree_on_every_path(program, args, export):
    f = _function(program)
    with np.errstate(all="ignore"):
        want = interpreted(f, *args)
        assert_numpy_equal(compiled(f, *args), want, 1e-12, f"compiled {program}")
        if export == 0:  # a tenth of the programs also go through the C compiler
            assert_numpy_equal(exported(f, *args), want, 1e-12, f"exported {program}")


@SETTINGS
@given(program=programs(3), args=st.one_of(inputs(np.float64, 19, PLUS_ZERO), inputs(np.float32, 37, PLUS_ZERO)))
@example(program=("binary", "add", ("unary", "softplus", ("const", -0.5)), ("binary", "arctan2", ("x",), ("y",))),
         args=tuple(np.where(np.arange(74).reshape(2, 37) == 10, v, 0).astype(np.float32) for v in (-1.0, 2.0)))
def test_random_programs_agree_in_vector_loops(program, args):
    """Rows longer than a vector: the compiled loops are written in vectors, the last overlapping.
    No −0 beside +0: which one maximum/minimum keep differs from NumPy's, as documented
    (docs/numerics.md), and the long search found that tie in 38-element programs."""
    f = _function(program)
    with np.errstate(all="ignore"):  # float32 data in a float64 result: float32's tolerance (a 1-ulp
        # arctan2 in float32, where NumPy's is off by one, added to a float64 constant it nearly cancels)
        tolerance = 1e-12 if args[0].dtype == np.float64 else 4e-6
        assert_numpy_equal(compiled(f, *args), interpreted(f, *args), tolerance, f"vector loops {program}")


@SETTINGS
@given(program=programs(3), args=inputs(np.float64))
def test_random_programs_have_the_same_gradients_on_every_path(program, args):
    loss = _function(program)

    def grads(x, y):
        return sf.gradient(lambda a, b: sf.sum(loss(a, b)), x, y)

    with np.errstate(all="ignore"):
        want = grads(*args)
        got = sf.compile(grads)(*args)
    for g, w in zip(got, want):
        if w is None:
            assert g is None
        else:
            # 1 − tanh² and friends cancel: a last-bit difference in tanh is 1e-10 relative after it
            assert_numpy_equal(g, w, 1e-7, f"gradient of {program}")


@SETTINGS
@given(program=programs(2), args=inputs(np.float32))
def test_random_float32_programs_agree(program, args):
    f = _function(program)
    with np.errstate(all="ignore"):
        assert_numpy_equal(compiled(f, *args), interpreted(f, *args), 1e-6, f"float32 {program}", 1e-5)


# -- mixed types: NumPy itself is the reference ---------------------------------------------------

DTYPES = [np.int8, np.int32, np.int64, np.uint8, np.uint32, np.float32, np.float64, np.bool_]
MIXED_BINARY = ["add", "subtract", "multiply", "floor_divide", "remainder", "maximum", "minimum", "bitwise_and",
                "bitwise_xor", "true_divide", "less", "greater_equal", "equal", "not_equal"]
MIXED_UNARY = ["negative", "abs", "square", "invert", "logical_not", "sign"]


def mixed_programs(depth):
    return trees([("x",), ("y",), ("const", 2), ("const", -3), ("const", 0.5), ("const", True)], lambda inner: [
        st.tuples(st.just("astype"), st.sampled_from(DTYPES), inner),
        st.tuples(st.just("binary"), st.sampled_from(MIXED_BINARY), inner, inner),
        st.tuples(st.just("unary"), st.sampled_from(MIXED_UNARY), inner),
        st.tuples(st.just("where"), inner, inner, inner),
    ], depth)


def build_with(m, program, x, y):
    """``program`` with the functions of ``m`` (NumPy, or symflux on traced values)."""
    kind = program[0]
    if kind in ("x", "y"):
        return x if kind == "x" else y
    if kind == "const":
        return program[1]
    if kind == "astype":
        value = build_with(m, program[2], x, y)
        return np.asarray(value).astype(program[1]) if m is np else sf.astype(value, program[1])
    if kind == "binary":
        name = "divide" if program[1] == "true_divide" and m is sf else program[1]
        return getattr(m, name)(build_with(m, program[2], x, y), build_with(m, program[3], x, y))
    if kind == "unary":
        return getattr(m, program[1])(build_with(m, program[2], x, y))
    return m.where(*(build_with(m, p, x, y) for p in program[1:]))


MIXED_VALUES = np.array([0, 1, -1, 3, 100, -128, 7, 2])


@SETTINGS
@given(program=mixed_programs(3), dx=st.sampled_from(DTYPES), dy=st.sampled_from(DTYPES), export=st.integers(0, 3))
# found by the long search: exported C negated x + x in uint32 before widening it to int8 − uint32's int64
@example(program=("binary", "subtract", ("astype", np.int8, ("x",)), ("binary", "add", ("x",), ("x",))),
         dx=np.uint32, dy=np.int8, export=0)
@example(program=("binary", "less", ("x",), ("astype", np.uint8, ("x",))), dx=np.int8, dy=np.int8, export=0)
# the interpreter widened bool x to the result's uint32 before −3 & x, which NumPy 2 refuses
@example(program=("binary", "add", ("binary", "not_equal", ("where", ("x",), ("const", 2), ("x",)),
                                    ("binary", "bitwise_and", ("const", -3), ("x",))), ("y",)),
         dx=np.bool_, dy=np.uint32, export=1)
# compiled where(2, int8(y), y) + x in int8, the fused cast kept where the where widened it to int32
@example(program=("binary", "add", ("x",), ("where", ("const", 2), ("astype", np.int8, ("y",)), ("y",))),
         dx=np.int8, dy=np.int32, export=1)
# exported C compared int8 x with uint32(x) unsigned, the cast's load taken for the side's type
@example(program=("binary", "less", ("x",), ("astype", np.uint32, ("x",))), dx=np.int8, dy=np.int8, export=0)
# SymPy's Piecewise raised KeyError folding where(where(True % True, x, y), x, y)'s conditions
@example(program=("where", ("where", ("binary", "remainder", ("const", True), ("const", True)), ("x",), ("y",)),
                  ("x",), ("y",)), dx=np.int8, dy=np.int8, export=0)
def test_random_mixed_type_programs_give_numpys_values_and_types(program, dx, dy, export):
    """Programs over every integer, unsigned, bool and float type, checked against NumPy itself.
    Programs where NumPy meets a special value (a division by zero, a NaN converted to an integer,
    an out-of-range Python integer) are left out: SymPy's identities differ there by design
    (docs/numerics.md) and C leaves such conversions undefined."""
    x, y = MIXED_VALUES.astype(dx), (MIXED_VALUES[::-1] * 3 + 1).astype(dy)
    try:
        with np.errstate(all="raise"), warnings.catch_warnings():
            warnings.simplefilter("error")
            want = np.asarray(build_with(np, program, x, y))
    except (ArithmeticError, TypeError, ValueError, OverflowError, RuntimeWarning, DeprecationWarning):
        assume(False)
    assume(want.dtype.kind != "f" or np.all(np.isfinite(want)))
    assume(want.dtype not in (np.float16, object))
    f = lambda a, b: build_with(sf, program, a, b)
    paths = [compiled, interpreted] + ([exported] if export == 0 else [])
    for path in paths:
        with np.errstate(all="ignore"):
            assert_numpy_equal(path(f, x, y), want, 1e-6, f"{path.__name__} {program} {dx.__name__} {dy.__name__}",
                               1e-5)


# -- tensor programs: PyTorch's autograd is the reference -------------------------------------------

_GATHER = np.array([[3, 0, 1, 1], [2, 2, 0, 3], [1, 0, 0, 0]])
TENSOR_UNARY = {  # name: (symflux, PyTorch), each (3, 4) → (3, 4)
    "sin": (sf.sin, lambda t: t.sin()), "tanh": (sf.tanh, lambda t: t.tanh()),
    "sigmoid": (sf.sigmoid, lambda t: t.sigmoid()), "relu": (sf.relu, lambda t: t.relu()),
    "softplus": (sf.softplus, lambda t: T.nn.functional.softplus(t)), "elu": (sf.elu, lambda t: T.nn.functional.elu(t)),
    "abs": (sf.abs, lambda t: t.abs()), "cube": (lambda a: a**3 * 0.2, lambda t: t**3 * 0.2),
    "log|·|+1": (lambda a: sf.log(sf.abs(a) + 1), lambda t: (t.abs() + 1).log()),
    "softmax": (lambda a: sf.softmax(a, axis=1), lambda t: t.softmax(1)),
    "logsoftmax": (lambda a: sf.logsoftmax(a, axis=0), lambda t: t.log_softmax(0)),
    "max keepdims": (lambda a: sf.max(a, axis=1, keepdims=True) * a, lambda t: t.amax(1, keepdim=True) * t),
    "max all": (lambda a: sf.max(a) * a, lambda t: t.max() * t),
    "sum keepdims": (lambda a: sf.sum(a, axis=0, keepdims=True) * a, lambda t: t.sum(0, keepdim=True) * t),
    "prod keepdims": (lambda a: sf.prod(a * 0.8, axis=1, keepdims=True) + a, lambda t: (t * 0.8).prod(1, True) + t),
    "var keepdims": (lambda a: sf.var(a, axis=0, keepdims=True) + a,
                     lambda t: t.var(0, unbiased=False, keepdim=True) + t),
    "normalise": (lambda a: a / sf.sqrt(sf.sum(a * a, axis=1, keepdims=True)),
                  lambda t: t / (t * t).sum(1, keepdim=True).sqrt()),
    "cumsum": (lambda a: sf.cumsum(a, axis=1), lambda t: t.cumsum(1)),
    "sort": (lambda a: sf.sort(a, axis=1), lambda t: t.sort(1)[0]),
    "gram": (lambda a: (a @ a.T) @ a * 0.3, lambda t: (t @ t.T) @ t * 0.3),
    "gather": (lambda a: sf.take_along_axis(a, _GATHER, 1), lambda t: t.gather(1, T.tensor(_GATHER))),
    "index": (lambda a: a[[2, 0, 1]][:, [1, 1, 3, 0]], lambda t: t[[2, 0, 1]][:, [1, 1, 3, 0]]),
    "flip/roll": (lambda a: sf.roll(a[::-1], 1, axis=1), lambda t: t.flip(0).roll(1, 1)),
    "pad/concat": (lambda a: sf.concatenate([sf.pad(a, ((0, 0), (1, 0)))[:, :2], a[:, 1:3] * 2], axis=1),
                   lambda t: T.cat([T.nn.functional.pad(t, (1, 0))[:, :2], t[:, 1:3] * 2], 1)),
    "clip": (lambda a: sf.clip(a, -0.7, 0.9), lambda t: t.clamp(-0.7, 0.9)),
}
TENSOR_BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b), "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / (b * b + 1), lambda a, b: a / (b * b + 1)),
    "maximum": (sf.maximum, lambda a, b: T.maximum(a, b)), "hypot": (sf.hypot, lambda a, b: T.hypot(a, b)),
    "logaddexp": (sf.logaddexp, lambda a, b: T.logaddexp(a, b)),
    "where": (lambda a, b: sf.where(a > b, a * b, a - b), lambda a, b: T.where(a > b, a * b, a - b)),
    "matmul": (lambda a, b: a @ b.T @ a * 0.2, lambda a, b: a @ b.T @ a * 0.2),
}


def tensor_programs(depth):
    """Programs whose two top levels are operations (leaves below: x or y)."""
    leaf = st.sampled_from([("x",), ("y",)])
    inner = leaf if depth <= 2 else st.one_of(leaf, tensor_programs(depth - 1))
    return st.one_of(st.tuples(st.just("unary"), st.sampled_from(sorted(TENSOR_UNARY)), inner),
                     st.tuples(st.just("binary"), st.sampled_from(sorted(TENSOR_BINARY)), inner, inner))


def build_tensor(program, x, y, which):
    """``program`` with symflux's functions (``which`` 0) or PyTorch's (1)."""
    if program[0] in ("x", "y"):
        return x if program[0] == "x" else y
    if program[0] == "unary":
        return TENSOR_UNARY[program[1]][which](build_tensor(program[2], x, y, which))
    return TENSOR_BINARY[program[1]][which](build_tensor(program[2], x, y, which),
                                            build_tensor(program[3], x, y, which))


@settings(SETTINGS, max_examples=LONG or 12)
@given(program=tensor_programs(4), seed=st.integers(0, 2**16))
def test_random_tensor_programs_have_pytorchs_gradients_and_hessian_products(program, seed):
    """Reductions, contractions, movement and gathers composed at random, differentiated twice,
    interpreted and compiled, against PyTorch's autograd (generic values: no kinks or ties)."""
    check_against_pytorch(program, seed)


FOUND_TENSOR = [  # programs the search found, kept as fixed regressions (see each fix's test too)
    # |f|' of values SymPy cannot tell are real kept re(f), which compiled code has no rule for;
    # and a loop fusion renaming variables re-evaluated |load| into re/im of the load
    ("unary", "softplus", ("unary", "max all", ("unary", "log|·|+1", ("unary", "softmax", ("x",))))),
    # a sign test of a body holding isinf(…) asked mpmath's isinf, which gives a bool, not a number
    ("binary", "maximum", ("binary", "hypot", ("binary", "hypot", ("unary", "sum keepdims", ("y",)),
                                                ("unary", "sort", ("x",))), ("unary", "sin", ("x",))),
     ("binary", "logaddexp", ("binary", "logaddexp", ("unary", "gather", ("y",)), ("binary", "mul", ("x",), ("x",))),
      ("x",))),
    # max's derivative compared its argument recomputed in another kernel (0/0 compiled)
    ("unary", "max keepdims", ("unary", "prod keepdims", ("unary", "abs", ("x",)))),
    # SymPy's Max of three gave each of three tied arguments half the gradient (|y| = y = clip(y))
    ("binary", "maximum", ("unary", "abs", ("y",)), ("binary", "maximum", ("y",), ("unary", "clip", ("y",)))),
]


@pytest.mark.parametrize("program", FOUND_TENSOR)
def test_tensor_programs_found_by_the_search(program):
    check_against_pytorch(program, 32)


def check_against_pytorch(program, seed):
    if T is None:
        pytest.skip("PyTorch is not installed")
    rng = np.random.default_rng(seed)
    x, y, w, v = (rng.standard_normal((3, 4)) for _ in range(4))
    loss = lambda a, b: sf.sum(build_tensor(program, a, b, 0) * w)
    tx, ty = T.tensor(x, requires_grad=True), T.tensor(y, requires_grad=True)
    gx, gy = T.autograd.grad((build_tensor(program, tx, ty, 1) * T.tensor(w)).sum(), (tx, ty), create_graph=True,
                             allow_unused=True)
    hvp = T.autograd.grad((gx * T.tensor(v)).sum(), tx, allow_unused=True)[0] if gx is not None and gx.requires_grad \
        else None
    grads = lambda a, b: sf.gradient(loss, a, b)
    for got in (grads(x, y), sf.compile(grads)(x, y)):
        for g, t in zip(got, (gx, gy)):
            np.testing.assert_allclose(0 if g is None else g, 0 if t is None else t.detach().numpy(), rtol=1e-7,
                                       atol=1e-9, err_msg=str(program))
    if gx is not None:  # x is used
        ours = sf.grad(lambda a: sf.sum(sf.gradient(loss, a, y)[0] * v))(x)
        np.testing.assert_allclose(0 if ours is None else ours, 0 if hvp is None else hvp.numpy(force=True), rtol=1e-6,
                                   atol=1e-8, err_msg=str(program))


@pytest.mark.fuzz
@pytest.mark.skipif(not LONG, reason="set SYMFLUX_FUZZ_EXAMPLES for the long random search")
def test_long_run_is_configured():
    assert EXAMPLES == LONG


_CONDITION = ("where", ("binary", "maximum", ("const", -0.5), ("y",)), ("reduce", "sum", ("x",)),
              ("where", ("const", 2.0), ("y",), ("const", -0.5)))
FOUND = [  # programs the long search found, kept as fixed regressions
    # printing a gradient body for lambdify's docstring sorted terms, comparing a NaN coefficient
    (("where", _CONDITION,
      ("binary", "power", ("unary", "relu6", ("const", -0.5)), ("where", ("const", 2.0), ("y",), ("const", 2.0))),
      _CONDITION),
     (np.array([[2.0, 1, -2], [-2, 0, 1]]), np.array([[0.25, -2, -1.5], [-1.5, -0.0, -0.0]]))),
    # SymPy's true/false printed into C
    (("unary", "relu6", ("where", ("x",), ("x",), ("const", 2.0))), (np.zeros((2, 3)), np.zeros((2, 3)))),
    # a constant folded to NaN embedded in C as `nan`, which C does not know
    (("unary", "negative", ("unary", "sqrt", ("unary", "negative", ("const", 2.0)))),
     (np.zeros((2, 3)), np.zeros((2, 3)))),
    # a division by relu composed into a condition: SymPy took 1/0 = zoo in relu's zero branch
    (("where", ("binary", "divide", ("const", 2.0), ("unary", "relu", ("x",))), ("x",), ("y",)),
     (np.array([[0.0, -1, 2], [-0.0, 3, -2]]), np.array([[5.0, 6, 7], [8, 9, 10]]))),
    # a first fix kept every such Piecewise unfolded, where SymPy's fold was harmless and needed
    (("unary", "relu", ("binary", "divide", ("x",), ("where", ("x",), ("x",), ("y",)))),
     (np.zeros((2, 3)), np.zeros((2, 3)))),
    (("unary", "sign", ("binary", "divide", ("x",), ("where", ("x",), ("x",), ("y",)))),
     (np.array([[0.0, -1, 2], [-0.0, 3, -2]]), np.array([[5.0, 0, 7], [-8, 9, 0]]))),
    # |remainder| differentiated kept re(…): SymPy could not tell remainder of reals is real
    (("unary", "abs", ("where", ("where", ("const", 2.0), ("x",), ("x",)),
                       ("binary", "remainder", ("const", -0.5), ("y",)), ("reduce", "mean", ("x",)))),
     (np.array([[0.5, -0.5, -0.5], [-1.5, 0.0, 4.0]]), np.array([[1.0, -np.inf, np.nan], [-1.0, -1.5, -2.0]]))),
    # a tie of minimum's gradient folded into ITE conditions, which lambdify printed as float selects
    (("binary", "minimum", ("binary", "add", ("x",), ("where", ("x",), ("x",), ("const", -0.5))),
      ("where", ("unary", "sin", ("y",)), ("where", ("y",), ("y",), ("x",)),
       ("where", ("const", 2.0), ("x",), ("const", -0.5)))),
     (np.array([[0.5, -0.5, -0.5], [-1.5, 0.0, 4.0]]), np.array([[1.0, -np.inf, np.nan], [-1.0, -1.5, -2.0]]))),
]


@pytest.mark.parametrize("program,args", FOUND)
def test_programs_found_by_the_fuzzer(program, args):
    f = _function(program)

    def grads(x, y):
        return sf.gradient(lambda a, b: sf.sum(f(a, b)), x, y)

    with np.errstate(all="ignore"):
        want = interpreted(f, *args)
        assert_numpy_equal(compiled(f, *args), want, 1e-12, "compiled")
        assert_numpy_equal(exported(f, *args), want, 1e-12, "exported")
        for g, w in zip(sf.compile(grads)(*args), grads(*args)):
            assert_numpy_equal(g, w, 1e-7, "gradient")
