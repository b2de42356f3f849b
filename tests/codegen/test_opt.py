"""The optimiser's passes (``codegen.opt``) on small hand-written loop nests, without symflux: what
each pass changes, what it must leave alone, and that the optimised nest computes the same."""

import dataclasses
import math

import numpy as np
import pytest
import sympy

from codegen import Buffer, Call, Let, LLVMRenderer, Loop, Program, Store, Update, default_runtime, loop_var
from codegen.kernel import imod, loads
from codegen.opt import PASSES, gemm, optimise
from codegen.opt.buffers import reuse_buffers
from codegen.opt.contraction import arrange_contractions, contraction, unit_stride
from codegen.opt.fusion import fuse_rows, inline_stores
from codegen.opt.gemm import call_gemm
from codegen.opt.gpu_shapes import shape_kernels
from codegen.opt.parallel import mark_parallel, work
from codegen.opt.tiling import register_tiles, unroll_and_jam, unroll_windows
from codegen.opt.vectors import hint_vector_width
from codegen.runtime import llvm_worker
from codegen.runtime.cpu import vector_bits
from codegen.target import CUDA, Target, cpu

CPU = Target("cpu", threads=4, parallel_work=1000, register_tile=4)
rng = np.random.default_rng(0)
i, j, k = loop_var("i"), loop_var("j"), loop_var("k")


def matmul(m, n, p, dtype="float64", role="reduce"):
    """C = A·B as independent loops over (i, j) around a dot product over k (a contraction's
    summed loop: role "reduce")."""
    a, b, c = Buffer("A", dtype, m * p), Buffer("B", dtype, p * n), Buffer("C", dtype, m * n)
    acc = sympy.Symbol("acc")
    dot = (Let(acc, dtype, sympy.Integer(0)), Loop(k, p, (Update(acc, "add", a[i * p + k] * b[k * n + j]),),
                                                    role=role), Store(c, i * n + j, acc))
    return Program("matmul", [a, b, c], body=[Loop(i, m, (Loop(j, n, dot),))])


def axpy(m, n, p):
    """C = A·B accumulated row by row: C[i, :] += A[i, k]·B[k, :], k summed outside the row loop."""
    a, b, c = Buffer("A", "float64", m * p), Buffer("B", "float64", p * n), Buffer("C", "float64", m * n)
    zero = Loop(i, m, (Loop(j, n, (Store(c, i * n + j, sympy.Integer(0)),)),))
    row = Loop(j, n, (Store(c, i * n + j, c[i * n + j] + a[i * p + k] * b[k * n + j]),))
    return Program("axpy", [a, b, c], body=[zero, Loop(i, m, (Loop(k, p, (row,), independent=False, role="reduce"),))])


def run(program, *arrays):
    fn = default_runtime().load(LLVMRenderer().render(program), program.name, len(program.args))
    fn(*[a.ctypes.data for a in arrays])


def statements(stmt, kind):
    """The statements of type ``kind`` in ``stmt`` as printed (register tiles unrolled and jammed)."""
    if isinstance(stmt, Loop) and stmt.jam > 1:
        return [found for s in unroll_and_jam(stmt) for found in statements(s, kind)]
    found = [stmt] if isinstance(stmt, kind) else []
    for s in getattr(stmt, "body", ()):
        found += statements(s, kind)
    return found


@pytest.mark.parametrize("m,n,p", [(8, 8, 5), (6, 7, 3), (3, 9, 4), (1, 1, 1)])
def test_register_tiles_unroll_and_jam_a_dot_product_into_a_4x4_tile(m, n, p):
    program = matmul(m, n, p)
    register_tiles(program, CPU)
    inner = [s for stmt in program.body for s in statements(stmt, Loop) if s.role == "reduce"]
    if m >= 4 and n >= 4:  # the main block: 16 accumulators share one loop over k
        assert max(len(s.body) for s in inner) == 16
        assert any(s.var.name == "i_block" and s.extent == m // 4 for stmt in program.body
                   for s in statements(stmt, Loop))
    assert [s.jam for s in statements(program.body[0], Loop)] == [1] * len(statements(program.body[0], Loop))
    A, B = rng.standard_normal((m, p)), rng.standard_normal((p, n))
    C = np.full((m, n), np.nan)
    run(program, A, B, C)
    np.testing.assert_allclose(C, A @ B, rtol=1e-13, atol=1e-14)


