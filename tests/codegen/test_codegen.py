"""codegen on its own: renderers, runtime and lambdify, against NumPy (no symflux involved)."""

import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading

import numpy as np
import pytest
import sympy

import codegen
from codegen import Buffer, CRenderer, Let, LLVMRenderer, Loop, Program, Store, Update, default_runtime, loop_var
from codegen.cache import DiskCache
from codegen.kernel import dag_cse, dag_replace, flat_index, idiv, imod, product, quotient
from codegen.runtime import cpu as cpu_runtime
from codegen.runtime import exact_trig
from codegen.runtime.cpu import CPURuntime
from codegen.runtime.pool import thread_pool

x, y = sympy.symbols("x y", real=True)
rng = np.random.default_rng(0)

EXPRESSIONS = [
    sympy.sin(x) * sympy.exp(-x**2 - y**2) + sympy.log(1 + x**2 * y**2) / (1 + sympy.cos(x * y) ** 2),
    sympy.sqrt(x**2 + y**2) + sympy.atan2(y, x) - sympy.tanh(x) / 3,
    sympy.Piecewise((x, x > y), (y**3, True)) + sympy.Max(x, 0.5) + sympy.Abs(y),
    x**sympy.Rational(3, 2) * 0 + x**-3 + y**7 + sympy.asinh(x) + sympy.erf(y),
]


def test_lambdify_matches_numpy():
    a, b = rng.uniform(0.1, 2, 1001), rng.uniform(0.1, 2, 1001)
    for expr in EXPRESSIONS:
        ours = codegen.lambdify([x, y], expr)(a, b)
        ref = sympy.lambdify([x, y], expr, [{"erf": np.vectorize(math.erf)}, "numpy"])(a, b)
        np.testing.assert_allclose(ours, ref, rtol=1e-13, atol=1e-13)


def test_lambdify_several_outputs_broadcasting_and_sizes():
    fn = codegen.lambdify([x, y], [x * y, x + y, sympy.diff(sympy.sin(x * y), x)])
    a = rng.standard_normal((3, 4))
    p, s, d = fn(a, 2.0)
    assert np.allclose(p, 2 * a) and np.allclose(s, a + 2) and np.allclose(d, 2 * np.cos(2 * a))
    assert fn(np.zeros(0), np.zeros(0))[0].shape == (0,)
    single = codegen.lambdify([x], x**2, dtype="float32")(np.arange(3))
    assert single.dtype == np.float32 and list(single) == [0, 1, 4]


def _reduction_program():
    n = 50
    i, k = loop_var("i"), loop_var("k")
    A, out = Buffer("A", "float64", n * 4), Buffer("out", "float64", n)
    acc = sympy.Symbol("acc")
    body = [Loop(i, n, (Let(acc, "float64", sympy.S.NegativeInfinity),
                        Loop(k, 4, (Update(acc, "max", sympy.exp(A[4 * i + k])),)),
                        Store(out, i, acc)))]
    return Program("rowmax", [A, out], body=body), n


def test_runtime_runs_a_reduction_program():
    program, n = _reduction_program()
    fn = default_runtime().load(LLVMRenderer().render(program), "rowmax", 2)
    a, out = rng.standard_normal(4 * n), np.empty(n)
    fn(a.ctypes.data, out.ctypes.data)
    np.testing.assert_allclose(out, np.exp(a.reshape(n, 4)).max(1), rtol=1e-15)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
def test_c_renderer_compiles_and_agrees(tmp_path):
    program, n = _reduction_program()
    source, header = CRenderer().render(program)
    (tmp_path / "rowmax.c").write_text(source)
    (tmp_path / "rowmax.h").write_text(header)
    lib = tmp_path / "librowmax.so"
    subprocess.run(["gcc", "-O2", "-std=c99", "-shared", "-fPIC", "-o", str(lib), str(tmp_path / "rowmax.c"), "-lm"],
                   check=True)
    import ctypes
    fn = ctypes.CDLL(str(lib)).rowmax
    a, out = rng.standard_normal(4 * n), np.empty(n)
    fn(ctypes.c_void_p(a.ctypes.data), ctypes.c_void_p(out.ctypes.data))
    np.testing.assert_allclose(out, np.exp(a.reshape(n, 4)).max(1), rtol=1e-15)
    assert "void rowmax(void *A_ptr, void *out_ptr);" in header


