"""C export: a trained model as C with its weights embedded compiles with gcc -O2 and gives the
model's outputs."""

import shutil
import subprocess

import numpy as np
import pytest
from optable import exported, interpreted

import symflux as sf

DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include "{name}.h"
int main(void) {{
    static {in_type} x[{in_size}];
    static {out_type} y[{out_size}];
    if (fread(x, sizeof x[0], {in_size}, stdin) != {in_size}) return 1;
    {name}(x, y);
    fwrite(y, sizeof y[0], {out_size}, stdout);
    return 0;
}}
"""

CTYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}


def build_and_run(export, x, tmp_path):
    export.write(str(tmp_path))
    (in_shape, in_dtype), = export.inputs
    (out_shape, out_dtype), = export.outputs
    (tmp_path / "main.c").write_text(DRIVER.format(name=export.name, in_type=CTYPES[in_dtype],
                                                   in_size=x.size, out_type=CTYPES[out_dtype],
                                                   out_size=int(np.prod(out_shape))))
    exe = tmp_path / "run"
    subprocess.run(["gcc", "-O2", "-std=c99", "-o", str(exe), str(tmp_path / "main.c"),
                    str(tmp_path / f"{export.name}.c"), "-lm"], check=True, capture_output=True)
    out = subprocess.run([str(exe)], input=np.ascontiguousarray(x, dtype=in_dtype).tobytes(),
                         capture_output=True, check=True).stdout
    return np.frombuffer(out, dtype=out_dtype).reshape(out_shape)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
def test_trained_model_exports_to_c(tmp_path):
    sf.seed(3)
    model = sf.Chain(sf.Conv((3, 3), (1, 4), sf.relu, pad=1), sf.MaxPool((2, 2)), sf.flatten,
                     sf.Dense(64, 16, sf.tanh), sf.Dropout(0.2), sf.Dense(16, 3), sf.softmax)
    x = sf.randn(5, 1, 8, 8).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1]]
    step = sf.train_step(lambda a, b: sf.crossentropy(model(a), b), sf.params(model), sf.ADAM(1e-2))
    for _ in range(5):
        step(x, y)
    export = sf.export_c(model, x, name="digits_net")
    assert "static const float" in export.c and "void digits_net(void *in0_ptr, void *out0_ptr)" in export.h
    np.testing.assert_allclose(build_and_run(export, x, tmp_path), model(x), rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
def test_gradient_exports_to_c_in_float64(tmp_path):
    f = lambda v: sf.gradient(lambda u: sf.sum(sf.sigmoid(u) * sf.log1p(u**2) + sf.maximum(u, 0.1)), v)[0]
    x = np.linspace(-2, 2, 7)
    np.testing.assert_allclose(build_and_run(sf.export_c(f, x, name="grad"), x, tmp_path), f(x), rtol=1e-12)


def test_conditions_that_fold_to_constants_build_as_c99():
    x = np.array([[0.0, 1.0, 7.0], [np.nan, -1.0, 3.0]])
    f = lambda v: sf.relu6(sf.where(sf.greater(sf.where(sf.isnan(v), 0.0, v), 0), v, 2.0))
    np.testing.assert_array_equal(exported(f, x), interpreted(f, x))  # SymPy's false printed as C


def test_abs_of_an_expression_builds_as_c():
    """SymPy's C printer left Abs of an expression of unknown type as an undefined Abs() (fuzzer)."""
    for x in (np.array([-2.5, -0.0, 0.0, np.nan, -np.inf, 3.0]), np.array([-3, 0, 4], np.int32)):
        f = lambda v: sf.abs(v % 3 - 1)
        with np.errstate(all="ignore"):
            np.testing.assert_array_equal(exported(f, x), interpreted(f, x))


@pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None, reason="no C compiler")
@pytest.mark.parametrize("values", [np.array([2**53 + 1, 2**53, -5], np.int64),
                                    np.array([-(2**62) - 1, -(2**62)], np.int64),
                                    np.array([2**64 - 1, 2**63 + 1, 2**63], np.uint64), np.array([-3, -2], np.int8)],
                         ids=["int64 past 2^53", "negative int64", "uint64", "int8"])
def test_integer_extrema_are_exact(values):
    """Reduction steps compare in the accumulator's type: through a double, 2⁶⁴ − 1 became 0."""
    for f, reference in ((sf.max, np.max), (sf.min, np.min), (sf.argmax, np.argmax), (sf.argmin, np.argmin)):
        got = exported(f, values)
        assert got.dtype == reference(values).dtype and got == reference(values), (f, got)