def test_register_tiles_apply_a_costly_epilogue_in_a_loop_of_its_own():
    """tanh(A·B + bias): the tile stores bare sums (float64 here, as accumulated) in a new temporary,
    and one loop applies tanh per element instead of 16 inline copies in the tile."""
    program = matmul(6, 8, 5, "float32")
    a, b, c = program.args
    bias = Buffer("bias", "float32", 8)
    program.args.insert(2, bias)
    nest = program.body[0]
    dot = list(nest.body[0].body)
    acc = dot[0].var
    dot[0] = Let(acc, "float64", sympy.Integer(0))
    dot[2] = Store(c, i * 8 + j, sympy.tanh(acc + bias[j]))
    program.body = [Loop(i, 6, (Loop(j, 8, tuple(dot)),))]
    register_tiles(program, CPU)
    (sums,) = program.temps
    assert sums.dtype == "float64" and sums.size == c.size
    *tile, epilogue = program.body
    assert not any(isinstance(s.value, sympy.tanh) for stmt in tile for s in statements(stmt, Store))
    assert [str(s.value) for s in statements(epilogue, Store)] == [str(sympy.tanh(sums[i * 8 + j] + bias[j]))]
    A, B = rng.standard_normal((6, 5)).astype(np.float32), rng.standard_normal((5, 8)).astype(np.float32)
    bias_values, C = rng.standard_normal(8).astype(np.float32), np.zeros((6, 8), np.float32)
    run(program, A, B, bias_values, C)
    np.testing.assert_allclose(C, np.tanh(A.astype(np.float64) @ B + bias_values), rtol=2e-6, atol=1e-6)


def test_a_costly_epilogue_is_applied_where_its_sums_were_stored():
    """Sums of the output's own precision, in memory nothing else reads: no temporary."""
    program = matmul(8, 8, 3, "float32")
    a, b, c = program.args
    dot = list(program.body[0].body[0].body)
    dot[2] = Store(c, i * 8 + j, sympy.exp(dot[0].var))
    program.body = [Loop(i, 8, (Loop(j, 8, tuple(dot)),))]
    register_tiles(program, CPU)
    assert program.temps == []
    assert [s.value for s in statements(program.body[-1], Store)] == [sympy.exp(c[i * 8 + j])]
    A, B = rng.standard_normal((8, 3)).astype(np.float32), rng.standard_normal((3, 8)).astype(np.float32)
    C = np.zeros((8, 8), np.float32)
    run(program, A, B, C)
    np.testing.assert_allclose(C, np.exp(A @ B), rtol=2e-6)


def test_register_tiles_unroll_one_row_loop_around_an_axpy():
    program = axpy(6, 5, 3)
    register_tiles(program, CPU)
    rows = [s for s in statements(program.body[1], Loop) if s.var == j]
    assert max(len(s.body) for s in rows) == 4  # 4 rows share each load of A[i, k]
    A, B, C = rng.standard_normal((6, 3)), rng.standard_normal((3, 5)), np.zeros((6, 5))
    run(program, A, B, C)
    np.testing.assert_allclose(C, A @ B, rtol=1e-13, atol=1e-14)


