"""codegen.runtime.fastcall: one C call into a compiled program's packed entry, arguments taken in place
and checked against the compiled shapes and formats (anything else → NotImplemented)."""

import shutil
import threading

import numpy as np
import pytest
import sympy

from codegen import Buffer, Let, LLVMRenderer, Loop, Program, Store, Update, default_runtime, loop_var
from codegen.runtime.fastcall import dispatcher, dispatcher_type

if dispatcher_type() is None:
    if shutil.which("cc") or shutil.which("gcc"):
        pytest.fail("the fast-call extension did not build although a C compiler is present")
    pytest.skip("no C compiler to build the fast-call extension", allow_module_level=True)


_loaded = []


def weighted_sum(dtype, n=6):
    """out[0] = Σ x[i]·w[i], and y[i] = 2·x[i] (a second output)."""
    x, w, out, y = Buffer("x", dtype, n), Buffer("w", dtype, n), Buffer("out", dtype, 1), Buffer("y", dtype, n)
    i, acc = loop_var("i"), sympy.Symbol("acc")
    body = [Let(acc, dtype, sympy.S.Zero), Loop(i, n, (Update(acc, "add", x[i] * w[i]), Store(y, i, 2 * x[i]))),
            Store(out, 0, acc)]
    program = Program("wsum", [x, w, out, y], body=body)
    code = default_runtime().link(LLVMRenderer().render(program), ["wsum_packed"])
    _loaded.append(code)  # the machine code must outlive the dispatchers made from its address
    return code.addresses[0]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_call_reads_arguments_in_place_and_returns_the_scalar(dtype):
    w, out, y = np.linspace(1, 2, 6).astype(dtype), np.empty(1, dtype), np.empty(6, dtype)
    call = dispatcher(weighted_sum(dtype), [np.empty(6, dtype), w, out, y], [0], out)
    x = np.arange(6.0).astype(dtype)
    loss = call(x)
    assert type(loss) is np.dtype(dtype).type
    np.testing.assert_allclose(loss, x @ w, rtol=1e-6)
    np.testing.assert_allclose(y, 2 * x)
    w *= 3  # fixed buffers are read through their pointers: updates are seen
    np.testing.assert_allclose(call(x), 3 * (x @ np.linspace(1, 2, 6)), rtol=1e-6)


def test_arguments_that_do_not_fit_return_not_implemented():
    w, out, y = np.ones(6), np.empty(1), np.empty(6)
    call = dispatcher(weighted_sum("float64"), [np.empty(6), w, out, y], [0], out)
    out[0] = -1.0
    for args in [(np.ones(5),), (np.ones(6, np.float32),), (np.ones(12)[::2],), (np.ones((6, 1)),),
                 ([1.0] * 6,), (np.ones(6), np.ones(6)), (), (3.0,)]:
        assert call(*args) is NotImplemented
    assert call(x=np.ones(6)) is NotImplemented
    assert out[0] == -1.0  # nothing ran
    assert call(np.ones(6)) == 6.0


def test_no_result_returns_none_and_big_calls_release_the_gil():
    n = 1 << 15
    w, out, y = np.ones(n), np.empty(1), np.empty(n)
    call = dispatcher(weighted_sum("float64", n), [np.empty(n), w, out, y], [0], None)
    x = np.full(n, 0.5)
    assert call(x) is None and out[0] == n / 2
    results = []
    threads = [threading.Thread(target=lambda: results.append(call(x))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [None] * 4


def test_sized_programs_have_no_packed_entry():
    a, out, n = Buffer("a", "float64", sympy.Symbol("n")), Buffer("o", "float64", 1), sympy.Symbol("n")
    ir = LLVMRenderer().render(Program("p", [a, out], body=[Store(out, 0, a[0])], sizes=[n]))
    assert "p_packed" not in ir


def test_arrays_are_checked_for_dtype_order_alignment_and_overlap_before_the_fast_path():
    w, out, y = np.ones(6), np.empty(1), np.empty(6)
    call = dispatcher(weighted_sum("float64"), [np.empty(6), w, out, y], [0], out)
    unaligned = np.zeros(6 * 8 + 1, np.uint8)[1:].view(np.float64)
    assert not unaligned.flags.aligned
    for args in [(np.ones(6, ">f8"),), (unaligned,), (np.ones(6, np.int64),), (y,), (w,)]:
        assert call(*args) is NotImplemented  # another order or dtype, misaligned, or a fixed buffer
    readonly = np.arange(6.0)
    readonly.flags.writeable = False

    class Sub(np.ndarray):
        pass

    assert call(readonly) == 15.0  # read in place
    assert call(np.arange(6.0).view(Sub)) == 15.0  # not exactly an ndarray: through the buffer protocol
    assert call(memoryview(np.arange(6.0))) == 15.0
