"""The NumPy surface beyond the core ops: first, second and third derivatives against finite
differences and PyTorch (where it has the function), through NumPy's own names."""

import os

import numpy as np
import pytest
from gradcheck import check_all_orders, torch

import symflux as sf

T = torch
rng = np.random.default_rng(23)


def spread(shape):
    """Distinct values away from zero (no ties for sorting, no kinks)."""
    return rng.permutation(np.linspace(0.3, 2.0, int(np.prod(shape)))).reshape(shape) * rng.choice([-1, 1], shape)


def positive(shape):
    return rng.uniform(0.5, 1.5, shape)


# name: (function of NumPy arrays, torch function or None, input shapes/samplers)
UNARY = {
    "cumsum": (lambda x: np.cumsum(x, axis=1), lambda x: T.cumsum(x, 1)),
    "cumsum flat": (lambda x: np.cumsum(x), lambda x: T.cumsum(x.reshape(-1), 0)),
    "cumprod": (lambda x: np.cumprod(x, axis=0), lambda x: T.cumprod(x, 0)),
    "diff": (lambda x: np.diff(x, axis=1), lambda x: T.diff(x, dim=1)),
    "diff n=2 prepend": (lambda x: np.diff(x, 2, axis=0, prepend=1.0), None),
    "diagonal": (lambda x: np.diagonal(x, 1), lambda x: T.diagonal(x, 1)),
    "diag": (lambda x: np.diag(x[0], -1), lambda x: T.diag(x[0], -1)),
    "trace": (lambda x: np.trace(x[:, :3]), lambda x: T.trace(x[:, :3])),
    "tril": (lambda x: np.tril(x, 1), lambda x: T.tril(x, 1)),
    "triu": (lambda x: np.triu(x), lambda x: T.triu(x)),
    "rot90": (lambda x: np.rot90(x, 3), lambda x: T.rot90(x, 3)),
    "roll": (lambda x: np.roll(x, (1, -2), axis=(0, 1)), lambda x: T.roll(x, (1, -2), (0, 1))),
    "tile": (lambda x: np.tile(x, (2, 1, 2)), lambda x: x.repeat(2, 1, 2)),
    "repeat": (lambda x: np.repeat(x, [2, 0, 1], axis=0), lambda x: T.repeat_interleave(x, T.tensor([2, 0, 1]), 0)),
    "pad reflect": (lambda x: np.pad(x, ((1, 2), (2, 0)), mode="reflect"), None),
    "pad constant": (lambda x: np.pad(x, 1, constant_values=3.0),
                     lambda x: T.nn.functional.pad(x, (1, 1, 1, 1), value=3.0)),
    "sort": (lambda x: np.sort(x, axis=1), lambda x: T.sort(x, 1)[0]),
    "sort flat": (lambda x: np.sort(x, axis=None), lambda x: T.sort(x.reshape(-1))[0]),
    "kron": (lambda x: np.kron(x, x[:2, :2]), lambda x: T.kron(x, x[:2, :2])),
    "cross": (lambda x: np.cross(x[:, :3], x[:, 1:]), lambda x: T.cross(x[:, :3], x[:, 1:], dim=1)),
    "take": (lambda x: np.take(x, [[0, 5], [11, 3]]), lambda x: x.reshape(-1)[T.tensor([[0, 5], [11, 3]])]),
    "take_along_axis": (lambda x: np.take_along_axis(x, np.array([[2, 0], [1, 1], [3, 3]]), 1),
                        lambda x: T.gather(x, 1, T.tensor([[2, 0], [1, 1], [3, 3]]))),
    "einsum 3 operands": (lambda x: np.einsum("ij,jk,kl->il", x, x.T, x),
                          lambda x: T.einsum("ij,jk,kl->il", x, x.T, x)),
    "einsum ellipsis": (lambda x: np.einsum("...i,...i->...", x, x), lambda x: T.einsum("...i,...i->...", x, x)),
    "einsum trace": (lambda x: np.einsum("ii", x[:, :3]), lambda x: T.einsum("ii", x[:, :3])),
    "einsum sublist": (lambda x: np.einsum(x, [0, 1], x, [2, 1], [0, 2]), lambda x: x @ x.T),
    "sinc": (lambda x: np.sinc(x), lambda x: T.sinc(x)),
    "deg2rad": (lambda x: np.deg2rad(x), lambda x: T.deg2rad(x)),
    "select": (lambda x: np.select([x > 1, x < -1], [x**2, x * 3], 0.5), None),
    "linspace": (lambda x: np.linspace(x[0, 0], x[1, 1], 4), None),
    "stacks": (lambda x: np.hstack([np.vstack([x, x[0]]), np.dstack([x, x])[..., 1].T[:4]]), None),
    "split": (lambda x: np.split(x, 2, axis=1)[1] * np.array_split(x, 3, axis=1)[0][:, :2], None),
    "sf.array of traced": (lambda x: sf.array([[x[0, 0], x[1, 2]], [x[2, 3], 1.0]]), None),
    "median": (lambda x: np.median(x, axis=1), None),  # torch.median takes the lower middle value
    "median odd, flat": (lambda x: np.median(x[:, :3]), lambda x: T.median(x[:, :3])),
    "quantile": (lambda x: np.quantile(x, [0.3, 0.75], axis=0), lambda x: T.quantile(x, T.tensor([0.3, 0.75]), 0)),
    "percentile nearest": (lambda x: np.percentile(x, 40, axis=1, method="nearest"), None),
    "average weights": (lambda x: np.average(x, axis=1, weights=np.array([1.0, 2, 3, 4])),
                        lambda x: (x * T.tensor([1.0, 2, 3, 4])).sum(1) / 10),
    "ptp": (lambda x: np.ptp(x, axis=0), lambda x: T.amax(x, 0) - T.amin(x, 0)),
    "sum where, initial": (lambda x: np.sum(x, axis=1, where=np.array([1, 0, 1, 1], bool), initial=2.0), None),
    "prod where": (lambda x: np.prod(x, axis=1, where=np.array([1, 0, 1, 1], bool)), None),
    "max where, initial": (lambda x: np.max(x, axis=0, where=np.array([[1], [0], [1]], bool), initial=-5.0), None),
    "mean where": (lambda x: np.mean(x, axis=1, where=np.array([1, 1, 0, 1], bool)), None),
    "var where, ddof": (lambda x: np.var(x, axis=1, where=np.array([1, 1, 0, 1], bool), ddof=1), None),
    "std correction": (lambda x: np.std(x, axis=0, correction=1), lambda x: T.std(x, 0, correction=1)),
    "convolve": (lambda x: np.convolve(x[0], x[1, :3]), None),
    "correlate same": (lambda x: np.correlate(x[0], x[2], "same"), None),
    "trapezoid": (lambda x: np.trapezoid(x, axis=0), lambda x: T.trapezoid(x, dim=0)),
    "trapezoid x": (lambda x: np.trapezoid(x[1:], x[0]), None),
    "interp": (lambda x: np.interp(x[:2] * 0.5, [-1.1, -0.2, 0.4, 1.5], x[2]), None),  # no x at a knot
    "polyval": (lambda x: np.polyval(x[0], x[1:]), None),
    "cov": (lambda x: np.cov(x), lambda x: T.cov(x)),
    "corrcoef": (lambda x: np.corrcoef(x), lambda x: T.corrcoef(x)),
    "copysign": (lambda x: np.copysign(x, x[::-1]), lambda x: T.copysign(x, x.flip(0))),
    "vander": (lambda x: np.vander(x[0], 3), None),
    "meshgrid": (lambda x: np.stack(np.meshgrid(x[0], x[1, :2])), None),
    "piecewise": (lambda x: np.piecewise(x, [x < -0.5, x > 0.5], [lambda v: v**2, lambda v: np.sin(v), 0.1]), None),
    "apply_along_axis": (lambda x: np.apply_along_axis(lambda r: r[:2] * r[-1], 1, x), None),
    "choose": (lambda x: np.choose(np.array([[0, 1, 2, 1]] * 3), [x, x**2, np.exp(x)]), None),
    "delete, compress": (lambda x: np.delete(x, [1], axis=1) * np.compress([1, 1, 0, 1], x, axis=1), None),
    "resize": (lambda x: np.resize(x, (5, 3)), None),
    "polyder, polyint": (lambda x: np.polyval(np.polyder(x[0], 1), x[1]) + np.polyint(x[2])[1:], None),
    "ldexp": (lambda x: np.ldexp(x, np.array([1, -2, 0, 3])), None),  # torch's 2**-2 of int64 is 0
    "moveaxis several": (lambda x: np.moveaxis(x[None], (0, 1), (-1, 0)),
                         lambda x: T.movedim(x[None], (0, 1), (-1, 0))),
    "nanquantile": (lambda x: np.nanquantile(x, [0.3, 0.8], axis=1),
                    lambda x: T.nanquantile(x, T.tensor([0.3, 0.8]), 1)),
    "nanmedian": (lambda x: np.nanmedian(x, axis=0), lambda x: T.nanmedian(x, 0)[0]),
    "np.gradient": (lambda x: np.gradient(x, [0.0, 1, 3, 4.5], axis=1) + np.gradient(x, 0.5, axis=0, edge_order=2),
                    None),
    "unwrap": (lambda x: np.unwrap(x * 3), None),
    "polyfit": (lambda x: np.polyfit(np.array([0.0, 1, 3, 4.5]), x.T, 2), None),
    "polymul, polyadd": (lambda x: np.polymul(x[0], x[1]) + np.polyadd(x[2], x[1, :2])[0], None),
    "insert": (lambda x: np.insert(x, [1, 3], x[0, :2], axis=1), None),
    "block": (lambda x: np.block([[x, x[:, :1]], [x[:1], x[:1, :1]]]), None),
    "cumulative_sum": (lambda x: np.cumulative_sum(x, axis=1, include_initial=True),
                       lambda x: T.cat([T.zeros(3, 1, dtype=x.dtype), T.cumsum(x, 1)], 1)),
    "matvec, vecmat": (lambda x: np.matvec(x, x[0]) + np.vecmat(x[:, 1], x)[:3],
                       lambda x: x @ x[0] + (x[:, 1] @ x)[:3]),
    "multi_dot": (lambda x: np.linalg.multi_dot([x[0], x.T, x]), lambda x: T.linalg.multi_dot([x[0], x.T, x])),
    "vector_norm": (lambda x: np.linalg.vector_norm(x, axis=1, ord=3), lambda x: T.linalg.vector_norm(x, 3, dim=1)),
    "cond": (lambda x: np.linalg.cond(x[:, :3]), lambda x: T.linalg.cond(x[:, :3])),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name):
    f, ref = UNARY[name]
    check_all_orders(f, ref if T else None, spread((3, 4)), third=name not in ("cumprod",))