def test_register_tiles_leave_nests_without_a_shared_load_or_a_summed_loop():
    n = 8
    x, out = Buffer("x", "float64", n * n), Buffer("out", "float64", n)
    acc = sympy.Symbol("acc")
    row_sum = Loop(i, n, (Let(acc, "float64", sympy.Integer(0)),
                          Loop(k, n, (Update(acc, "add", x[i * n + k]),), role="reduce"), Store(out, i, acc)))
    unmarked = matmul(8, 8, 8, role="").body[0]  # not a contraction's loop: left alone
    for stmt in (row_sum, unmarked):
        program = Program("p", [x, out], body=[stmt])
        register_tiles(program, CPU)
        assert program.body == [stmt]
    program = matmul(8, 8, 8)
    register_tiles(program, dataclasses.replace(CPU, register_tile=0))  # a target without tiles
    assert program.body == matmul(8, 8, 8).body


def product(a_index, b_index, m, n, p, epilogue=lambda acc: acc, dtype="float64"):
    """C[i, j] = epilogue(Σ_k A[a_index]·B[b_index]) in the lowering's canonical form."""
    a, b, c = Buffer("A", dtype, m * p), Buffer("B", dtype, 4 * p * n), Buffer("C", dtype, m * n)
    acc = sympy.Symbol("acc")
    dot = (Let(acc, dtype, sympy.Integer(0)), Loop(k, p, (Update(acc, "add", a[a_index] * b[b_index]),),
                                                    role="reduce"), Store(c, i * n + j, epilogue(acc)))
    return Program("product", [a, b, c], body=[Loop(i, m, (Loop(j, n, dot),))])


@pytest.fixture
def gemm_everywhere(monkeypatch):
    monkeypatch.setattr(gemm, "BLAS_WORK", 1)
    monkeypatch.setattr(gemm, "BLAS_WORK_COPIED", 1)


def test_call_gemm_reads_a_matrix_and_a_transpose_in_place(gemm_everywhere):
    m, n, p = 7, 5, 3
    program = product(i * p + k, j * p + k, m, n, p)  # A·Bᵀ
    call_gemm(program, cpu())
    assert program.body == [Call("codegen_gemm_f64", (program.args[0], program.args[1]), (program.args[2],),
                                 (1, m, n, p, 0, 1))]
    A, B, C = rng.standard_normal((m, p)), rng.standard_normal((4 * n, p)), np.zeros((m, n))
    run(program, A, B, C)
    np.testing.assert_allclose(C, A @ B[:n].T, rtol=1e-13)


def test_call_gemm_copies_a_strided_factor_and_applies_the_epilogue_after(gemm_everywhere):
    m, n, p = 6, 4, 5
    program = product(i * p + k, 2 * k * n + j, m, n, p, lambda acc: sympy.tanh(2 * acc + 1))  # every other row of B
    call_gemm(program, cpu())
    copy, call, epilogue = program.body
    assert statements(copy, Store)[0].value == program.args[1][2 * k * n + j]
    assert [loop.var for loop in statements(copy, Loop)] == [k, j] and call.sizes[-2:] == (0, 0)  # rows of B, as read
    assert isinstance(call, Call) and call.outputs[0].name == "C" and statements(epilogue, Store)[0].buffer.name == "C"
    A, B, C = rng.standard_normal((m, p)), rng.standard_normal((4 * p, n)), np.zeros((m, n))
    run(program, A, B, C)
    np.testing.assert_allclose(C, np.tanh(2 * A @ B[::2][:p] + 1), rtol=1e-13)


def test_call_gemm_leaves_small_integer_and_gpu_products_to_loops(monkeypatch):
    small = product(i * 3 + k, k * 5 + j, 6, 5, 3)
    call_gemm(small, cpu())
    assert small.body == product(i * 3 + k, k * 5 + j, 6, 5, 3).body  # under BLAS_WORK
    monkeypatch.setattr(gemm, "BLAS_WORK", 1)
    for program, target in [(product(i * 3 + k, k * 5 + j, 6, 5, 3, dtype="int64"), cpu()),
                            (product(i * 3 + k, k * 5 + j, 6, 5, 3), CUDA),
                            (product(i * 3 + k, k * k + j, 6, 5, 3), cpu())]:  # B[k², j]: no matrix
        before = list(program.body)
        call_gemm(program, target)
        assert program.body == before


