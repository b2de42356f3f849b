"""The CUDA backend end to end: every op, its gradient, models and training steps, run as CUDA
kernels and checked against the reference interpreter and the CPU backend.

Each test runs twice: on the CUDA emulator (the same kernels on CPU threads: always) and on a
real GPU through pycuda (skipped cleanly without pycuda or a GPU)."""

import pathlib
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "symflux"))
from test_compile import assert_thread_safe, with_gradient  # noqa: E402
from test_vjp_rules import BINARY, CONTRACTIONS, MOVEMENT, REDUCTIONS, UNARY  # noqa: E402

import symflux as sf  # noqa: E402
from codegen.cache import DiskCache  # noqa: E402
from codegen.runtime import cuda as runtime  # noqa: E402

rng = np.random.default_rng(11)


def _gpu_available() -> bool:
    try:
        runtime.PyCUDADriver()
    except runtime.BackendUnavailable:
        return False
    return True


@pytest.fixture(params=["emulator", "gpu"], scope="module")
def device(request):
    """Selects the driver behind sf.gpu / backend="cuda" for the module's tests."""
    runtime.reset_default_cuda_runtime()
    saved = runtime.os.environ.get("SYMFLUX_CUDA_EMULATE")
    if request.param == "gpu":
        if not _gpu_available():
            pytest.skip("no CUDA GPU with pycuda on this machine")
        runtime.os.environ.pop("SYMFLUX_CUDA_EMULATE", None)
    else:
        runtime.os.environ["SYMFLUX_CUDA_EMULATE"] = "1"
    yield request.param
    runtime.reset_default_cuda_runtime()
    if saved is None:
        runtime.os.environ.pop("SYMFLUX_CUDA_EMULATE", None)
    else:
        runtime.os.environ["SYMFLUX_CUDA_EMULATE"] = saved


def check_family(cases, rtol, atol=1e-12):
    """One compiled program for a whole family of ops (each with its gradient): compiling per op
    would dominate the emulator's time. ``cases``: (name, f, args)."""
    fns = [f for _, f, _ in cases]
    args = [a for _, _, a in cases]
    joint = lambda *flat: tuple(fns[k](*flat[_offsets(args)[k]:_offsets(args)[k + 1]]) for k in range(len(fns)))
    flat = [a for group in args for a in group]
    got = sf.compile(joint, backend="cuda")(*flat)
    want = joint(*flat)
    for (name, _, _), g, w in zip(cases, got, want):
        for k, (gk, wk) in enumerate(zip(g, w)):
            np.testing.assert_allclose(np.asarray(gk), np.asarray(wk), rtol=rtol, atol=atol,
                                       err_msg=f"{name}, output {k}")


def _offsets(args):
    return np.cumsum([0] + [len(a) for a in args])


def test_unary_ops_and_gradients(device):
    check_family([(n, with_gradient(UNARY[n][0], 1), (UNARY[n][2]((3, 4)),)) for n in sorted(UNARY)], 1e-12)


def test_binary_ops_and_gradients(device):
    check_family([(n, with_gradient(op, 2), (sa((2, 3)), sb((3,)))) for n, (op, _, sa, sb) in BINARY.items()], 1e-12)


def test_reductions_contractions_and_movement(device):
    cases = [(n, with_gradient(op, 1), (rng.standard_normal((2, 3, 4)),)) for n, op, _ in REDUCTIONS]
    cases += [(n, with_gradient(op, 2), (rng.standard_normal(sa), rng.standard_normal(sb)))
              for n, op, sa, sb, _ in CONTRACTIONS]
    cases += [(n, with_gradient(op, 1), (rng.standard_normal((2, 3, 4)),)) for n, op, _ in MOVEMENT]
    check_family(cases, 1e-12)


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 1e-4)])
def test_tiled_matrix_multiply_with_epilogue(device, dtype, rtol):
    a = rng.standard_normal((530, 70)).astype(dtype)  # 530×520 outputs: the shared-memory tiles, ragged edges
    b = rng.standard_normal((70, 520)).astype(dtype)
    f = lambda a, b: sf.tanh(a @ b) + 1
    exe = sf.compile(f, backend="cuda")
    assert "a_tile" in exe.lower(a, b).source()
    np.testing.assert_allclose(exe(a, b), f(a, b), rtol=rtol, atol=rtol)
    g = lambda a, b: sf.einsum("zik,zkj->zji", a, b)  # batched, the output transposed
    x, y = rng.standard_normal((2, 300, 40)).astype(dtype), rng.standard_normal((2, 40, 600)).astype(dtype)
    np.testing.assert_allclose(sf.compile(g, backend="cuda")(x, y), g(x, y), rtol=rtol, atol=rtol)


