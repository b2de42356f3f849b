"""The LLVM renderer's vector loops (``LLVMRenderer._vector_loop``): a loop hinted ``vector`` is
written in <lanes x T> arithmetic with an overlapping last vector. Every output must equal, bit for
bit, the same program rendered as a scalar loop, at extents around the lane count, with constant,
run-time and threaded bounds, and special values in the data."""

import dataclasses
import re

import numpy as np
import pytest
import sympy

from codegen import Buffer, Let, LLVMRenderer, Loop, Program, Store, default_runtime, loop_var
from codegen.opt.vectors import hint_vector_width
from codegen.target import Target

j, n = loop_var("j"), sympy.Symbol("n", integer=True, positive=True)
t = sympy.Symbol("t")
WIDE = Target("cpu", threads=1, parallel_work=1000, register_tile=4, vector_bits=512)


def mixed(dtype, extent):
    """Float arithmetic and functions, a broadcast load, the loop variable as a value, a bool, an
    int8 and a uint64 result of floats: out[j] = f(x[j], y[0], j)."""
    x, y = Buffer("x", dtype, extent), Buffer("y", dtype, 1)
    f, b = Buffer("f", dtype, extent), Buffer("b", "bool", extent)
    small, big = Buffer("small", "int8", extent), Buffer("big", "uint64", extent)
    xj = x[j]
    body = (Let(t, dtype, xj * y[0] + j),
            Store(f, j, sympy.exp(-t**2 / 1000) * sympy.sin(xj) + sympy.log(1 + xj**2) / (1 + sympy.cos(t)**2)
                  + sympy.tanh(xj) + sympy.sqrt(abs(t)) + sympy.Max(xj, 0) + sympy.atan(t) + xj**-3),
            Store(b, j, sympy.Or(xj > y[0], sympy.Eq(xj, 0))),
            Store(small, j, xj * 100),
            Store(big, j, abs(xj) * 1e18))
    return Program("mixed", [x, y, f, b, small, big], body=[Loop(j, extent, body)], sizes=[] if extent != n else [n])


def data(dtype, size):
    values = np.random.default_rng(size).uniform(-4, 4, size)
    values[:7][: size] = [0.0, -0.0, np.nan, np.inf, -np.inf, 1e13, 3.0][: size]  # 1e13: the exact sine
    return values.astype(dtype)


def outputs(program, values, threads=1, size=None):
    rendered = LLVMRenderer(threads=threads).render(program)
    fn = default_runtime().load(rendered, program.name, len(program.args), len(program.sizes))
    arrays = [values, np.array([0.5], values.dtype)] + [np.zeros(values.size, b.dtype) for b in program.args[2:]]
    with np.errstate(all="ignore"):
        fn(*[a.ctypes.data for a in arrays], *([size] if program.sizes else []))
    return rendered, arrays[2:]


def same(vector, scalar):
    for v, s in zip(vector, scalar):
        assert v.tobytes() == s.tobytes()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("extent", [16, 17, 31, 1000])
def test_a_vector_loop_computes_what_the_scalar_loop_computes(dtype, extent):
    program = mixed(dtype, extent)
    values = data(dtype, extent)
    _, scalar = outputs(program, values)
    hint_vector_width(program, WIDE)
    assert program.body[0].vector == 8  # 512 bits of its widest type, uint64
    rendered, vector = outputs(program, values)
    assert f"x {'double' if dtype == 'float64' else 'float'}> " in rendered and "isvectorized" in rendered
    same(vector, scalar)
    with np.errstate(all="ignore"):
        x = values.astype(float)
        u = (values * values.dtype.type(0.5) + np.arange(extent, dtype=values.dtype)).astype(float)
        reference = (np.exp(-u**2 / 1000) * np.sin(x) + np.log(1 + x**2) / (1 + np.cos(u)**2) + np.tanh(x)
                     + np.sqrt(np.abs(u)) + np.maximum(x, 0) + np.arctan(u) + x**-3.0)
    np.testing.assert_allclose(vector[0], reference, rtol=1e-12 if dtype == "float64" else 2e-5)
    np.testing.assert_array_equal(vector[1], (values > 0.5) | (values == 0))


@pytest.mark.parametrize("size", [1, 7, 8, 9, 100])
def test_a_run_time_extent_under_one_vector_takes_the_scalar_loop(size):
    program = mixed("float64", n)
    values = data("float64", size)
    _, scalar = outputs(program, values, size=size)
    hint_vector_width(program, WIDE)
    _, vector = outputs(program, values, size=size)
    same(vector, scalar)


def test_threaded_chunks_are_vector_loops_of_their_own_bounds():
    program = mixed("float64", 4001)
    values = data("float64", 4001)
    _, scalar = outputs(program, values)
    program.body = [dataclasses.replace(program.body[0], parallel=True)]
    hint_vector_width(program, WIDE)
    rendered, vector = outputs(program, values, threads=3)
    assert ".parallel1" in rendered and "isvectorized" in rendered
    same(vector, scalar)


def test_a_loop_reading_what_it_writes_is_left_to_llvm():
    """The last vector overlaps the one before: it would read values the loop already wrote."""
    x = Buffer("x", "float64", 20)
    program = Program("inplace", [x], body=[Loop(j, 20, (Store(x, j, x[j] * 2 + 1),))])
    hint_vector_width(program, WIDE)
    rendered = LLVMRenderer().render(program)
    assert "isvectorized" not in rendered and "llvm.loop.vectorize.width" in rendered
    values = np.arange(20.0)
    default_runtime().load(rendered, "inplace", 1)(values.ctypes.data)
    np.testing.assert_array_equal(values, np.arange(20.0) * 2 + 1)


@pytest.mark.parametrize("w", [0.3, 1e13])  # 1e13: the invariant sine takes the exact branch before the loop
def test_what_every_iteration_shares_is_computed_once_before_the_loop(w):
    """exp(w)·x + sin(w) of a scalar w: LLVM's loop-invariant code motion is not run on the module,
    so the renderer computes exp(w) and sin(w) in scalars before the vector loop."""
    x, s, out = Buffer("x", "float64", 100), Buffer("w", "float64", 1), Buffer("out", "float64", 100)
    program = Program("shared", [x, s, out], body=[Loop(j, 100, (
        Store(out, j, x[j] * sympy.exp(s[0]) + sympy.sin(s[0]) + sympy.exp(x[j])),))])
    values, weight, scalar = np.linspace(-3, 3, 100), np.array([w]), np.zeros(100)
    default_runtime().load(LLVMRenderer().render(program), "shared", 3)(values.ctypes.data, weight.ctypes.data,
                                                                       scalar.ctypes.data)
    hint_vector_width(program, WIDE)
    rendered, vector = LLVMRenderer().render(program), np.zeros(100)
    default_runtime().load(rendered, "shared", 3)(values.ctypes.data, weight.ctypes.data, vector.ctypes.data)
    blocks = dict(re.findall(r"^([\w.]+):\n((?:  .*\n)*)", rendered, re.MULTILINE))
    before = "".join(text for label, text in blocks.items() if label.startswith("j.pre"))
    assert "llvm.rint.f64" in before and 'call double @"sin.exact"' in before
    assert "<8 x double>" in blocks["j.body"] and "llvm.rint.f64" not in blocks["j.body"]  # exp(x[j]) in vectors
    assert vector.tobytes() == scalar.tobytes()
    np.testing.assert_allclose(vector, values * np.exp(w) + np.sin(w) + np.exp(values), rtol=1e-14)