def test_arrange_contractions_keeps_a_dot_product_with_contiguous_sums():
    program = product(i * 3 + k, j * 3 + k, 6, 5, 3)
    arrange_contractions(program, cpu())
    assert program.body == product(i * 3 + k, j * 3 + k, 6, 5, 3).body


def test_arrange_contractions_accumulates_small_products_along_contiguous_rows():
    m, n, p = 6, 5, 3
    program = product(i * p + k, k * n + j, m, n, p, lambda acc: acc + 1)
    arrange_contractions(program, cpu())
    zero, rows, epilogue = program.body
    assert [loop.var for loop in (rows, rows.body[0], rows.body[0].body[0])] == [i, k, j]
    assert not rows.body[0].independent and rows.body[0].role == "reduce"
    A, B, C = rng.standard_normal((m, p)), rng.standard_normal((4 * p, n)), np.zeros((m, n))
    run(program, A, B, C)
    np.testing.assert_allclose(C, A @ B[:p] + 1, rtol=1e-13)


def test_arrange_contractions_packs_the_factors_of_big_products():
    m, n, p = 60, 50, 30
    program = product(i * p + k, k * n + j, m, n, p)
    arrange_contractions(program, cpu())
    pack, dot = program.body
    assert statements(pack, Store)[0].index == j * p + k and contraction(dot).summed_vars == [k]
    A, B, C = rng.standard_normal((m, p)), rng.standard_normal((4 * p, n)), np.zeros((m, n))
    run(program, A, B, C)
    np.testing.assert_allclose(C, A @ B[:p], rtol=1e-13)
    gpu = product(i * p + k, k * n + j, m, n, p)
    arrange_contractions(gpu, CUDA)  # a GPU's threads share the canonical dot products
    assert gpu.body == product(i * p + k, k * n + j, m, n, p).body


def test_unit_stride_reads_the_coefficient_of_a_loop_variable():
    assert unit_stride(i * 784 + k, k) and unit_stride(k + sympy.Max(i, 0), k) and unit_stride(3 * k - 2 * k, k)
    assert not unit_stride(i * 784 + k, i) and not unit_stride(2 * k, k) and not unit_stride(sympy.Integer(3), k)
    assert not unit_stride(imod(k, 4) + i, k) and not unit_stride(k * i + j, k)
    assert not unit_stride(sympy.Max(sympy.Min(k + i, 5), 0), k)  # a clamped index: no fixed stride


def softmax_rows(rows, n):
    x, m, out = Buffer("x", "float64", rows * n), Buffer("m", "float64", rows), Buffer("out", "float64", rows * n)
    acc = sympy.Symbol("acc")
    row_max = Loop(i, rows, (Let(acc, "float64", sympy.S.NegativeInfinity),
                             Loop(k, n, (Update(acc, "max", x[i * n + k]),)), Store(m, i, acc)))
    shifted = Loop(j, rows, (Loop(k, n, (Store(out, j * n + k, x[j * n + k] - m[j]),)),))
    return Program("softmax", [x, m, out], body=[row_max, shifted])


def test_fuse_rows_joins_a_row_reduction_and_the_row_that_reads_it():
    program = softmax_rows(5, 7)
    fuse_rows(program, CPU)
    assert len(program.body) == 1 and program.body[0].extent == 5
    x, m, out = rng.standard_normal((5, 7)), np.zeros(5), np.zeros((5, 7))
    run(program, x, m, out)
    np.testing.assert_allclose(out, x - x.max(axis=1, keepdims=True))


def test_fuse_rows_keeps_loops_apart_when_a_row_reads_another_rows_result():
    program = softmax_rows(5, 7)
    x, m, out = program.args
    neighbour = Loop(j, 5, (Loop(k, 7, (Store(out, j * 7 + k, x[j * 7 + k] - m[4 - j]),)),))
    program.body[1] = neighbour
    fuse_rows(program, CPU)
    assert len(program.body) == 2