def test_unknown_functions_are_reported():
    f = sympy.Function("mystery")
    i = loop_var("i")
    buf = Buffer("b", "float64", 1)
    with pytest.raises(codegen.UnsupportedExpression, match="mystery"):
        LLVMRenderer().render(Program("p", [buf], body=[Loop(i, 1, (Store(buf, i, f(buf[i])),))]))


@pytest.mark.parametrize("pooled,call", [(True, "codegen_parallel_for"), (False, "pthread_create")])
def test_parallel_loops_of_constant_extent_run_on_threads(pooled, call):
    """A loop the scheduler marked parallel is threaded whatever its extent (the scheduler judged its
    work), on the thread pool or on threads of its own; a run-time extent must reach min_parallel."""
    if pooled and not thread_pool():
        pytest.skip("no C compiler for the thread pool")
    i, k, n = loop_var("i"), loop_var("k"), 5
    a, out, acc = Buffer("a", "float64", n * 1000), Buffer("out", "float64", n), sympy.Symbol("acc")
    body = [Loop(i, n, (Let(acc, "float64", sympy.S.Zero), Loop(k, 1000, (Update(acc, "add", a[1000 * i + k]),)),
                        Store(out, i, acc)), parallel=True)]
    ir = LLVMRenderer(threads=3, pooled=pooled).render(Program("rows", [a, out], body=body))
    assert call in ir and "icmp sge" not in ir.split(call)[0].split("define")[-1]
    fn = default_runtime().load(ir, "rows", 2)
    x, result = rng.standard_normal(n * 1000), np.empty(n)
    fn(x.ctypes.data, result.ctypes.data)
    np.testing.assert_allclose(result, x.reshape(n, 1000).sum(1), rtol=1e-12)


