"""sf.compile against the reference interpreter: every op and its gradient, float64 to 1e-12 and
float32 to 1e-5, odd shapes and layouts, NaN/Inf, recompilation, threads, the disk cache."""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from test_interp import programs
from test_vjp_rules import BINARY, CONTRACTIONS, MOVEMENT, REDUCTIONS, UNARY

import symflux as sf
from codegen.kernel import idiv, imod
from codegen.opt import gemm
from symflux import interp
from symflux.compile import Executable, Traced
from symflux.lower import _unraveled, lower

rng = np.random.default_rng(5)


def assert_matches(f, *args, rtol=1e-12, atol=1e-12):
    compiled = sf.compile(f)(*args)
    expected = f(*args)
    for c, e in zip(np.atleast_1d(compiled) if not isinstance(compiled, tuple) else compiled,
                    np.atleast_1d(expected) if not isinstance(expected, tuple) else expected):
        np.testing.assert_allclose(np.asarray(c), np.asarray(e), rtol=rtol, atol=atol)
        assert np.asarray(c).dtype == np.asarray(e).dtype


def with_gradient(op, n_args):
    """op's value and the gradient of sum(sin(op)·w): forward and backward rules compiled together."""
    def f(*xs):
        out = op(*xs)
        w = np.linspace(0.5, 1.5, int(np.prod(np.shape(out)))).reshape(np.shape(out))
        grads = sf.gradient(lambda *ys: sf.sum(sf.sin(op(*ys)) * w), *xs)
        return (out, *grads)
    return f


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_ops(name):
    op, _, sample = UNARY[name]
    x = sample((3, 4))
    assert_matches(with_gradient(op, 1), x)
    assert_matches(op, x.astype(np.float32), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_ops(name):
    op, _, sample_a, sample_b = BINARY[name]
    assert_matches(with_gradient(op, 2), sample_a((2, 1, 3)), sample_b((4, 1)))


@pytest.mark.parametrize("name,op,ref", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
def test_reductions(name, op, ref):
    x = rng.standard_normal((2, 3, 4))
    assert_matches(with_gradient(op, 1), x)
    assert_matches(op, x.astype(np.float32), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,op,sa,sb,ref", CONTRACTIONS, ids=[c[0] for c in CONTRACTIONS])
def test_contractions(name, op, sa, sb, ref):
    assert_matches(with_gradient(op, 2), rng.standard_normal(sa), rng.standard_normal(sb))


@pytest.mark.parametrize("name,op,sa,sb,ref", CONTRACTIONS, ids=[c[0] for c in CONTRACTIONS])
def test_contractions_through_blas(monkeypatch, name, op, sa, sb, ref):
    """Big float products call BLAS's GEMM (here every one: the thresholds set to 1); operands are
    read in place when their memory is a matrix or its transpose, copied otherwise."""
    monkeypatch.setattr(gemm, "BLAS_WORK", 1)
    monkeypatch.setattr(gemm, "BLAS_WORK_COPIED", 1)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    assert_matches(with_gradient(op, 2), a, b)
    assert_matches(op, a.astype(np.float32), b.astype(np.float32), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("spec,shapes", [("ij,jk->ik", [(300, 200), (200, 300)]),
                                         ("ij,kj->ki", [(300, 200), (300, 200)]),
                                         ("bji,bjk->bik", [(2, 260, 250), (2, 260, 270)])])
def test_big_products_call_gemm(spec, shapes):
    f = sf.compile(lambda x, y: sf.einsum(spec, x, y))
    args = [rng.standard_normal(s) for s in shapes]
    np.testing.assert_allclose(f(*args), np.einsum(spec, *args), rtol=1e-12, atol=1e-12)
    assert "codegen_gemm_f64" in f.source()


@pytest.mark.parametrize("spec,shapes", [("ij,jkl->kil", [(20, 30), (30, 6, 7)]),
                                         ("bij,jk->kbi", [(3, 20, 30), (30, 25)]),
                                         ("ij,bjk->bki", [(20, 30), (3, 30, 25)]),
                                         ("bij,bjk->ibk", [(2, 20, 30), (2, 30, 25)])])
def test_gemm_into_a_permuted_output(monkeypatch, spec, shapes):
    """A product whose output is not laid out batch + rows + columns is a GEMM into a temporary and
    a copy into place (with the epilogue: here a tanh), in both dtypes and through its gradient."""
    monkeypatch.setattr(gemm, "BLAS_WORK", 1)
    monkeypatch.setattr(gemm, "BLAS_WORK_COPIED", 1)
    args = [rng.standard_normal(s) for s in shapes]
    f = lambda x, y: sf.tanh(sf.einsum(spec, x, y))
    assert "codegen_gemm_f64" in sf.compile(f).lower(*args).source()
    assert_matches(with_gradient(f, 2), *args)
    assert_matches(f, *(a.astype(np.float32) for a in args), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_gemm_blocks_on_the_thread_pool(monkeypatch, threads):
    """GEMM splits into blocks of rows (or columns, when there are more) over the pool's threads;
    any thread count and odd sizes give NumPy's product."""
    monkeypatch.setattr(gemm, "BLAS_WORK", 1)
    spec, shapes = "bij,bkj->bik", [(2, 301, 97), (2, 7, 97)]
    args = [rng.standard_normal(s) for s in shapes]
    f = sf.compile(lambda x, y: sf.einsum(spec, x, y) + 1)
    sf.set_num_threads(threads)
    try:
        np.testing.assert_allclose(f(*args), np.einsum(spec, *args) + 1, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(f(args[1], args[0]), np.einsum(spec, args[1], args[0]) + 1, rtol=1e-12,
                                   atol=1e-12)
        assert "codegen_gemm_f64" in f.source()
    finally:
        sf.set_num_threads(None)


def test_lenet_convolutions_through_gemm(monkeypatch):
    """A convolution's windows are copied into a matrix (im2col) for GEMM, forward and both
    backward products, strided and padded; values and gradients equal the interpreter's."""
    monkeypatch.setattr(gemm, "BLAS_WORK_COPIED", 1)
    x, w = rng.standard_normal((3, 2, 9, 8)), rng.standard_normal((4, 2, 3, 3))
    f = with_gradient(lambda a, b: sf.conv(a, b, stride=(2, 1), pad=1), 2)
    assert "codegen_gemm_f64" in sf.compile(f).lower(x, w).source()
    assert_matches(f, x, w)


def test_a_sum_over_rows_is_never_split_across_threads():
    """Xᵀv accumulates every row into the same few outputs (the axpy form, with the row loop
    outermost): that loop must not run in parallel chunks, which would lose updates (found through
    Dask, whose 12,000-row blocks made it parallel)."""
    X, v = rng.standard_normal((12_000, 4)), rng.standard_normal(12_000)
    f = sf.compile(lambda X, v: sf.einsum("ij,i->j", X, v))
    traced = Traced(f.f, (X, v))
    program = lower(traced.arg_inputs, traced.outputs).program
    assert not any(getattr(s, "parallel", False) and not s.independent for s in program.body)
    for _ in range(20):
        np.testing.assert_allclose(f(X, v), X.T @ v, rtol=1e-10)


def test_a_training_step_through_blas_updates_weights_in_place(monkeypatch):
    """The SGD update is the epilogue of ∇W's GEMM, written over W: the product goes to a
    temporary first, and the step equals the interpreter's."""
    monkeypatch.setattr(gemm, "BLAS_WORK", 1)
    w = rng.standard_normal((5, 7)).astype(np.float32)
    model_c, model_i = (sf.Dense(w.copy(), np.zeros(5, np.float32), sf.tanh) for _ in range(2))
    x, y = rng.standard_normal((9, 7)).astype(np.float32), rng.standard_normal((9, 5)).astype(np.float32)
    compiled = sf.train_step(lambda x, y: sf.mse(model_c(x), y), sf.params(model_c), sf.Descent(0.1))
    eager = sf.train_step(lambda x, y: sf.mse(model_i(x), y), sf.params(model_i), sf.Descent(0.1), backend=None)
    for _ in range(3):
        compiled(x, y)
        eager(x, y)
    np.testing.assert_allclose(model_c.W, model_i.W, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,op,ref", MOVEMENT, ids=[m[0] for m in MOVEMENT])
def test_movement(name, op, ref):
    assert_matches(with_gradient(op, 1), rng.standard_normal((2, 3, 4)))


@pytest.mark.parametrize("opts", [{}, {"stride": 2, "pad": 1}, {"dilation": 2, "pad": (0, 1, 1, 0)},
                                  {"groups": 2}, {"flipped": True}])
def test_convolution(opts):
    x, w = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((6, 4 // opts.get("groups", 1), 3, 2))
    assert_matches(with_gradient(lambda a, b: sf.conv(a, b, **opts), 2), x, w)


def test_transposed_conv_and_pooling():
    x = rng.standard_normal((1, 2, 5, 4))
    assert_matches(with_gradient(lambda a, b: sf.conv_transpose(a, b, stride=2, pad=1), 2),
                   x, rng.standard_normal((2, 3, 3, 3)))
    assert_matches(with_gradient(lambda a: sf.maxpool(a, (2, 2), stride=1, pad=1), 1), x)
    assert_matches(with_gradient(lambda a: sf.meanpool(a, (2, 3), stride=(1, 2)), 1), x)


@pytest.mark.parametrize("kernel,stride,pad,shape", [((2, 2), (2, 2), 0, (2, 3, 8, 6)),  # windows tile the image
                                                      ((2, 2), (2, 2), 0, (1, 2, 7, 5)),  # remainders
                                                      ((2, 3), (3, 4), 1, (1, 2, 9, 11)),  # gaps, padding
                                                      ((3,), (3,), (2, 1), (2, 2, 10)),
                                                      ((1, 2, 2), (2, 2, 2), 0, (1, 1, 3, 4, 5))])
def test_pooling_gradients_through_windows_that_do_not_overlap(kernel, stride, pad, shape):
    """A fold whose windows do not overlap is read in place (each position one window element or
    0), not scattered; values and gradients equal the interpreter's."""
    x = rng.standard_normal(shape)
    for pool in (sf.maxpool, sf.meanpool):
        f = with_gradient(lambda a: pool(sf.tanh(a), kernel, stride=stride, pad=pad), 1)
        assert_matches(f, x)
        assert_matches(f, x.astype(np.float32), rtol=1e-5, atol=1e-6)


def test_models_and_nested_gradients():
    m = sf.f64(sf.Chain(sf.Conv((3, 3), (1, 4), sf.relu, pad=1), sf.MaxPool((2, 2)), sf.flatten,
                        sf.Dense(36, 10), sf.softmax))
    x = rng.standard_normal((3, 1, 6, 6))
    assert_matches(m, x)
    d3 = lambda v: sf.gradient(lambda a: sf.gradient(lambda b: sf.gradient(
        lambda c: sf.sum(sf.sin(c) * sf.exp(c)), b)[0].sum(), a)[0].sum(), v)[0]
    assert_matches(d3, rng.standard_normal(5))


def test_odd_shapes_and_layouts():
    f = lambda a, b: sf.sum(a * 2, axis=0) + b
    assert_matches(f, np.zeros((0, 3)), np.ones(3))
    assert_matches(f, np.ones((1, 1)), np.ones(1))
    base = rng.standard_normal((6, 8))
    assert_matches(f, base[::2, ::3], base[0, :3])                 # non-contiguous
    assert_matches(f, np.asfortranarray(base), base[1])           # Fortran order
    assert_matches(lambda a: a @ a.T, np.asfortranarray(base))


def test_nan_and_inf_propagate():
    x = np.array([0.0, np.nan, -1.0, np.inf, 2.0])
    with np.errstate(all="ignore"):
        assert_matches(lambda v: sf.log(v) * 2 + sf.sqrt(v), x)
    assert np.isnan(sf.compile(lambda v: sf.sum(v))(x))


def test_recompiles_for_new_shapes_and_never_reads_out_of_bounds():
    f = sf.compile(lambda v: v[1:] - v[:-1])
    assert list(f(np.array([1.0, 4.0, 9.0]))) == [3, 5]
    assert list(f(np.array([1.0, 4.0, 9.0, 16.0, 25.0]))) == [3, 5, 7, 9]
    assert len(f._signatures) == 2
    assert f(np.array([1, 4, 9])).dtype == np.int64


def test_source_and_lower_without_running():
    f = sf.compile(lambda a, b: sf.tanh(a @ b))
    exe = f.lower(np.ones((2, 3)), np.ones((3, 4)))
    assert "define void @\"graph\"" in exe.source() and "llvm.rint" in exe.source()  # inline, vectorisable tanh
    assert f.source() == exe.source()


def test_compiled_model_sees_parameter_updates_without_copies():
    m = sf.Dense(4, 3, sf.tanh)
    fast = sf.compile(m)
    x = rng.standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(fast(x), m(x), rtol=1e-6, atol=1e-6)  # sums in another order near 0
    m.W *= 2
    np.testing.assert_allclose(fast(x), m(x), rtol=1e-6, atol=1e-6)
    assert sf.llvm(m)(x).shape == (5, 3)
    with pytest.raises(sf.BackendUnavailable, match="CUDA"):
        sf.cuda(m)(x)
    assert "__global__" in sf.cuda(m).lower(x).source()


def assert_thread_safe(f, inputs, repeats):
    """Calling ``f`` from one thread per input, ``repeats`` times each, gives the serial results."""
    expected = [f(x) for x in inputs]
    results = [None] * len(inputs)

    def work(i):
        for _ in range(repeats):
            results[i] = f(inputs[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r, e in zip(results, expected):
        np.testing.assert_array_equal(r, e)


def test_thread_safety():
    f = sf.compile(lambda a: sf.sum(sf.tanh(a @ a.T), axis=1))
    assert_thread_safe(f, [rng.standard_normal((40, 30)) for _ in range(8)], repeats=20)


def test_corrupt_cache_entries_are_rebuilt(tmp_path):
    from codegen import CPURuntime
    from codegen.cache import DiskCache

    cache = DiskCache(str(tmp_path))
    graph = sf.make_graph(lambda a: sf.exp(a) * 3, np.ones(4))
    exe = Executable(graph.inputs, graph.outputs)
    runtime = CPURuntime(cache)
    first = runtime.load(exe.ir, "graph", 2)
    (entry,) = [os.path.join(d, f) for d, _, fs in os.walk(tmp_path) for f in fs]
    for damage in (lambda b: b[: len(b) // 2], lambda b: b[:40] + bytes(len(b) - 40)):
        with open(entry, "rb") as fh:
            blob = fh.read()
        with open(entry, "wb") as fh:
            fh.write(damage(blob))
        fn = CPURuntime(cache).load(exe.ir, "graph", 2)
        x, out = np.arange(4.0), np.empty(4)
        fn(x.ctypes.data, out.ctypes.data)
        np.testing.assert_allclose(out, np.exp(x) * 3)
    assert first is not None


def test_two_processes_compile_the_same_function_at_once(tmp_path):
    script = ("import numpy as np, symflux as sf\n"
              "f = sf.compile(lambda a: sf.sum(sf.sin(a) ** 2))\n"
              "print(float(f(np.linspace(0, 1, 1000))))\n")
    env = dict(os.environ, SYMFLUX_CACHE_DIR=str(tmp_path))
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs) and outputs[0] == outputs[1]


@settings(max_examples=40, deadline=None)
@given(programs())
def test_random_graphs_match_the_interpreter(program):
    x, out = program
    value = rng.standard_normal((2, 3))
    (expected,) = interp.evaluate([out], {x: value})
    (got,) = Executable([x], [out])([value])
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_temporaries_with_disjoint_lifetimes_share_buffers():
    from codegen.opt.buffers import reuse_buffers
    from codegen.target import cpu
    from symflux.lower import Lowering

    def chain(a):
        for _ in range(4):  # each sum feeds the next contraction: a chain of short-lived temporaries
            a = sf.tanh(a @ a.T) @ a
        return sf.sum(a)

    graph = sf.make_graph(chain, np.ones((6, 6)))
    program = Lowering(graph.inputs, graph.outputs).program
    before = len(program.temps)
    reuse_buffers(program, cpu())
    assert len(program.temps) < before
    x = rng.standard_normal((6, 6)) * 0.3
    np.testing.assert_allclose(sf.compile(chain)(x), chain(x), rtol=1e-12)


@pytest.mark.parametrize("name,fn,ref,domain", [
    ("exp", sf.exp, np.exp, np.linspace(-745, 709, 20001)),
    ("log", sf.log, np.log, np.geomspace(1e-310, 1e300, 20001)),
    ("log1p", sf.log1p, np.log1p, np.concatenate([-np.geomspace(1e-20, 0.999, 2000), np.geomspace(1e-20, 1e6, 2000)])),
    ("expm1", sf.expm1, np.expm1, np.linspace(-40, 40, 20001) + 1e-7),
    ("tanh", sf.tanh, np.tanh, np.concatenate([np.linspace(-20, 20, 20001), np.geomspace(1e-300, 1e-3, 200)])),
    ("sigmoid", sf.sigmoid, lambda v: 1 / (1 + np.exp(-v)), np.linspace(-700, 700, 20001)),
    ("softplus", sf.softplus, lambda v: np.logaddexp(0, v), np.linspace(-700, 700, 20001)),
    # 103993 and 6381956970095103·2^797 lie next to multiples of π/2; beyond 2^40 libm reduces
    ("sin", sf.sin, np.sin, np.concatenate([np.linspace(-1e4, 1e4, 20001), np.geomspace(1e-300, 1e300, 2001),
                                            [103993.0, 6381956970095103 * 2.0**797]])),
    ("cos", sf.cos, np.cos, np.concatenate([np.linspace(-1e4, 1e4, 20001), -np.geomspace(1e-300, 1e300, 2001)])),
    ("tan", sf.tan, np.tan, np.concatenate([np.linspace(-1e4, 1e4, 20001), np.geomspace(1e-300, 1e300, 2001)])),
    ("arctan", sf.arctan, np.arctan, np.concatenate([np.linspace(-50, 50, 20001), np.geomspace(1e-300, 1e300, 2001)])),
    ("arcsin", sf.arcsin, np.arcsin, np.concatenate([np.linspace(-1.1, 1.1, 20001), 1 - np.geomspace(1e-16, 1, 2001)])),
    ("arccos", sf.arccos, np.arccos, np.concatenate([np.linspace(-1.1, 1.1, 20001), 1 - np.geomspace(1e-16, 1, 2001),
                                                     np.geomspace(1e-16, 1, 2001) - 1])),
    ("sinh", sf.sinh, np.sinh, np.concatenate([np.linspace(-711, 711, 20001), np.geomspace(1e-300, 1, 2001)])),
    ("cosh", sf.cosh, np.cosh, np.linspace(-711, 711, 20001)),
])
def test_inline_transcendentals_are_accurate(name, fn, ref, domain):
    """exp, log, tanh, sin, atan, … are inline (vectorisable) code, accurate to a few ulp, with IEEE
    special values and the sign of zero."""
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan])
    x = np.concatenate([domain, specials])
    with np.errstate(all="ignore"):
        got, expected = sf.compile(lambda v: fn(v))(x), ref(x)
        np.testing.assert_allclose(got, expected, rtol=2e-15, atol=1e-300)
        zeros = x == 0
        assert np.array_equal(np.signbit(got[zeros]), np.signbit(expected[zeros]))
        np.testing.assert_allclose(sf.compile(lambda v: fn(v))(x.astype(np.float32)), ref(x.astype(np.float32)),
                                   rtol=2e-6, atol=1e-37)


def test_outputs_written_over_inputs_read_every_input_before_it_is_overwritten():
    """new_a = a + 1 may go straight over a, but new_b reads a (at another index): it must see the
    old a, and the arguments that share memory are not declared noalias to LLVM."""
    graph = sf.make_graph(lambda a, b: (a + 1, b + sf.flip(a, axis=0) * 2), np.ones(5), np.ones(5))
    exe = Executable(graph.inputs, graph.outputs, donate=(0, 1))
    a, b = np.arange(5.0), np.full(5, 10.0)
    expected_a, expected_b = a + 1, b + a[::-1] * 2
    exe([a, b])
    np.testing.assert_array_equal(a, expected_a)
    np.testing.assert_array_equal(b, expected_b)
    assert "noalias" not in exe.source().split("define void @\"graph\"(")[1].split(")")[0]


def test_donated_arguments_are_updated_in_place():
    w, x = np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.5, 0.5])
    step = sf.compile(lambda w, x: (w - 0.1 * sf.grad(lambda u: sf.sum((u * x) ** 2))(w), sf.sum(w)),
                      donate_argnums=0)
    expected = w - 0.1 * 2 * w * x**2
    new, total = step(w, x)
    np.testing.assert_allclose(w, expected)  # the donated array holds the result
    assert np.shares_memory(new, w) and total == 6.0
    kept = np.array([1.0, 2.0, 3.0])
    sf.compile(lambda w, x: w * x)(kept, x)
    np.testing.assert_array_equal(kept, [1.0, 2.0, 3.0])  # not donated: untouched


def test_repeated_layers_share_their_kernels():
    """Each hidden layer of a deep model is the same loop nest over other buffers: it is rendered
    and compiled once (a kernel function called per layer), so the IR does not grow with depth."""
    import re

    def gradient_ir(extra):
        model = sf.Chain(sf.Dense(20, 16, sf.tanh), *[sf.Dense(16, 16, sf.tanh) for _ in range(extra)], sf.Dense(16, 3))
        x, y = rng.random((8, 20)).astype(np.float32), np.eye(3, dtype=np.float32)[rng.integers(0, 3, 8)]
        loss = lambda x, y: sf.logitcrossentropy(model(x), y)
        f = sf.compile(lambda x, y: sf.gradient(lambda: loss(x, y), sf.params(model)))
        got = f(x, y)
        want = sf.gradient(lambda: loss(x, y), sf.params(model))
        for p in sf.params(model):
            np.testing.assert_allclose(got[p], want[p], rtol=1e-4, atol=1e-6)
        ir = f.lower(x, y).source()
        count = lambda pattern: len(re.findall(pattern, ir))
        return count(r'define internal void @"graph\.kernel'), count(r'call void @"graph\.kernel')
    (shallow, shallow_calls), (deep, deep_calls) = gradient_ir(1), gradient_ir(6)
    assert deep == shallow and deep_calls > shallow_calls


@pytest.mark.parametrize("sl", [slice(None, None, -1), slice(None, None, -2), slice(1, 9, 3), slice(-1, 0, -1),
                                slice(10, 2, -3), slice(0, 11, 1), slice(3, None, 2), slice(None, 4), slice(5, 6),
                                slice(2, 9, 4), slice(9, None, -4), slice(None, None, 5)])
def test_the_gradient_of_a_strided_slice_lands_where_the_slice_read(sl):
    """The gradient scatters into the slice's positions (unslice); the bounds it checks are decided
    from the extents, so every kind of start, stop and step is run compiled against NumPy."""
    x = rng.standard_normal(11)
    weights = np.arange(len(range(*sl.indices(11))), dtype=float)
    got = sf.compile(lambda v: sf.gradient(lambda u: sf.sum(sf.sin(u[sl]) * weights), v)[0])(x)
    expected = np.zeros(11)
    expected[np.arange(11)[sl]] = np.cos(x[sl]) * weights
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)


def _evaluated_index(expr, env):
    expr = sympy.sympify(expr).xreplace(env)
    return int(expr.replace(idiv, lambda a, b: sympy.Integer(int(a) // int(b)))
               .replace(imod, lambda a, b: sympy.Integer(int(a) % int(b))))


@pytest.mark.parametrize("shape,arg_shape", [((4, 6), (2, 2, 6)), ((2, 12), (2, 3, 2, 2)), ((6, 4), (4, 6)),
                                             ((3, 1, 4), (12,)), ((12,), (3, 4)), ((2, 3, 2, 2), (2, 12)),
                                             ((5,), (1, 5, 1)), ((2, 0), (0, 3))])
def test_a_reshape_reads_each_axis_as_a_digit_of_the_flat_offset(shape, arg_shape):
    v = [sympy.Symbol(f"v{k}", integer=True, nonnegative=True) for k in range(len(shape))]
    index = _unraveled(v, shape, arg_shape)
    if shape and shape[0]:  # a constant index folds (found by the fuzzer: idiv(0, 3) in a clamp)
        fixed = _unraveled([sympy.Integer(shape[0] - 1)] + v[1:], shape, arg_shape)
        assert not any(e.has(idiv, imod) and not e.free_symbols for e in map(sympy.sympify, fixed))
    for at in np.ndindex(*shape):
        env = {s: sympy.Integer(i) for s, i in zip(v, at)}
        assert tuple(_evaluated_index(e, env) for e in index) == \
            np.unravel_index(np.ravel_multi_index(at, shape), arg_shape)


def test_a_reshape_that_merges_or_splits_axes_divides_nothing():
    a, b, c, d = (sympy.Symbol(s, integer=True, nonnegative=True) for s in "abcd")
    assert _unraveled([a, b, c, d], (64, 6, 12, 12), (64, 864)) == [a, 144 * b + 12 * c + d]
    assert _unraveled([a, b], (64, 864), (64, 6, 12, 12)) == [a, idiv(b, 144), imod(idiv(b, 12), 12), imod(b, 12)]
    x = rng.standard_normal((4, 2, 3, 3))
    f = sf.compile(lambda x: sf.reshape(sf.reshape(sf.tanh(x), (4, 18)) * 2, (4, 2, 3, 3)) + 1)
    np.testing.assert_allclose(f(x), np.tanh(x) * 2 + 1, rtol=1e-12)