def test_fuse_rows_around_memory_written_in_place():
    """An input that an output overwrites (``Program.aliased``) may be read by both loops; a loop
    writing it keeps the order of whole loops."""
    program = softmax_rows(5, 7)
    x, m, out = program.args
    program.aliased = {"x", "out"}  # out is written over x
    fuse_rows(program, CPU)
    assert len(program.body) == 2  # the second loop writes x's memory, which the first reads
    reading = softmax_rows(5, 7)
    reading.aliased = {"x", "y"}  # both loops only read x
    fuse_rows(reading, CPU)
    assert len(reading.body) == 1


def test_mark_parallel_marks_big_independent_loops_only():
    big, small = matmul(64, 64, 8), matmul(2, 2, 2)
    mark_parallel(big, CPU)
    mark_parallel(small, CPU)
    assert big.body[0].parallel and work(big.body[0]) == 64 * 64 * 8
    assert not small.body[0].parallel
    summed_rows = axpy(64, 64, 64)
    mark_parallel(summed_rows, CPU)
    assert summed_rows.body[0].parallel  # zeroing the output: disjoint rows
    assert not summed_rows.body[1].body[0].parallel  # never split a loop whose iterations share rows
    single = matmul(64, 64, 8)
    mark_parallel(single, dataclasses.replace(CPU, threads=1))
    assert not single.body[0].parallel


def read_back_then_scatter(n=6, m=4, read=lambda t, a, b: t[a * 4 + b], later=()):
    """t[a, b] = 2·x[b, a] (a product read back into another layout), out zeroed, then
    out[a + b] += t[a, b] over the same iterations (a scatter: its inner loop not independent)."""
    x, out, t = Buffer("x", "float64", n * m), Buffer("out", "float64", n + m), Buffer("t", "float64", n * m)
    a, b = loop_var("a"), loop_var("b")
    p, q = loop_var("p"), loop_var("q")
    produce = Loop(a, n, (Loop(b, m, (Store(t, a * m + b, 2 * x[b * n + a]),)),))
    zero = Loop(i, n + m, (Store(out, i, sympy.Integer(0)),))
    scatter = Loop(p, n, (Loop(q, m, (Store(out, p + q, out[p + q] + read(t, p, q)),), independent=False),))
    return Program("scatter", [x, out], temps=[t], body=[produce, zero, scatter, *later])


def test_inline_stores_computes_a_temporary_where_its_only_reader_reads_it():
    program = read_back_then_scatter()
    inline_stores(program, CPU)
    assert len(program.body) == 2 and "t" not in {load.base.name for s in statements(program.body[1], Store)
                                                  for load in loads(s.value)}
    x, out = rng.standard_normal((4, 6)), np.zeros(10)
    run(program, x, out)
    expected = np.zeros(10)
    for a_ in range(6):
        for b_ in range(4):
            expected[a_ + b_] += 2 * x[b_, a_]
    np.testing.assert_allclose(out, expected, rtol=1e-14)
    t_buf = read_back_then_scatter().temps[0]
    other_element = read_back_then_scatter(read=lambda t, a, b: t[a * 4 + 3 - b])
    read_later = read_back_then_scatter(later=[Store(Buffer("out", "float64", 10), 0, t_buf[0])])
    x, out, t = Buffer("x", "float64", 4), Buffer("out", "float64", 4), Buffer("t", "float64", 1)
    last_wins = Program("last", [x, out], temps=[t], body=[Loop(i, 4, (Store(t, 0, x[i]),)),  # out = x[3] everywhere
                                                           Loop(j, 4, (Store(out, j, t[0]),))])
    overwritten = read_back_then_scatter()  # the statement in between writes what the producer reads
    overwritten.body[1] = Loop(i, 24, (Store(overwritten.args[0], i, sympy.Integer(0)),))
    for kept in (other_element, read_later, overwritten, last_wins):
        before = list(kept.body)
        inline_stores(kept, CPU)
        assert kept.body == before