def _on_threads(check, threads: int, calls: int) -> list:
    """``check()``'s results from ``calls`` calls on each of ``threads`` Python threads at once."""
    results: list = []

    def run():
        for _ in range(calls):
            results.append(check())
    started = [threading.Thread(target=run) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    return results


def test_the_thread_pool_serves_several_callers_and_forked_children():
    """Python threads calling pooled loops at once each get every row (a busy pool runs a caller's
    loop on the caller alone), and a forked child starts workers of its own."""
    if not thread_pool():
        pytest.skip("no C compiler for the thread pool")
    import multiprocessing

    n, i = 64, loop_var("i")
    a, out = Buffer("a", "float64", n * 500), Buffer("out", "float64", n)
    body = [Loop(i, n, (Store(out, i, sympy.Add(*[a[500 * i + j] for j in range(3)]) * 2),), parallel=True)]
    fn = default_runtime().load(LLVMRenderer(threads=4, pooled=True).render(Program("rows", [a, out], body=body)),
                                "rows", 2)
    x = rng.standard_normal(n * 500)
    want = x.reshape(n, 500)[:, :3].sum(1) * 2

    def check():
        got = np.full(n, np.nan)
        fn(x.ctypes.data, got.ctypes.data)
        return np.allclose(got, want)
    results = _on_threads(check, threads=4, calls=200)
    assert len(results) == 800 and all(results)
    if "fork" in multiprocessing.get_all_start_methods():
        pid = os.fork()
        if pid == 0:  # the child: exit status 0 if its pooled loop is right
            got = np.full(n, np.nan)
            fn(x.ctypes.data, got.ctypes.data)
            os._exit(0 if np.allclose(got, want) else 1)
        assert os.waitpid(pid, 0)[1] == 0


def test_big_temporaries_come_from_the_runtime_cache_and_are_reused():
    """A freed temporary is kept for the next call (not zeroed and page-faulted in again): the next
    request that fits takes the same block, one much smaller does not; blocks are 64-byte aligned.
    Programs use the cache from several threads at once and stay right."""
    if not thread_pool():
        pytest.skip("no C compiler for the runtime library")
    import ctypes

    from codegen.runtime import pool
    lib = pool._library()
    lib.codegen_temp_alloc.restype, lib.codegen_temp_alloc.argtypes = ctypes.c_void_p, [ctypes.c_int64]
    lib.codegen_temp_free.argtypes = [ctypes.c_void_p]
    first = lib.codegen_temp_alloc(3 << 20)
    assert first % 64 == 0
    lib.codegen_temp_free(first)
    assert lib.codegen_temp_alloc((3 << 20) - 1000) == first
    lib.codegen_temp_free(first)
    small = lib.codegen_temp_alloc(1 << 10)
    assert small != first
    lib.codegen_temp_free(small)

    n, i = 1 << 18, loop_var("i")
    a, t, out = Buffer("a", "float64", n), Buffer("t", "float64", n), Buffer("out", "float64", n)
    body = [Loop(i, n, (Store(t, i, a[i] * 3),)), Loop(i, n, (Store(out, i, t[n - 1 - i] + 1),))]
    ir = LLVMRenderer().render(Program("twice", [a, out], temps=[t], body=body))
    assert "codegen_temp_alloc" in ir and "codegen_temp_free" in ir
    fn = default_runtime().load(ir, "twice", 2)
    x = rng.standard_normal(n)

    def check():
        got = np.empty(n)
        fn(x.ctypes.data, got.ctypes.data)
        return np.array_equal(got, x[::-1] * 3 + 1)
    results = _on_threads(check, threads=3, calls=20)
    assert len(results) == 60 and all(results)


def test_statements_equal_up_to_names_have_one_shape():
    """Shapes.key: equal up to a renaming of buffers and variables, whatever order SymPy gives their
    sums and products (it orders by name), is one key with the buffers in corresponding order;
    another dtype, extent, operation or aliasing pattern is another key. (Operands alike but for
    their buffers' names stay in SymPy's order, so those may miss sharing, never share wrongly.)"""
    from codegen.kernel import Shapes

    def axpy(out, a, b, dtype="float32", n=8, var="i"):
        i = loop_var(var)
        bufs = {name: Buffer(name, dtype, n) for name in (out, a, b)}
        o, x, y = (bufs[name] for name in (out, a, b))
        return Loop(i, n, (Store(o, i, o[i] + x[i] * y[n - 1 - i] + 2 * x[i]),)), bufs
    shapes = Shapes()
    first, known = axpy("out0", "in0", "s11")
    second, known2 = axpy("s2", "t9", "a1", var="j")
    key, used = shapes.key(first, known)
    key2, used2 = shapes.key(second, known2)
    assert key == key2
    assert [b.name for b in used] == ["out0", "in0", "s11"] and [b.name for b in used2] == ["s2", "t9", "a1"]
    assert shapes.key(*axpy("out0", "in0", "s11", dtype="float64"))[0] != key
    assert shapes.key(*axpy("out0", "in0", "s11", n=9))[0] != key
    swapped, known3 = axpy("out0", "s11", "in0")  # the same computation with the inputs' roles swapped
    assert shapes.key(swapped, known3)[0] == key and [b.name for b in shapes.key(swapped, known3)[1]] == [
        "out0", "s11", "in0"]
    same_buffer, known4 = axpy("out0", "in0", "in0")
    assert shapes.key(same_buffer, known4)[0] != key


def test_a_shared_kernel_runs_each_statement_on_its_own_buffers():
    """Two statements of one shape compile to one kernel function, called with each one's buffers."""
    n, i, j = 64, loop_var("i"), loop_var("j")
    a, b, c, d = (Buffer(name, "float64", n) for name in ("in0", "out0", "zz", "out1"))
    body = [Loop(i, n, (Store(b, i, a[i] * 3 + sympy.sin(a[i])),)),
            Loop(j, n, (Store(d, j, sympy.sin(b[j]) + b[j] * 3),)),
            Loop(i, n, (Store(c, i, d[i] * 2),))]
    ir = LLVMRenderer().render(Program("two", [a, b, d], temps=[c], body=body))
    assert len(re.findall(r'define internal void @"two\.kernel', ir)) == 2
    fn = default_runtime().load(ir, "two", 3)
    x, y, z = rng.standard_normal(n), np.empty(n), np.empty(n)
    fn(x.ctypes.data, y.ctypes.data, z.ctypes.data)
    np.testing.assert_allclose(y, 3 * x + np.sin(x), rtol=1e-15)
    np.testing.assert_allclose(z, 3 * y + np.sin(y), rtol=1e-15)


@pytest.mark.parametrize("fn", [sympy.sin, sympy.cos, sympy.tan, sympy.atan, sympy.asin, sympy.acos, sympy.sinh,
                                sympy.cosh, sympy.exp, sympy.log, sympy.tanh])
def test_loops_with_transcendental_functions_vectorise(fn):
    """No libm call per element: the loop becomes vector arithmetic. Huge sin/cos/tan arguments
    still reach libm, through a masked vector variant that the vectoriser can widen."""
    i = loop_var("i")
    a, out = Buffer("a", "float64", 1024), Buffer("out", "float64", 1024)
    program = Program("f", [a, out], body=[Loop(i, 1024, (Store(out, i, fn(a[i])),))])
    optimised = default_runtime().optimised_ir(LLVMRenderer().render(program))
    body = re.split(r"define [^\n]*@f\.kernel0\(", optimised)[1].split("\n}\n")[0]  # the loop's kernel function
    assert re.search(r"<\d+ x double>", body)
    assert not re.search(rf"call double @{fn.__name__}\(", body)
    values = rng.uniform(0.1, 0.9, 1024)
    values[7] = 1e200 if fn in (sympy.sin, sympy.cos, sympy.tan) else values[7]
    got = np.empty(1024)
    default_runtime().load(LLVMRenderer().render(program), "f", 2)(values.ctypes.data, got.ctypes.data)
    np.testing.assert_allclose(got, sympy.lambdify(x, fn(x), "numpy")(values), rtol=1e-15)


def test_the_disk_cache_is_private(tmp_path):
    from codegen.cache import UnsafeCacheWarning
    private = DiskCache(str(tmp_path / "fresh"))
    private.put("k" * 64, b"code")
    assert private.get("k" * 64) == b"code"
    assert os.stat(tmp_path / "fresh").st_mode & 0o777 == 0o700
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    cache = DiskCache(str(shared))
    with pytest.warns(UnsafeCacheWarning):
        cache.put("k" * 64, b"code")
    assert cache.get("k" * 64) is None and not any(shared.rglob("*.o"))


def test_a_failed_cache_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    from codegen import cache as cache_module
    cache = cache_module.DiskCache(str(tmp_path))

    def full_disk(*args):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(cache_module.os, "replace", full_disk)
    cache.put("k" * 64, b"code")
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_machine_code_is_released_with_its_functions(monkeypatch):
    """Once no function uses it and it is not among the RECENT codes kept for reuse (set to none here)."""
    import gc
    import weakref

    from codegen.runtime import cpu
    monkeypatch.setattr(cpu, "RECENT", 0)
    cpu._recent.clear()
    program = Program("twice", [Buffer("x", "float64", 4), Buffer("y", "float64", 4)])
    i = loop_var("i")
    program.body = [Loop(i, 4, (Store(program.args[1], i, 2 * program.args[0][i]),))]
    code = default_runtime().link(LLVMRenderer().render(program), ["twice"])
    function, alive = code.function(0, 2), weakref.ref(code)
    del code
    x, y = np.arange(4.0), np.empty(4)
    function(x.ctypes.data, y.ctypes.data)
    assert alive() is not None and y.tolist() == [0, 2, 4, 6]
    del function
    gc.collect()
    assert alive() is None


def test_recently_loaded_code_is_kept_for_reuse_and_bounded():
    from codegen.runtime import cpu
    program = Program("thrice", [Buffer("x", "float64", 4), Buffer("y", "float64", 4)])
    i = loop_var("i")
    program.body = [Loop(i, 4, (Store(program.args[1], i, 3 * program.args[0][i]),))]
    ir_text = LLVMRenderer().render(program)
    runtime = default_runtime()
    first = runtime.link(ir_text, ["thrice"])
    links = runtime.links
    del first  # gone from every function, but loaded again without linking (a Dask worker's next task)
    assert runtime.link(ir_text, ["thrice"]) is not None and runtime.links == links
    assert len(cpu._recent) <= cpu.RECENT



def test_the_optimiser_leaves_quietly_when_its_caller_is_gone():
    """A process that starts an optimiser and is terminated before it is ready (a multiprocessing
    pool's worker) left a BrokenPipeError traceback on stderr."""
    optimiser = cpu_runtime.Optimiser(*cpu_runtime.host_cpu())
    process = subprocess.Popen(optimiser.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # the caller is gone before the optimiser has loaded LLVM
    _, errors = process.communicate(timeout=60)
    assert errors == b""


def test_the_warm_up_loads_what_a_first_compile_needs():
    """Importing codegen compiles and loads a small module in the background (LLVM's first use in
    a process), loads the thread pool and, once built on this machine, the exact trigonometry;
    exits and forks wait for it."""
    program = [sys.executable, "-c", "import codegen; from codegen.runtime import cpu, pool; "
               "cpu._warming[0].join(); print(pool._state['tried'], 'exact_trig' in cpu._libraries, "
               "cpu._compiling_machine.cache_info().currsize)"]
    env = dict(os.environ, SYMFLUX_CACHE_DIR=tempfile.mkdtemp())
    assert subprocess.run(program, env=env, capture_output=True, text=True, check=True).stdout.split() == \
        ["True", "False", "2"]
    build = "from codegen.runtime import cpu; cpu.default_runtime().provide_exact_trig()"
    subprocess.run([sys.executable, "-c", build], env=env, check=True)
    assert subprocess.run(program, env=env, capture_output=True, text=True, check=True).stdout.split() == \
        ["True", "True", "2"]
    exits = subprocess.run([sys.executable, "-c", "import codegen"], env=env, capture_output=True, text=True)
    assert exits.returncode == 0 and exits.stderr == ""

def _doubler(name):
    program = Program(name, [Buffer("x", "float64", 4), Buffer("y", "float64", 4)])
    i = loop_var("i")
    program.body = [Loop(i, 4, (Store(program.args[1], i, 2 * program.args[0][i]),))]
    return LLVMRenderer().render(program)


def test_the_optimiser_process_is_replaced_and_survives_bad_ir(monkeypatch):
    """LLVM optimises in a child process (llvmlite's pipeline leaks on every run), replaced every
    RECYCLE programs; invalid IR is an error there, and the next program compiles."""
    from codegen.runtime.cpu import Optimiser
    monkeypatch.setattr(Optimiser, "RECYCLE", 2)
    runtime = CPURuntime(cache=DiskCache(tempfile.mkdtemp()))
    runtime.optimisers[0].wait_ready()  # else the first programs compile in this process
    pids = []
    for k in range(4):
        code = runtime.object_code(_doubler(f"double{k}"))
        assert code and code[:4] == b"\x7fELF"
        pids.append(runtime.optimisers[0].process.pid if runtime.optimisers[0].process else None)
    assert pids[0] != pids[2] and pids[1] is None and pids[3] is None
    with pytest.raises(RuntimeError, match="expected"):
        runtime.object_code("define void @broken( {")
    assert runtime.object_code(_doubler("after")) and ".globl\tasm" in runtime.assembly(_doubler("asm"))


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads Linux's /proc")
def test_memory_stays_flat_over_distinct_compiles():
    """Engines go with their functions and LLVM's optimiser leaks in its own process: 300 distinct
    programs after a warm-up cost well under 4 MiB (16 MiB before, 127 MiB per 500 at first)."""
    import gc
    rss = lambda: int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    runtime = CPURuntime(cache=DiskCache(tempfile.mkdtemp()))
    x, y = np.arange(4.0), np.empty(4)
    for k in range(350):
        if k == 50:
            gc.collect()
            start = rss()
        runtime.load(_doubler(f"d{k}"), f"d{k}", 2)(x.ctypes.data, y.ctypes.data)
    gc.collect()
    assert y.tolist() == [0, 2, 4, 6] and rss() - start < 4


def test_kernels_of_the_same_shape_over_other_dtypes_stay_apart():
    """Kernels are functions over p0, p1, …: what a name meant in one (float32) must not carry over
    to the next (float64), which would round the float64 values to float32."""
    i = loop_var("i")
    x32, y32 = Buffer("x32", "float32", 3), Buffer("y32", "float32", 3)
    x64, y64 = Buffer("x64", "float64", 3), Buffer("y64", "float64", 3)
    program = Program("mixed", [x32, x64, y32, y64])
    program.body = [Loop(i, 3, (Store(y32, i, x32[i] / 3),)), Loop(i, 3, (Store(y64, i, x64[i] / 3),))]
    fn = default_runtime().load(LLVMRenderer().render(program), "mixed", 4)
    a32, a64 = np.array([1, 2, 4], np.float32), np.array([1.0, 2.0, 4.0])
    o32, o64 = np.empty(3, np.float32), np.empty(3)
    fn(a32.ctypes.data, a64.ctypes.data, o32.ctypes.data, o64.ctypes.data)
    np.testing.assert_array_equal(o32, a32 / np.float32(3))
    np.testing.assert_array_equal(o64, a64 / 3)


def test_a_program_in_parts_compiles_side_by_side_and_links_as_one():
    """render_parts spreads the kernels over modules (the entry point declares the ones it calls
    elsewhere); the runtime optimises them in as many processes and links the objects together.
    Helpers each kernel needs (sin's exact branch, the thread pool's entry) are in its own part."""
    i = loop_var("i")
    x, y = Buffer("x", "float64", 2000), Buffer("y", "float64", 2000)
    t = [Buffer(f"t{k}", "float64", 2000) for k in range(3)]
    program = Program("split", [x, y], temps=t)
    program.body = [Loop(i, 2000, (Store(t[0], i, sympy.sin(x[i])),)),
                    Loop(i, 2000, (Store(t[1], i, sympy.exp(t[0][i]) + x[i]),), parallel=True),
                    Loop(i, 2000, (Store(t[2], i, sympy.cos(t[1][i]) * 2),)),
                    Loop(i, 2000, (Store(y, i, t[2][i] - t[0][i]),))]
    parts = LLVMRenderer(threads=2).render_parts(program, 3)
    assert len(parts) == 3 and sum(text.count("define ") for text in parts) >= 6
    assert "declare" in parts[0] and 'define void @"split"(' in parts[0]
    runtime = CPURuntime(cache=DiskCache(tempfile.mkdtemp()))
    reported = []
    code = runtime.object_code(parts, lambda done, total: reported.append((done, total)))
    assert reported == [(1, 3), (2, 3), (3, 3)]  # one report per module as it finishes
    assert len(cpu_runtime.objects(code)) == 3 and cpu_runtime.parts(cpu_runtime.objects(code)) == code
    fn = runtime.link_object(code, ["split"]).function(0, 2)
    values, got = rng.uniform(-3, 3, 2000), np.zeros(2000)
    fn(values.ctypes.data, got.ctypes.data)
    s = np.sin(values)
    np.testing.assert_allclose(got, np.cos(np.exp(s) + values) * 2 - s, rtol=1e-13, atol=1e-13)
    assert runtime.link(parts, ["split"]).addresses[0]  # the same parts, from the disk cache
    with pytest.raises(RuntimeError, match="expected"):  # a broken part fails in the caller's thread
        runtime.object_code([parts[0], "define void @broken( {"])


def test_straight_line_modules_take_the_fast_code_generator_and_reductions_the_full_one():
    """A module of elementwise loops is marked for LLVM's fast instruction selection (its -O0 code
    generation: a third of the time); one holding a reduction keeps the full allocator. Both
    compute the same as NumPy, and the mark is part of the text, so of the cache key."""
    i, k = loop_var("i"), loop_var("k")
    x, y, total = Buffer("x", "float64", 64), Buffer("y", "float64", 64), Buffer("total", "float64", 1)
    acc = sympy.Symbol("acc")
    elementwise = Program("elementwise", [x, y], body=[Loop(i, 64, (Store(y, i, sympy.exp(x[i]) * x[i]),))])
    reduction = Program("reduction", [x, total], body=[
        Let(acc, "float64", sympy.Integer(0)), Loop(k, 64, (Update(acc, "add", x[k] * x[k]),)), Store(total, 0, acc)])
    fast, full = LLVMRenderer().render(elementwise), LLVMRenderer().render(reduction)
    assert fast.startswith(cpu_runtime.llvm_worker.FAST_INSTRUCTIONS)
    assert not full.startswith(cpu_runtime.llvm_worker.FAST_INSTRUCTIONS)
    values, out, sums = rng.uniform(-2, 2, 64), np.zeros(64), np.zeros(1)
    default_runtime().load(fast, "elementwise", 2)(values.ctypes.data, out.ctypes.data)
    default_runtime().load(full, "reduction", 2)(values.ctypes.data, sums.ctypes.data)
    np.testing.assert_allclose(out, np.exp(values) * values, rtol=1e-15)
    np.testing.assert_allclose(sums[0], values @ values, rtol=1e-13)
    unmarked = fast[len(cpu_runtime.llvm_worker.FAST_INSTRUCTIONS):]
    assert default_runtime().object_code(unmarked) != default_runtime().object_code(fast)


def test_dag_cse_binds_each_shared_operation_once_in_dependency_order():
    x = sympy.Symbol("x")
    for depth in (10, 40):  # 40: a tree of 2^40 nodes, a DAG of 120
        e = sympy.sin(x)
        for _ in range(depth):
            e = e * sympy.cos(e) + e
        shared, reduced = dag_cse(e, sympy.numbered_symbols("s"))
        assert depth <= len(shared) <= 2 * depth  # sin, then per step e·cos(e) and the sum
        defined = {x}
        for symbol, value in shared:
            assert value.free_symbols <= defined
            defined.add(symbol)
    small = sympy.sin(x) ** 2 * sympy.cos(sympy.sin(x) + 1) + sympy.sin(x)
    shared, rebuilt = dag_cse(small, sympy.numbered_symbols("s"))
    for symbol, value in reversed(shared):
        rebuilt = rebuilt.xreplace({symbol: value})
    assert rebuilt == small
    cond = sympy.Piecewise((sympy.sin(x) ** 2, sympy.sin(x) > 0), (sympy.sin(x), True))
    shared, reduced = dag_cse(cond, sympy.numbered_symbols("s"))
    assert [v for _, v in shared] == [sympy.sin(x)] and isinstance(reduced, sympy.Piecewise)


def test_dag_replace_renaming_to_loads_skips_evaluation_and_keeps_the_value():
    x, y = sympy.symbols("x y")
    a, b = Buffer("a", "float64", 4), Buffer("b", "float64", 4)
    i = loop_var("i")
    rule = {x: a[i], y: b[i]}
    for body in (sympy.tanh(x + y) * x, sympy.exp(-x) * sympy.sin(y) ** 2, x / (1 + y**2),
                 sympy.Piecewise((x, x > y), (y, True))):
        renamed = dag_replace(body, rule, evaluate=False)
        assert sympy.simplify(renamed - body.xreplace(rule)) == 0
        assert renamed.xreplace({a[i]: x, b[i]: y}) == body


def test_exp_and_log_composed_without_sympys_search_are_sympys():
    """dag_replace builds exp and log of a variable expression without their evaluation where it finds
    nothing to rewrite (exp took exp of each term and logcombine of each factor, asking assumptions,
    to find that: a third of a nested gradient's fusion); where it would rewrite, it still does."""
    x, y, t = sympy.symbols("x y t", real=True)
    p = sympy.Symbol("p", positive=True)
    arguments = [-x**2 - y**2, x * y + sympy.sin(x), 2 * x - sympy.Rational(3, 2), sympy.pi * x + sympy.E,
                 sympy.Float(-2.5) * x, sympy.Piecewise((x, x > 0), (y, True)) + 1, sympy.exp(x) / (1 + y),
                 # those SymPy rewrites: a log, iπ, a float term, ±∞, NaN
                 sympy.log(p) + x, 2 * sympy.log(p), x + sympy.I * sympy.pi, x + 0.5, sympy.oo * x, sympy.nan * x]
    for argument in arguments:
        composed = dag_replace(sympy.exp(t), {t: argument})
        assert composed == sympy.exp(argument) and composed.args == sympy.exp(argument).args, argument
    for argument in [1 + x**2 * y**2, x / (1 + y), sympy.sqrt(x) * 3, sympy.Abs(x - y),
                     # those SymPy rewrites: an exponential of a real, i·x, ∞·x
                     sympy.exp(x + y), sympy.E**x, sympy.I * x, sympy.oo * x]:
        composed = dag_replace(sympy.log(t), {t: argument})
        assert composed == sympy.log(argument) and composed.args == sympy.log(argument).args, argument


def test_quotient_splits_negative_constant_powers_below_and_rebuilds_without_flattening():
    x, y, z = sympy.symbols("x y z", real=True)
    cases = {x / y: (x, y), 3 * x / (y**2 * z): (3 * x, y**2 * z), x * y**sympy.Rational(-1, 2): (x, sympy.sqrt(y)),
             x * sympy.exp(-y): (x * sympy.exp(-y), 1), x * y**-z: (x * y**-z, 1),
             # a rational's denominator is divided by (as NumPy divides x/3), unless a power of two (exact)
             x / 3: (x, 3), 2 * x / 7: (2 * x, 7), x / 4: (x / 4, 1)}
    for e, (above, below) in cases.items():
        assert quotient(e) == (above, below), e
    assert product(()) == 1 and product((x,)) is x
    assert product((y, sympy.sin(x))) == y * sympy.sin(x)  # canonical factors: the evaluated product


def test_a_position_split_into_window_and_offset_and_put_back_is_read_as_itself():
    b, h, w = loop_var("b"), loop_var("h"), loop_var("w")
    # (b, h // 2, h % 2, w // 2, w % 2) in an array of (64, 12, 2, 12, 2): the offset of (b, h, w) in (64, 24, 24)
    assert flat_index([b, idiv(h, 2), imod(h, 2), idiv(w, 2), imod(w, 2)], [64, 12, 2, 12, 2]) == 576 * b + 24 * h + w
    apart = flat_index([b, idiv(h, 2), idiv(w, 2), imod(h, 2), imod(w, 2)], [64, 12, 12, 2, 2])
    assert apart.has(idiv)  # digits that are not adjacent stay divisions
    assert flat_index([idiv(h, 3), imod(h, 2)], [8, 2]) == 2 * idiv(h, 3) + imod(h, 2)  # other divisors


def test_embedded_float_constants_print_as_c_constant_expressions():
    c, out, i = Buffer("c", "float64", 4), Buffer("out", "float64", 4), loop_var("i")
    program = Program("consts", [c, out], body=[Loop(i, 4, (Store(out, i, c[i]),))])
    source, _ = CRenderer().render(program, embed={"c": np.array([np.nan, np.inf, -np.inf, 1.5])})
    assert "{NAN, INFINITY, -INFINITY, 1.5}" in source


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_exact_trigonometry_is_a_library_that_programs_declare_and_vectorised_loops_call(dtype):
    """A program declares the exact sin/cos and their masked vector variants without defining them
    (they were 40 % of W1's LLVM time); the vectorised loop calls a variant, which calls libm for a
    huge angle, from the library the runtime links once per process."""
    i = loop_var("i")
    a, out = Buffer("a", dtype, 1024), Buffer("out", dtype, 1024)
    program = Program("f", [a, out], body=[Loop(i, 1024, (Store(out, i, sympy.sin(a[i]) * sympy.cos(a[i] + 1)),))])
    ir = LLVMRenderer().render(program)
    assert re.findall(r'declare[^\n]*@"?((?:sin|cos)\.exact\.v\d+)', ir)
    assert not re.findall(r'define[^\n]*@"?((?:sin|cos)\.exact)', ir)
    assert re.search(r'call[^\n]*@"?(?:sin|cos)\.exact\.v\d+', default_runtime().optimised_ir(ir))
    values = rng.uniform(-3, 3, 1024).astype(dtype)
    values[5] = 1e30  # a huge angle: libm, through the variant
    got = np.empty(1024, dtype)
    default_runtime().load(ir, "f", 2)(values.ctypes.data, got.ctypes.data)
    expected = np.sin(values.astype(np.float64)) * np.cos((values + values.dtype.type(1)).astype(np.float64))
    np.testing.assert_allclose(got, expected.astype(dtype), rtol=1e-6 if dtype == "float32" else 1e-15)


def test_a_runtime_library_is_found_in_the_cache_without_building_its_ir(tmp_path, monkeypatch):
    """The exact trigonometry's object code is looked up by the module that writes it: building its IR
    for the lookup cost every process's first link 4 ms."""
    runtime = CPURuntime(DiskCache(str(tmp_path)))
    built = runtime._library_code(exact_trig)
    monkeypatch.setattr(exact_trig, "library_ir", lambda: pytest.fail("built the IR again"))
    assert CPURuntime(DiskCache(str(tmp_path)))._library_code(exact_trig) == built
    assert cpu_runtime.toolchain().split("|")[-2:] == list(cpu_runtime.host_cpu())


def test_the_first_program_compiles_in_this_process_while_the_optimiser_loads(tmp_path, monkeypatch):
    """Object code made here (the optimiser not ready) is what the optimiser makes, and runs."""
    runtime = CPURuntime(DiskCache(str(tmp_path)))
    monkeypatch.setattr(runtime.optimisers[0], "ready", False)
    monkeypatch.setattr(runtime.optimisers[0], "request", lambda *a: pytest.fail("asked the optimiser"))
    i = loop_var("i")
    a, out = Buffer("a", "float64", 64), Buffer("out", "float64", 64)
    ir = LLVMRenderer().render(Program("f", [a, out], body=[Loop(i, 64, (Store(out, i, sympy.exp(a[i]) + 1),))]))
    here = runtime.object_code(ir)
    monkeypatch.undo()
    runtime.optimisers[0].wait_ready()
    assert runtime.optimisers[0].request(b"o", ir) == here
    values, got = rng.uniform(-3, 3, 64), np.empty(64)
    runtime.link_object(here, ["f"]).function(0, 2)(values.ctypes.data, got.ctypes.data)
    np.testing.assert_allclose(got, np.exp(values) + 1, rtol=1e-15)


def test_dag_replace_takes_no_negative_power_of_a_piecewise_in_its_branches():
    a, b = sympy.symbols("a b", real=True)
    kink = sympy.Piecewise((a, a > 0), (0, True))
    for body in (1 / b, 2 * a / b, sympy.Piecewise((a, 1 / b > 1), (b, True)),
                 sympy.Piecewise((1, a * b**-2 > 0), (0, True))):
        composed = dag_replace(body, {b: kink})
        assert not composed.has(sympy.zoo), composed
        for value in (0.5, 2.0):  # where the kink is a itself
            assert composed.subs(a, value) == body.subs({a: value, b: value})
