"""Dask arrays in, dask arrays out: compiled functions block by block, lazily; never computed silently."""

import sys

import numpy as np
import pytest

import symflux as sf

da = pytest.importorskip("dask.array")


def points(n, chunks):
    x = np.random.default_rng(0).uniform(-2, 2, n)
    return x, da.from_array(x, chunks=chunks)


def derivatives(a):
    """f and its first two derivatives, elementwise (W1's shape of work, in one variable)."""
    f = lambda u: sf.sin(u) * sf.exp(-u**2) + sf.log(1 + u**2)  # noqa: E731
    d1 = lambda u: sf.gradient(lambda v: sf.sum(f(v)), u)[0]  # noqa: E731
    return f(a), d1(a), sf.gradient(lambda v: sf.sum(d1(v)), a)[0]


def test_rowwise_outputs_are_lazy_blockwise_arrays_with_an_uneven_last_chunk():
    x, lazy = points(100_003, 25_000)
    compiled = sf.compile(derivatives)
    outs = compiled(lazy)
    assert all(isinstance(o, da.Array) and o.chunks == lazy.chunks for o in outs)
    for got, want in zip(outs, compiled(x)):  # to an ulp: vector and scalar loop tails fall elsewhere
        np.testing.assert_allclose(got.compute(), want, rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("reduce", [sf.sum, sf.mean, sf.max, sf.min])
def test_reductions_over_rows_combine_block_results(reduce):
    x, lazy = points(100_003, 30_000)
    compiled = sf.compile(lambda v: reduce(sf.tanh(v) * 3))
    out = compiled(lazy)
    assert isinstance(out, da.Array) and out.shape == ()
    np.testing.assert_allclose(out.compute(), compiled(x), rtol=1e-12)


def test_the_gradient_of_a_summed_loss_is_a_sum_of_block_gradients():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((50_000, 4)), rng.standard_normal(50_000)
    w = np.array([0.5, -1.0, 2.0, 0.1])
    grad = sf.compile(lambda X, y, w: sf.gradient(lambda u: sf.mean((X @ u - y) ** 2), w)[0])
    lazy = grad(da.from_array(X, chunks=(12_000, 4)), da.from_array(y, chunks=12_000), w)
    np.testing.assert_allclose(lazy.compute(), grad(X, y, w), rtol=1e-10)


def test_outputs_that_mix_rows_are_refused_clearly():
    _, lazy = points(1000, 300)
    with pytest.raises(ValueError, match="depends on other rows"):
        sf.compile(lambda v: sf.cumsum(v))(lazy)
    with pytest.raises(ValueError, match="cannot be computed block by block"):
        sf.compile(lambda v: sf.sum(v) ** 2)(lazy)


def test_symflux_never_computes_a_dask_array_silently():
    _, lazy = points(1000, 300)
    for call in (lambda: sf.sin(lazy), lambda: sf.sum(lazy), lambda: sf.gradient(lambda v: sf.sum(v**2), lazy),
                 lambda: sf.Dense(1000, 2)(lazy)):
        with pytest.raises(TypeError, match="sf.compile"):
            call()


def test_small_chunks_get_a_warning():
    _, lazy = points(10_000, 1000)
    with pytest.warns(sf.dask_arrays.SmallChunksWarning):
        sf.compile(lambda v: v * 2)(lazy)


def _links():
    from codegen import default_runtime
    return default_runtime().links


def w1(a, b):
    """W1 (benchmarks/w1_eval.py): the gradient and Hessian of f(x, y) = sin(x)e^(−x²−y²) +
    log(1+x²y²)/(1+cos²(xy)), five outputs per point."""
    f = lambda c, d: sf.sin(c) * sf.exp(-c**2 - d**2) + sf.log(1 + c**2 * d**2) / (1 + sf.cos(c * d) ** 2)  # noqa: E731
    fx = lambda c, d: sf.gradient(lambda u, v: sf.sum(f(u, v)), c, d)  # noqa: E731
    gx, gy = fx(a, b)
    gxx, gxy = sf.gradient(lambda c, d: sf.sum(fx(c, d)[0]), a, b)
    return gx, gy, gxx, gxy, sf.gradient(lambda d: sf.sum(fx(a, d)[1]), b)[0]


def test_a_local_cluster_computes_the_same_numbers_linking_once_per_chunk_shape():
    distributed = pytest.importorskip("distributed")
    cloudpickle = pytest.importorskip("cloudpickle")
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    x, lazy_x = points(2_000_003, 500_000)  # four full chunks and one of 3 points
    y = np.random.default_rng(5).uniform(-2, 2, x.size)
    lazy = (lazy_x, da.from_array(y, chunks=500_000))
    compiled = sf.compile(w1)
    expected = compiled(x, y)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        before = client.run(_links)
        got = client.compute(list(compiled(*lazy)), sync=True)
        after = client.run(_links)
    for g, e in zip(got, expected):  # to an ulp: the 3-point chunk runs the scalar loop tail
        np.testing.assert_allclose(g, e, rtol=1e-14, atol=1e-300)
    # two chunk shapes, and the exact-trigonometry library their sin and cos call: linked at most once each
    assert all(after[w] - before[w] <= 3 for w in after)