def test_block_and_warp_reductions(device):
    x = rng.standard_normal((3, 20000))
    f = lambda x: (sf.sum(x, axis=1), sf.max(x, axis=1), sf.sum(x ** 2), sf.logsumexp(x[:, :100], axis=1))
    exe = sf.compile(f, backend="cuda")
    assert "__shfl_down_sync" in exe.lower(x).source() and "__syncthreads" in exe.lower(x).source()
    for got, want in zip(exe(x), f(x)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    x[1, 7] = np.nan
    assert np.isnan(exe(x)[1][1]) and not np.isnan(exe(x)[1][0])


def test_a_second_emulator_in_one_process_runs_every_thread(device, monkeypatch):
    """A new emulator driver (after the runtime is chosen again) loaded a second copy of its support
    library; kernels read thread indices from the first copy, so every thread computed element 0."""
    if device != "emulator":
        pytest.skip("the emulator's own state")
    x = rng.standard_normal(7)
    sf.compile(lambda v: sf.tanh(v) + 1, backend="cuda")(x)
    runtime.reset_default_cuda_runtime()
    np.testing.assert_allclose(sf.compile(lambda v: sf.tanh(v) * 3, backend="cuda")(x), np.tanh(x) * 3, rtol=1e-14)


def test_float32_softmax_is_stable(device):
    x = (rng.standard_normal((4, 3000)) * 50).astype(np.float32)
    x[0, 0] = 1e4
    got = sf.compile(sf.softmax, backend="cuda")(x)
    assert got.dtype == np.float32 and np.isfinite(got).all()
    np.testing.assert_allclose(got, sf.softmax(x), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("width", [1000, 5000])  # a warp per row, then a block per row
def test_softmax_rows_are_one_kernel_of_phases(device, width):
    """Row max, sum of exponentials and the normalised row run in one kernel, the team of threads
    synchronised between phases; so does log-sum-exp, and the results match the CPU."""
    x = rng.standard_normal((7, width)) * 10
    x[3, 5] = np.inf
    softmax = sf.compile(lambda a: sf.softmax(a, axis=1), backend="cuda")
    assert len(softmax.lower(x).module.launches) == 1
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(softmax(x), sf.compile(lambda a: sf.softmax(a, axis=1))(x), rtol=1e-12)
    f = lambda a: (sf.logsumexp(a, axis=1), sf.gradient(lambda b: sf.sum(sf.logsumexp(b, axis=1) ** 2), a)[0])
    x[3, 5] = 0.0
    for got, want in zip(sf.compile(f, backend="cuda")(x), sf.compile(f)(x)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)


def test_convolution_gradients_use_atomics(device):
    m = sf.Chain(sf.Conv((3, 3), (2, 3), sf.relu, pad=1, stride=2), sf.MaxPool((2, 2)), sf.flatten, sf.Dense(12, 4))
    x = rng.standard_normal((2, 2, 8, 8)).astype(np.float32)
    f = lambda x: (m(x), sf.gradient(lambda x: sf.sum(sf.sin(m(x))), x)[0], *sf.gradient(lambda: sf.sum(m(x)),
                                                                                           sf.params(m)).values())
    exe = sf.compile(f, backend="cuda")
    assert "atomicAdd" in exe.lower(x).source()
    for got, want in zip(exe(x), f(x)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_odd_shapes_nan_and_inf(device):
    f = lambda a, b: (a * b + 1, sf.sum(a, axis=0), sf.exp(a))
    for shape in [(0, 3), (1, 1), (1, 3), (5, 1)]:
        a, b = rng.standard_normal(shape), rng.standard_normal(shape[-1:])
        for got, want in zip(sf.compile(f, backend="cuda")(a, b), f(a, b)):
            np.testing.assert_allclose(got, want, rtol=1e-12)
    a = np.array([[np.nan, np.inf, -np.inf, 1.0]])
    for got, want in zip(sf.compile(f, backend="cuda")(a, np.ones(4)), f(a, np.ones(4))):
        np.testing.assert_array_equal(got, want)
    fortran = np.asfortranarray(rng.standard_normal((3, 4)))
    np.testing.assert_allclose(sf.compile(sf.transpose, backend="cuda")(fortran[:, ::2]), fortran[:, ::2].T)


def test_dividing_by_a_kinked_function_at_its_zero_gives_infinities(device):
    """SymPy took 1/relu(x) in relu's branches, 1/0 = zoo (no sign), which compiled to NaN."""
    f = lambda x: (1 / sf.relu(x), x / sf.where(x > 0, 1.0, 0.0), sf.where(sf.relu(-x) / sf.relu(x) > 1, x, 2 * x))
    x = np.array([0.0, -1.0, 2.0, -0.0, np.nan, np.inf, -np.inf])
    with np.errstate(all="ignore"):
        for got, want in zip(sf.compile(f, backend="cuda")(x), f(x)):
            np.testing.assert_array_equal(got, want)


def test_arrays_and_models_move_between_host_and_gpu(device):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    xg = sf.gpu(x)
    assert isinstance(xg, sf.GPUArray) and xg.shape == (4, 3) and xg.dtype == np.float32
    np.testing.assert_array_equal(sf.cpu(xg), x)
    m = sf.Chain(sf.Dense(3, 5, sf.tanh), sf.Dense(5, 2), sf.softmax)
    mg = sf.gpu(m)
    assert all(isinstance(p, sf.GPUArray) for p in sf.params(mg)) and len(sf.params(mg)) == 4
    out = sf.cuda(mg)(xg)  # inputs on the GPU: the result stays there
    assert isinstance(out, sf.GPUArray)
    np.testing.assert_allclose(sf.cpu(out), m(x), rtol=1e-5)
    np.testing.assert_allclose(sf.cuda(m)(x), m(x), rtol=1e-5)  # host in, host out
    back = sf.cpu(mg)
    np.testing.assert_array_equal(back[0].W, m[0].W)
    assert "gpu(" in repr(xg) and float(sf.gpu(np.float32(2.5))) == 2.5


@pytest.mark.parametrize("opt", [lambda: sf.Descent(0.1), lambda: sf.ADAM(0.01), lambda: sf.Momentum(0.05)])
def test_training_step_on_the_gpu_matches_the_cpu(device, opt):
    model = sf.Chain(sf.Dense(6, 8, sf.relu), sf.Dense(8, 3))
    x = rng.standard_normal((16, 6)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 16)]
    on_gpu = sf.gpu(model)
    gpu_step = sf.train_step(lambda x, y: sf.logitcrossentropy(on_gpu(x), y), sf.params(on_gpu), opt(),
                             backend="cuda")
    cpu_step = sf.train_step(lambda x, y: sf.logitcrossentropy(model(x), y), sf.params(model), opt())
    xg, yg = sf.gpu(x), sf.gpu(y)
    for _ in range(5):
        np.testing.assert_allclose(gpu_step(xg, yg), cpu_step(x, y), rtol=1e-5)
    for p, q in zip(sf.params(sf.cpu(on_gpu)), sf.params(model)):
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-6)


def test_training_step_updates_host_parameters_in_place(device):
    W, b = sf.zeros(2, 5), sf.zeros(2)
    x, y = rng.standard_normal((10, 5)), rng.standard_normal((10, 2))
    step = sf.train_step(lambda x, y: sf.mse(x @ W.T + b, y), sf.params(W, b), sf.Descent(0.1), backend="cuda")
    losses = [step(x, y) for _ in range(20)]
    assert losses[-1] < losses[0] and np.abs(W).sum() > 0


def test_compiled_functions_are_thread_safe(device):
    f = sf.compile(lambda a: sf.sum(sf.tanh(a @ a.T), axis=1), backend="cuda")
    assert_thread_safe(f, [rng.standard_normal((20, 30)) for _ in range(6)], repeats=1)


def test_wrong_shapes_recompile_and_gpu_dtype_mismatch_is_named(device):
    f = sf.compile(lambda a: a * 2, backend="cuda")
    np.testing.assert_array_equal(f(np.ones(3)), 2 * np.ones(3))
    np.testing.assert_array_equal(f(np.ones((2, 2))), 2 * np.ones((2, 2)))
    exe = f.lower(np.ones(3))
    with pytest.raises(ValueError, match=r"shape \(3,\).*GPUArray of shape \(4,\)"):
        exe([sf.gpu(np.ones(4))])


def test_damaged_kernel_cache_entries_are_rebuilt(device, tmp_path):
    cache = DiskCache(str(tmp_path))
    driver = runtime.default_cuda_runtime().driver
    saved, driver.cache = driver.cache, cache
    try:
        f = lambda a: sf.cos(a) * 3
        sf.compile(f, backend="cuda")(np.ones(5))
        for entry in tmp_path.rglob("*.o"):
            entry.write_bytes(entry.read_bytes()[:40])  # half-written
        np.testing.assert_allclose(sf.compile(f, backend="cuda")(np.ones(5)), np.cos(np.ones(5)) * 3)
    finally:
        driver.cache = saved


def test_without_a_gpu_runtime_the_error_says_what_is_missing(monkeypatch):
    if _gpu_available():
        pytest.skip("this machine has a GPU runtime")
    monkeypatch.delenv("SYMFLUX_CUDA_EMULATE", raising=False)
    runtime.reset_default_cuda_runtime()
    m = sf.Dense(3, 2)
    x = np.ones((1, 3), np.float32)
    with pytest.raises(sf.BackendUnavailable, match="pycuda|GPU"):
        sf.cuda(m)(x)
    with pytest.raises(sf.BackendUnavailable, match="SYMFLUX_CUDA_EMULATE"):
        sf.gpu(x)
    assert "__global__" in sf.cuda(m).lower(x).source()  # source generation needs no GPU
    np.testing.assert_allclose(sf.llvm(m)(x), m(x), rtol=1e-6)  # the CPU keeps working
    runtime.reset_default_cuda_runtime()


@pytest.mark.parametrize("dtype", [np.float64, np.int32], ids=["float64", "int32"])
def test_op_table_special_values_against_numpy(device, dtype):
    """Every elementwise op of the op table (tests/optable.py) on its special values, as CUDA
    kernels, against NumPy: one program for all of them (compiling per op would dominate)."""
    from optable import OPS, assert_numpy_equal, samples
    cases = []
    for op in [op for op in OPS if dtype in op.dtypes]:
        _, args = next(samples(dtype, op.arity))
        if op.domain is not None:
            keep = op.domain(*args)
            args = tuple(a[keep] for a in args)
        cases.append((op, args))
    flat = [a for _, args in cases for a in args]
    bounds = np.cumsum([0] + [len(args) for _, args in cases])
    joint = lambda *xs: tuple(op.op(*xs[bounds[k]:bounds[k + 1]]) for k, (op, _) in enumerate(cases))
    with np.errstate(all="ignore"):
        got = sf.compile(joint, backend="cuda")(*flat)
        for (op, args), g in zip(cases, got):
            assert_numpy_equal(sf.cpu(g), op.reference(*args), op.rtol, f"{op.name} {device}", op.rtol32)


def test_mixed_integer_types_compute_in_numpys_result_type(device):
    """int32 − uint32 and int32 > uint32 in int64, as NumPy (C computed and compared them unsigned)."""
    x, y = np.array([-3, 0, 1, 5], np.int32), np.array([0, 1, 3, 200], np.uint32)
    for f in (lambda u, v: u - v, lambda u, v: u * 2 - v + 1, lambda u, v: u > v, lambda u, v: sf.where(u > v, u, v)):
        got, want = np.asarray(sf.compile(f, backend="cuda")(x, y)), f(x, y)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    wide, huge = np.array([-3, 2**62, 5], np.int64), np.array([0, 2**63 + 5, 5], np.uint64)  # exact, as NumPy
    np.testing.assert_array_equal(sf.compile(lambda u, v: u > v, backend="cuda")(wide, huge), wide > huge)


def test_bitwise_ops_and_shifts_past_the_width(device):
    """&, |, ^, ~, << and >> of integers in their own type, shifts past the width as NumPy's."""
    for dtype in (np.int8, np.uint8, np.int64, np.uint64):
        x = np.array([1, 2, 3, -7 if np.dtype(dtype).kind == "i" else 250], dtype)
        n = np.array([0, 1, 9, 70], dtype)
        f = lambda u, v: (u & v, u | 4, u ^ v, ~u, u << v, u >> v, (u > 1) & (v < 9))
        for got, want in zip(sf.compile(f, backend="cuda")(x, n), f(x, n)):
            assert np.asarray(got).dtype == want.dtype
            np.testing.assert_array_equal(got, want)


def test_gathers_with_traced_indices_and_their_scatters(device):
    """x[arange, labels] and take_along_axis of argsort: positions read from a buffer inside another
    load's index, and the gradient's scatter of them (atomics) as CUDA kernels."""
    rng = np.random.default_rng(3)
    x, w, labels = rng.standard_normal((5, 4)), rng.standard_normal((5, 4)), np.array([3, 0, 2, 2, 1])
    f = lambda a, i: sf.sum(a * a[np.arange(5), i][:, None] * w) + sf.sum(
        sf.take_along_axis(a, sf.argsort(a, axis=1), 1) * w)
    gradient = sf.grad(f)
    compiled = sf.compile(lambda a, i: (f(a, i), gradient(a, i)), backend="cuda")
    value, grad = compiled(x, labels)
    np.testing.assert_allclose(value, f(x, labels), rtol=1e-12)
    np.testing.assert_allclose(grad, gradient(x, labels), rtol=1e-12)
