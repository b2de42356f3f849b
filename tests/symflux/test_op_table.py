"""Every op of the table (tests/optable.py) on every path against NumPy: special values for
every dtype it is defined for; shapes and layouts (0-d, Python scalars, empty, size 1, broadcast,
non-contiguous, Fortran order, byte-swapped) for float64 and int32; exported C for the special
values. Then gradients: the interpreter and compiled code agree everywhere, kinks and special
values included (same NaN positions), and the policy's subgradients hold."""

import numpy as np
import pytest
from optable import (
    MATRIX,
    OPS,
    PATHS,
    REDUCTIONS,
    STRUCTURAL,
    assert_numpy_equal,
    exported,
    samples,
    structural_input,
)

import symflux as sf

LAYOUT_DTYPES = (np.float64, np.int32)


def _cases(table):
    return [pytest.param(op, np.dtype(d), id=f"{op.name}-{np.dtype(d).name}") for op in table for d in op.dtypes]


def _run(op, f, dtype, path_names, layouts):
    for label, args in samples(dtype, op.arity):
        if not layouts and label != "special" and label != "special pairs":
            continue
        if op.domain is not None:
            keep = np.broadcast_to(op.domain(*args), np.broadcast_shapes(*[np.shape(a) for a in args]))
            if not keep.all():
                args = tuple(np.broadcast_to(a, keep.shape)[keep] for a in args)
        with np.errstate(all="ignore"):
            want = op.reference(*args)
        for name in path_names:
            with np.errstate(all="ignore"):
                got = PATHS[name](f, *args)
            assert_numpy_equal(got, want, op.rtol, f"{op.name} {dtype} {label} via {name}", op.rtol32)


@pytest.mark.parametrize("op,dtype", _cases(OPS))
def test_elementwise_against_numpy(op, dtype):
    f = (lambda x: op.op(x)) if op.arity == 1 else (lambda x, y: op.op(x, y))
    _run(op, f, dtype, list(PATHS), layouts=dtype in LAYOUT_DTYPES)


# NumPy raises on empty slices of these
NO_EMPTY = ("max", "min", "np.max", "np.amin", "nanmax", "nanmin", "ptp", "average", "quantile 0.3", "nanargmax",
            "nanargmin", "percentile [10, 90] nearest")


@pytest.mark.parametrize("op,dtype", _cases(REDUCTIONS))
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_reductions_against_numpy(op, dtype, axis):
    values = samples(dtype, 1)
    _, (special,) = next(values)
    grids = {"special": np.resize(special, (4, special.size // 4 or 1)),
             "Fortran": np.asfortranarray(np.resize(special, (3, 5))),
             "one row": special[None, :4]}
    if op.name not in NO_EMPTY:
        grids["empty"] = np.empty((0, 3), dtype)
    for label, x in grids.items():
        with np.errstate(all="ignore"):
            want = op.reference(x, axis=axis)
        for name in PATHS:
            with np.errstate(all="ignore"):
                got = PATHS[name](lambda v: op.op(v, axis=axis), x)
            assert_numpy_equal(got, want, op.rtol, f"{op.name} {dtype} axis={axis} {label} via {name}")


EXPORTED = [op for op in OPS if op.exportable]


@pytest.mark.parametrize("op,dtype", [c for c in _cases(EXPORTED) if c.values[1] in (np.float64, np.int32)])
def test_exported_c_against_numpy(op, dtype):
    f = (lambda x: op.op(x)) if op.arity == 1 else (lambda x, y: op.op(x, y))
    PATHS["exported"] = exported
    try:
        _run(op, f, dtype, ["exported"], layouts=False)
    finally:
        del PATHS["exported"]


# -- gradients -------------------------------------------------------------------------------------

DIFFERENTIABLE = [op for op in OPS if np.float64 in op.dtypes and op.name not in (
    "greater", "greater_equal", "less", "less_equal", "equal", "not_equal", "logical_and", "logical_or",
    "logical_not", "floor", "ceil", "trunc", "fix", "rint", "round", "around", "round(x, 2)", "round(x, -1)", "sign",
    "floor_divide")]


@pytest.mark.parametrize("op", DIFFERENTIABLE, ids=lambda o: o.name)
def test_gradients_agree_on_every_path_at_special_values(op):
    """The interpreter's and the compiled gradient agree at every special value (kinks, ±0, ±inf, NaN)."""
    _, args = next(samples(np.float64, op.arity))

    def grads(*xs):
        return sf.gradient(lambda *vs: sf.sum(op.op(*vs)), *xs)

    with np.errstate(all="ignore"):
        want = grads(*args)
        got = sf.compile(grads)(*args)
    for g, w in zip(got, want):
        assert_numpy_equal(g, w, 1e-12, f"∂{op.name}")


@pytest.mark.parametrize("f,x,want", [
    (sf.abs, 0.0, 0.0), (sf.relu, 0.0, 0.0), (sf.relu6, 6.0, 0.0), (sf.relu6, 0.0, 0.0),
    (sf.sign, 0.0, 0.0), (sf.leakyrelu, 0.0, 0.01), (sf.hardtanh, 1.0, 0.0), (sf.floor, 2.0, 0.0),
    (lambda v: sf.maximum(v, 0.0), 0.0, 0.5), (lambda v: sf.clip(v, -1, 1), 1.0, 1.0),
], ids=["abs", "relu", "relu6-top", "relu6-bottom", "sign", "leakyrelu", "hardtanh", "floor", "maximum-tie", "clip"])
def test_subgradients_at_kinks_follow_zygote_and_pytorch(f, x, want):
    assert sf.gradient(f, x)[0] == want
    assert sf.compile(lambda v: sf.gradient(f, v)[0])(np.float64(x)) == want


@pytest.mark.parametrize("op,dtype", [pytest.param(op, np.dtype(d), id=f"{op.name}-{np.dtype(d).name}")
                                      for op in STRUCTURAL for d in op.dtypes])
def test_structural_ops_against_numpy(op, dtype):
    x = structural_input(dtype)
    want = op.f(np, x)
    f = lambda v: op.f(sf, v)
    for name in PATHS:
        for label, value in (("C order", x), ("Fortran order", np.asfortranarray(x))):
            assert_numpy_equal(PATHS[name](f, value), want, op.rtol, f"{op.name} {dtype} {label} via {name}")


@pytest.mark.parametrize("op,dtype", [pytest.param(op, np.dtype(d), id=f"{op.name}-{np.dtype(d).name}")
                                      for op in MATRIX for d in (np.float64, np.float32)])
def test_matrix_functions_against_numpy(op, dtype):
    """Linear algebra through SciPy's LAPACK when compiled, Fourier transforms in the interpreter;
    single precision stays single (NumPy's dtype)."""
    x = op.sample(dtype)
    want = op.f(np, x)
    for name in [p for p in PATHS if op.compiled or p != "compiled"]:
        for label, value in (("C order", x), ("Fortran order", np.asfortranarray(x))):
            assert_numpy_equal(PATHS[name](lambda v: op.f(sf, v), value), want, 1e-10,
                               f"{op.name} {dtype} {label} via {name}", rtol32=2e-5)
    if not op.compiled:
        with pytest.raises(TypeError, match="complex"):
            sf.compile(lambda v: op.f(sf, v))(x)