def test_inline_stores_keeps_a_read_before_the_write_in_place_that_follows_it():
    """t = 2·x; x updated in place (its output y is x's memory); z = t: z must see the old x."""
    x, y, z, t = (Buffer(name, "float64", 5) for name in ("x", "y", "z", "t"))
    program = Program("in_place", [x, y, z], temps=[t], aliased={"x", "y"},
                      body=[Loop(i, 5, (Store(t, i, 2 * x[i]),)), Loop(i, 5, (Store(y, i, x[i] + 1),)),
                            Loop(i, 5, (Store(z, i, t[i]),))])
    before = list(program.body)
    inline_stores(program, CPU)
    assert program.body == before
    memory, out = np.arange(5.0), np.zeros(5)
    fn = default_runtime().load(LLVMRenderer().render(program), program.name, 3)
    fn(memory.ctypes.data, memory.ctypes.data, out.ctypes.data)
    np.testing.assert_array_equal(out, 2 * np.arange(5.0))
    np.testing.assert_array_equal(memory, np.arange(5.0) + 1)


def max_pool(h, w, kh, kw, extra=()):
    """out[i, j] = max of x over the kh × kw window at (i·kh, j·kw), NaN propagating."""
    x, out = Buffer("x", "float32", h * kh * w * kw), Buffer("out", "float32", h * w)
    r, s, acc = loop_var("r"), loop_var("s"), sympy.Symbol("acc")
    window = Loop(r, kh, (Loop(s, kw, (Update(acc, "max", x[(i * kh + r) * w * kw + j * kw + s]), *extra)),))
    body = (Let(acc, "float32", -sympy.oo), window, Store(out, i * w + j, acc))
    return Program("pool", [x, out], body=[Loop(i, h, (Loop(j, w, body),))])


def test_unroll_windows_unrolls_small_windows_whole_on_a_cpu():
    program = max_pool(5, 7, 2, 2)
    unroll_windows(program, CPU)
    window = program.body[0].body[0].body[1]
    assert (window.jam, window.body[0].jam) == (2, 2)
    assert len(statements(program.body[0], Update)) == 4  # as printed: four updates, no loop
    x = rng.standard_normal((10, 14)).astype(np.float32)
    x[3, 5] = np.nan
    out = np.zeros((5, 7), np.float32)
    run(program, x, out)
    np.testing.assert_array_equal(out, x.reshape(5, 2, 7, 2).max(axis=(1, 3)))
    big = max_pool(3, 3, 5, 4)  # 20 iterations: a loop around its unrolled rows of 4
    unroll_windows(big, CPU)
    assert (big.body[0].body[0].body[1].jam, big.body[0].body[0].body[1].body[0].jam) == (1, 4)
    storing = max_pool(3, 3, 2, 2, extra=(Store(Buffer("y", "float32", 1), 0, sympy.Integer(1)),))
    for storing_or_gpu, target in [(storing, CPU), (max_pool(3, 3, 2, 2), CUDA)]:
        unroll_windows(storing_or_gpu, target)
        window = storing_or_gpu.body[0].body[0].body[1]
        assert (window.jam, window.body[0].jam) == (1, 1)


def test_reuse_buffers_shares_temporaries_with_disjoint_lifetimes():
    x, out = Buffer("x", "float64", 4), Buffer("out", "float64", 4)
    t0, t1, t2 = Buffer("t0", "float64", 4), Buffer("t1", "float64", 8), Buffer("t2", "float32", 4)
    body = [Loop(i, 4, (Store(t0, i, 2 * x[i]),)), Loop(i, 4, (Store(out, i, t0[i]),)),
            Loop(i, 4, (Store(t1, i, x[i] + 1),)), Loop(i, 4, (Store(t2, i, t1[i]),)),
            Loop(i, 4, (Store(out, i, out[i] + t2[i]),))]
    program = Program("p", [x, out], temps=[t0, t1, t2], body=body)
    reuse_buffers(program, CPU)
    assert sorted((b.dtype, b.size) for b in program.temps) == [("float32", 4), ("float64", 8)]
    values, got = rng.standard_normal(4), np.zeros(4)
    run(program, values, got)
    np.testing.assert_allclose(got, 2 * values + (values + 1).astype(np.float32), rtol=1e-6)