BINARY = {
    "hypot": (np.hypot, lambda a, b: T.hypot(a, b), spread, spread),
    "logaddexp": (np.logaddexp, lambda a, b: T.logaddexp(a, b), spread, spread),
    "logaddexp2": (np.logaddexp2, lambda a, b: T.logaddexp2(a, b), spread, spread),
    "fmod": (np.fmod, lambda a, b: T.fmod(a, b), lambda s: spread(s) * 0.2, lambda s: positive(s) + 0.2),
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary(name):
    f, ref, sample_a, sample_b = BINARY[name]
    check_all_orders(f, ref if T else None, sample_a((3, 4)), sample_b((3, 4)))


@pytest.mark.parametrize("dtype", [np.uint64, np.int64, np.uint8, np.bool_])
def test_sorting_keeps_integers_exact_at_their_extremes(dtype):
    """Sorted integers were placed through a float64 sum (2⁶⁴ − 1 came back 0)."""
    info = np.iinfo(dtype) if dtype != np.bool_ else None
    x = np.array([info.max, 5, info.max // 2 + 7, info.min, 0] if info else [True, False, True, False], dtype)
    for run in (lambda f: f(x), lambda f: sf.compile(f)(x), lambda f: sf.compile(f, backend="interpreter")(x)):
        np.testing.assert_array_equal(run(np.sort), np.sort(x))
        np.testing.assert_array_equal(run(np.median), np.median(x))
        np.testing.assert_array_equal(run(lambda v: np.quantile(v, [0, 1], method="nearest")),
                                      np.quantile(x, [0, 1], method="nearest"))


def test_sort_routes_gradients_and_indices_have_none():
    x = np.array([3.0, 1.0, 2.0, 1.0])
    (g,) = sf.gradient(lambda v: sf.sum(np.sort(v) * np.array([1.0, 10.0, 100.0, 1000.0])), x)
    np.testing.assert_array_equal(g, [1000.0, 1.0, 100.0, 10.0])  # stable: the first 1.0 sorts first
    assert sf.compile(np.argsort)(x).tolist() == [1, 3, 2, 0]
    assert sf.compile(lambda v: np.argmax(v))(np.array([1.0, np.nan, 5.0])) == 1  # the first NaN, as NumPy
    assert sf.compile(lambda v: np.sort(v))(np.array([2.0, np.nan, -1.0])).tolist()[:2] == [-1.0, 2.0]




def test_ndarray_methods_and_builtins_on_traced_values():
    x = np.array([[3.0, -1.5, 2.0], [0.25, 4.0, -2.0]])
    f = sf.compile(lambda v: (np.ptp(v, axis=1) * v.itemsize + v.nbytes, round(v, 1), divmod(v, 2.0)[1],
                              v.view().copy(order="C"), sf.ascontiguousarray(v)))
    ptp, rounded, remainder, same, contiguous = f(x)
    np.testing.assert_array_equal(ptp, np.ptp(x, axis=1) * 8 + 48)
    np.testing.assert_array_equal(rounded, np.round(x, 1))
    np.testing.assert_array_equal(remainder, divmod(x, 2.0)[1])
    np.testing.assert_array_equal(same, x)
    np.testing.assert_array_equal(contiguous, x)


def test_einsum_ellipsis_anywhere_in_an_operand():
    """An ellipsis after named axes read the leading axes (j... took the first axes as the ellipsis')."""
    a, b = np.arange(24.0).reshape(3, 8), np.arange(48.0).reshape(8, 2, 3)
    for spec, operands in (("ij,j...->i...", (a, b)), ("a...b,b...->a...", (np.ones((2, 3, 4)), np.ones((4, 3)))),
                           ("i...j,jk->i...k", (b.transpose(0, 2, 1)[..., :2], np.ones((2, 4))))):
        np.testing.assert_array_equal(sf.compile(lambda *v: np.einsum(spec, *v))(*operands), np.einsum(spec, *operands))


def test_traced_positions_for_bincount_isin_and_types():
    x, w = np.array([0, 2, 2, 5]), np.array([1.0, 2, 3, 4])
    np.testing.assert_array_equal(sf.compile(lambda i, v: sf.bincount(i, v, length=4))(x, w), [1, 0, 5, 0])  # 5 dropped
    np.testing.assert_array_equal(sf.compile(lambda v: sf.bincount(x, v, minlength=8))(w),
                                  np.bincount(x, w, minlength=8))
    np.testing.assert_array_equal(sf.grad(lambda v: sf.sum(sf.bincount(x, v) ** 2))(w), [2, 10, 10, 8])
    np.testing.assert_array_equal(sf.compile(lambda v: sf.isin(v, [2.0, 4.0], invert=True))(w), ~np.isin(w, [2, 4]))
    seen = []
    sf.compile(lambda v: seen.append((np.result_type(v, np.float32), np.iscomplexobj(v), sf.isrealobj(v))) or v)(
        w.astype(np.float32))
    assert seen == [(np.float32, False, True)]


def test_sorting_compares_the_same_bits_for_every_pair():
    """A sort's pairwise comparisons read its argument recomputed where each compared, composed by
    SymPy into different expressions for the same numbers: compiled argsort gave [3, 0, 3, 0] and
    [0, 5, 1, 0] (an element ranked twice, one past the end) for a product of rows (found by the
    random search against PyTorch). The argument is stored once now."""
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))

    def v(a):
        s = np.sqrt(a * a + 0.5) + a
        return np.prod(s * 0.8, axis=1, keepdims=True) + s
    want = np.argsort(v(x), axis=1, kind="stable")
    np.testing.assert_array_equal(sf.compile(lambda a: np.argsort(v(a), axis=1))(x), want)
    np.testing.assert_array_equal(sf.compile(lambda a: np.argmax(v(a), axis=1))(x), np.argmax(v(x), axis=1))
    gradient = sf.grad(lambda a: sf.sum(np.take_along_axis(v(a), np.argsort(v(a), axis=1), 1) * w))
    np.testing.assert_allclose(sf.compile(gradient)(x), gradient(x), rtol=1e-13)
    batched = sf.vmap(lambda a: np.argsort(v(a[None]), axis=1)[0])(x)
    np.testing.assert_array_equal(batched, want)


def test_ufunc_keywords_on_traced_arrays_are_applied_or_refused():
    """np.add(v, v, dtype=int16) adds in int16 (not in int8, which wraps); vecdot's axis= is taken;
    a keyword that tracing cannot honour (where=) raises instead of being dropped."""
    a = np.array([100, 100, 7], np.int8)
    for f in (lambda v: np.add(v, v, dtype=np.int16), lambda v: np.sqrt(v, dtype=np.float64),
              lambda v: np.divmod(v, 3, dtype=np.int16)[1], lambda v: np.less(v, 1.5, dtype=bool),
              lambda v: np.add(v, v, casting="same_kind", where=True)):
        want, got = f(a), sf.compile(f)(a)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    b = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(sf.compile(lambda v: np.vecdot(v, v, axis=0))(b), np.vecdot(b, b, axis=0))
    np.testing.assert_array_equal(sf.compile(lambda v: np.vecdot(v, v))(b), np.vecdot(b, b))
    with pytest.raises(TypeError, match="where="):
        sf.compile(lambda v: np.add(v, v, where=v > 0))(a)


def test_corrcoef_gradient_on_its_diagonal_is_zero_in_both_modes():
    """The diagonal of corrcoef is 1 with no derivative. Clipped to [−1, 1] where it rounds to exactly 1,
    each partial derivative recomputed the ratio with its own rounding and took a different side of
    the kink: reverse mode gave 0.3 where forward mode and finite differences give 0."""
    x = np.array([[float.fromhex(h) for h in row] for row in (
        ("0x1.927f05600997ap+1", "0x1.b3042e49d4316p-3", "0x1.4b5d0ab5e834fp+2", "0x1.2110ff84118f9p+1"),
        ("0x1.38953f0db6447p+0", "0x1.116c99429d5e9p+2", "0x1.0fc63332a8c37p+2", "-0x1.c7962e012ea4ap+0"))])
    forward, reverse = sf.jacfwd(sf.corrcoef)(x), sf.jacrev(sf.corrcoef)(x)
    np.testing.assert_allclose(reverse, forward, atol=1e-12)
    np.testing.assert_allclose(np.asarray(reverse)[[0, 1], [0, 1]], 0, atol=1e-12)
    np.testing.assert_allclose(sf.corrcoef(x), np.corrcoef(x), rtol=1e-15)
    constant = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 4.0]])  # a variable without variance: NaN, as NumPy's
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(sf.compile(sf.corrcoef)(constant), np.corrcoef(constant))


def test_gcd_and_lcm_of_traced_integers_on_every_backend(monkeypatch):
    """NumPy's gcd/lcm (of |a| and |b|; lcm wraps in the type; |−128| stays −128 in int8), compiled
    through the runtime's integer helpers, also as CUDA device code; floats and bools raise as in NumPy."""
    from codegen.runtime import cuda as cuda_runtime
    a, b = np.array([12, -18, 0, 7, -128, 100], np.int8), np.array([18, 12, 0, 0, 0, 7], np.int8)
    f = lambda x, y: (np.gcd(x, y), np.lcm(x, y))  # noqa: E731
    monkeypatch.setitem(os.environ, "SYMFLUX_CUDA_EMULATE", "1")
    cuda_runtime.reset_default_cuda_runtime()
    for got in (sf.compile(f)(a, b), sf.compile(f, backend="cuda")(a, b)):
        for g, w in zip(got, f(a, b)):
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)
    cuda_runtime.reset_default_cuda_runtime()
    for bad in (np.array([1.5]), np.array([True])):
        with pytest.raises(TypeError, match=r"\(\w+, \w+\): it takes integers$"):
            sf.compile(lambda x: sf.gcd(x, x))(bad)
