"""A random-program fuzzer: hypothesis builds expression trees over two inputs from the op table's
functions, with inputs that sit on kinks and special values (0, ±0, equal operands, ±inf, NaN),
and every program must give the same values — NaN positions included — and the same gradients
on the interpreter, compiled code and (for a share of them) exported C.

CI runs a fixed, derandomised set; ``SYMFLUX_FUZZ_EXAMPLES=5000 python -m pytest -m fuzz
tests/symflux/test_fuzz.py`` runs a longer, random search."""

import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
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


def programs(depth):
    leaf = st.sampled_from([("x",), ("y",), ("const", 2.0), ("const", -0.5)])
    if depth == 0:
        return leaf
    inner = programs(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(st.just("unary"), st.sampled_from(UNARY), inner),
        st.tuples(st.just("binary"), st.sampled_from(BINARY), inner, inner),
        st.tuples(st.just("where"), inner, inner, inner),
        st.tuples(st.just("reduce"), st.sampled_from(REDUCE), inner),
    )


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


def inputs(dtype):
    return st.tuples(*[st.lists(st.sampled_from(VALUES), min_size=6, max_size=6).map(
        lambda v: np.array(v, dtype=dtype).reshape(2, 3)) for _ in range(2)])


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
    leaf = st.sampled_from([("x",), ("y",), ("const", 2), ("const", -3), ("const", 0.5), ("const", True)])
    if depth == 0:
        return leaf
    inner = mixed_programs(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(st.just("astype"), st.sampled_from(DTYPES), inner),
        st.tuples(st.just("binary"), st.sampled_from(MIXED_BINARY), inner, inner),
        st.tuples(st.just("unary"), st.sampled_from(MIXED_UNARY), inner),
        st.tuples(st.just("where"), inner, inner, inner),
    )


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