def test_gpu_shapes_name_how_threads_share_each_statement():
    big = matmul(512, 512, 64, "float32")
    acc = sympy.Symbol("acc")
    x, out = Buffer("x", "float32", 16 * 8192), Buffer("out", "float32", 16)
    long_rows = Loop(i, 16, (Let(acc, "float32", sympy.Integer(0)),
                             Loop(k, 8192, (Update(acc, "add", x[i * 8192 + k]),)), Store(out, i, acc)))
    scatter = Loop(i, 16, (Store(out, 0, out[0] + x[i]),), independent=False)
    program = Program("p", big.args + [x, out], body=[*big.body, long_rows, *softmax_rows(4, 256).body[:1],
                                                     scatter, Loop(i, 0, (Store(out, i, 0),)),
                                                     Loop(i, 16, (Store(out, i, 1),))])
    fused = softmax_rows(4, 256)
    fuse_rows(fused, CUDA)
    program.body[2] = fused.body[0]
    shape_kernels(program, CUDA)
    kinds = [s.kind for s in program.kernel_shapes]
    assert kinds == ["matmul", "cooperative", "phased", "atomic", "empty", "grid"]
    assert program.kernel_shapes[1].team == CUDA.block_threads  # 8192 summed: the whole block
    assert program.kernel_shapes[2].team == CUDA.warp  # rows of 256: a warp each
    cpu_program = matmul(8, 8, 8)
    shape_kernels(cpu_program, CPU)
    assert cpu_program.kernel_shapes == []


def test_optimise_runs_every_pass_in_order_for_the_target(monkeypatch):
    monkeypatch.setattr(gemm, "BLAS_WORK", 1 << 30)
    assert [p.__name__ for p in PASSES] == ["call_gemm", "arrange_contractions", "inline_stores", "reuse_buffers",
                                             "register_tiles", "unroll_windows", "fuse_rows", "mark_parallel",
                                             "hint_vector_width", "shape_kernels"]
    program = optimise(matmul(200, 200, 32), cpu())  # packed B, then a tiled dot product on threads
    assert [s.parallel for s in program.body] == [False, cpu().threads > 1] and not program.kernel_shapes
    A, B, C = rng.standard_normal((200, 32)), rng.standard_normal((32, 200)), np.zeros((200, 200))
    run(program, A, B, C)
    np.testing.assert_allclose(C, A @ B, rtol=1e-12, atol=1e-12)
    gpu = optimise(matmul(200, 200, 128, "float32"), CUDA)  # no register tile on a GPU: warps share dot products
    assert [s.kind for s in gpu.kernel_shapes] == ["cooperative"] and not gpu.body[0].parallel


def elementwise(dtype, rows=4, n=64, index=lambda r, c: r * 64 + c):
    """out[r, c] = x[index(r, c)]·y[r] + 1 in ``dtype``, the column loop innermost."""
    x, y, out = Buffer("x", dtype, rows * n * 2), Buffer("y", dtype, rows), Buffer("out", dtype, rows * n)
    t = sympy.Symbol("t")
    body = (Let(t, dtype, x[index(i, j)] * y[i]), Store(out, i * n + j, t + 1))
    return Program("elementwise", [x, y, out], body=[Loop(i, rows, (Loop(j, n, body),))])


@pytest.mark.parametrize("dtype, lanes", [("float64", 4), ("float32", 8)])
def test_hint_vector_width_gives_contiguous_float_loops_the_targets_width(dtype, lanes):
    program = elementwise(dtype)
    hint_vector_width(program, dataclasses.replace(CPU, vector_bits=256))
    outer = program.body[0]
    assert outer.vector == 0 and outer.body[0].vector == lanes  # the innermost loop only
    x, y = rng.standard_normal(512).astype(dtype), rng.standard_normal(4).astype(dtype)
    out = np.zeros(256, dtype)
    run(program, x, y, out)
    np.testing.assert_array_equal(out, (x[:256].reshape(4, 64) * y[:, None] + 1).ravel())
    ir_text = LLVMRenderer().render(program)  # rendered in vectors: no work left for LLVM's vectoriser
    element = "double" if dtype == "float64" else "float"
    assert f"load <{lanes} x {element}>" in ir_text and '!"llvm.loop.isvectorized", i32 1' in ir_text
    assert llvm_worker.VECTORISED in ir_text.split("ModuleID")[0]


@pytest.mark.parametrize("program", [
    elementwise("float64", index=lambda r, c: 2 * c),  # a stride of two
    elementwise("float64", index=lambda r, c: imod(c, 4)),  # no fixed stride
    elementwise("int32"),  # integers: LLVM judges
    elementwise("float64", n=3),  # fewer iterations than lanes
    softmax_rows(4, 64),  # a reduction (its first loop nest; the second is elementwise)
    matmul(8, 8, 8),
], ids=["strided", "modular", "integer", "short", "reduction", "contraction"])
def test_hint_vector_width_leaves_loops_llvm_should_judge(program):
    before = program.body[0]
    hint_vector_width(program, dataclasses.replace(CPU, vector_bits=512))
    assert program.body[0] == before


def test_a_gather_and_a_target_without_vectors_get_no_width():
    t = Buffer("t", "int64", 64)
    gather = elementwise("float64")
    gather.args.append(t)
    gather.body = [Loop(j, 64, (Store(gather.args[2], j, gather.args[0][t[j]]),))]
    hint_vector_width(gather, dataclasses.replace(CPU, vector_bits=512))
    assert gather.body[0].vector == 0
    plain = elementwise("float64")
    hint_vector_width(plain, CPU)  # vector_bits 0: the compiler chooses
    assert plain.body[0].body[0].vector == 0


def test_the_cpus_vector_width_is_llvms_choice_for_a_double_loop():
    assert cpu().vector_bits in (128, 256, 512) and cpu().vector_bits == vector_bits()


def test_a_loop_calling_a_scalar_library_function_is_printed_without_its_width(capfd):
    """erf is libm's (no vector variant): LLVM cannot widen the loop, and told a width it would
    print a warning; the renderer leaves the hint out. sin's exact branch has vector variants: the
    renderer writes that loop in vectors, calling them."""
    x, y = Buffer("x", "float64", 64), Buffer("y", "float64", 64)
    program = Program("calls", [x, y], body=[Loop(j, 64, (Store(y, j, sympy.erf(x[j]) + sympy.sin(x[j])),))])
    hint_vector_width(program, dataclasses.replace(CPU, vector_bits=256))
    assert program.body[0].vector == 4
    text = LLVMRenderer().render(program)
    assert "llvm.loop" not in text
    values, out = rng.uniform(-3, 3, 64), np.zeros(64)
    run(program, values, out)
    np.testing.assert_allclose(out, [math.erf(v) + math.sin(v) for v in values], rtol=1e-14, atol=1e-15)
    assert "remark" not in capfd.readouterr().err
    sines = Program("sines", [x, y], body=[Loop(j, 64, (Store(y, j, sympy.sin(x[j])),))])
    hint_vector_width(sines, dataclasses.replace(CPU, vector_bits=256))
    text = LLVMRenderer().render(sines)
    assert "call <4 x double> @\"sin.exact.v4\"" in text and '!"llvm.loop.isvectorized", i32 1' in text
    values[[5, 17]] = 1e13, -np.inf  # lanes the inline reduction cannot take
    run(sines, values, out)
    np.testing.assert_allclose(out, np.sin(values), rtol=1e-15, atol=1e-16)
