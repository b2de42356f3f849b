"""Indexing, complete: NumPy's advanced-indexing rules on traced arrays (values, compiled code and
gradients against np.add.at), and functional updates with sf.at."""

import numpy as np
import pytest
from optable import compiled, exported, interpreted

import symflux as sf

X = np.arange(120.0).reshape(2, 3, 4, 5)
KEYS = [
    (1, slice(1, None), [1, 3]),                      # an integer and an array apart: indexed axes first
    (slice(None), [0, 2], [1, 3]),                    # adjacent arrays: in place
    ([0, 1], slice(None), [1, 3]),                    # separated by a slice: first
    (0, [1, 2], slice(None), [[0], [4]]),             # broadcast index arrays
    (Ellipsis, [1, 0]),
    (None, 1, [0, 2]),
    ([True, False],),
    (slice(None), np.array([[True, False, True, False]] * 3)),  # a 2-D mask spans two axes
    (1, None, slice(None), [2, 2], 0),
    ([1], [2], [3], [4]),
    (-1, -1),
    ([[0, 1]], slice(1, 3)),
    (slice(None), 1, slice(None), [0, 4]),
    (slice(None, None, -1), [2, -1]),
]


@pytest.mark.parametrize("key", KEYS, ids=[str(k) for k in KEYS])
def test_advanced_indexing_matches_numpy(key):
    want = X[key]
    weights = np.arange(want.size, dtype=float).reshape(want.shape)
    np.testing.assert_array_equal(sf.compile(lambda v: v[key])(X), want)
    (g,) = sf.gradient(lambda v: sf.sum(v[key] * weights), X)
    expected = np.zeros_like(X)
    np.add.at(expected, key, weights)
    np.testing.assert_array_equal(g, expected)


def test_index_errors_name_the_axis():
    with pytest.raises(IndexError, match="out of bounds for axis 1 with size 3"):
        sf.gradient(lambda v: sf.sum(v[:, [0, 3]]), X)
    with pytest.raises(IndexError, match="too many indices"):
        sf.gradient(lambda v: sf.sum(v[0, 0, 0, 0, 0]), X)


def test_functional_updates():
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(sf.at(x)[0, 1:].set(9.0), [[0, 9, 9], [3, 4, 5]])
    np.testing.assert_array_equal(sf.at(x)[:, [0, 0]].add(1.0), [[2, 1, 2], [5, 4, 5]])  # repeats add up
    np.testing.assert_array_equal(sf.at(x)[1].multiply(np.array([1.0, 2, 3])), [[0, 1, 2], [3, 8, 15]])
    np.testing.assert_array_equal(x, np.arange(6.0).reshape(2, 3))  # x is unchanged
    (g,) = sf.gradient(lambda v: sf.sum(sf.at(v)[0, 1].set(v[1, 2] * 5) ** 2), x)
    np.testing.assert_array_equal(g, [[0, 0, 4], [6, 8, 2 * 5 + 2 * 25 * 5]])
    np.testing.assert_array_equal(sf.compile(lambda v: sf.at(v)[:, 1].add(v[:, 0]))(x), [[0, 1, 2], [3, 7, 5]])


def test_assigning_into_a_traced_array_points_to_at():
    def f(v):
        v[0] = 1.0
        return sf.sum(v)
    with pytest.raises(sf.TracingError, match=r"x\.at\[index\]\.set"):
        sf.gradient(f, np.ones(2))


def test_size_one_outputs_and_complex_abs():
    assert sf.gradient(lambda x: x[:1] * 2, np.ones(3))[0].tolist() == [2.0, 0.0, 0.0]
    assert sf.grad(lambda x: (x**2).reshape(1, 1))(np.array([3.0])).tolist() == [6.0]
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        sf.gradient(lambda x: x[:2], np.ones(3))
    assert sf.abs(3 + 4j) == 5.0 and np.asarray(sf.abs(3 + 4j)).dtype == np.float64
    assert sf.abs(np.array([3 + 4j], np.complex64)).dtype == np.float32


# -- traced index arrays (labels passed to a compiled loss, an argmax, a vmapped index) -------------

TRACED_KEYS = [k for k in KEYS if not any(np.asarray(i).dtype == bool for i in k if isinstance(i, list))
               and any(isinstance(i, list) for i in k)]


def _with_traced_arrays(key):
    """(the index arrays of ``key`` as int32 inputs, a function of (x, *arrays) indexing with them)."""
    arrays = [np.asarray(i, dtype=np.int32) for i in key if isinstance(i, list)]

    def index(v, *traced):
        it = iter(traced)
        return v[tuple(next(it) if isinstance(i, list) else i for i in key)]
    return arrays, index


@pytest.mark.parametrize("key", TRACED_KEYS, ids=[str(k) for k in TRACED_KEYS])
def test_traced_index_arrays_gather_on_every_path(key):
    arrays, index = _with_traced_arrays(key)
    want = X[key]
    for path in (compiled, interpreted, exported):
        np.testing.assert_array_equal(path(index, X, *arrays), want)
    weights = np.arange(want.size, dtype=float).reshape(want.shape)
    expected = np.zeros_like(X)
    np.add.at(expected, key, weights)
    gradient = sf.grad(lambda v, *a: sf.sum(index(v, *a) * weights))
    np.testing.assert_array_equal(gradient(X, *arrays), expected)
    np.testing.assert_array_equal(sf.compile(gradient)(X, *arrays), expected)


def test_traced_indices_count_from_the_end_and_are_clamped_into_range():
    x = np.arange(5.0)
    f = sf.compile(lambda v, i: v[i])
    np.testing.assert_array_equal(f(x, np.array([-1, -5, 0, 4])), [4, 0, 0, 4])
    np.testing.assert_array_equal(f(x, np.array([5, 99, -6, -99])), [4, 4, 0, 0])  # as JAX: no read outside
    np.testing.assert_array_equal(sf.compile(lambda v, i: sf.take(v, i, mode="wrap"))(x, np.array([7, -7])),
                                  np.take(x, [7, -7], mode="wrap"))
    with pytest.raises(IndexError, match="integer type"):
        sf.compile(lambda v, i: v[i])(x, np.array([1.0]))
    with pytest.raises(sf.TracingError, match="boolean mask"):
        sf.compile(lambda v, m: v[m])(x, x > 2)


def test_labels_gather_log_probabilities_like_pytorch_cross_entropy():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w, xb, y = rng.standard_normal((3, 4)), rng.standard_normal((6, 3)), rng.integers(0, 4, 6)

    def loss(w, xb, y):
        logits = xb @ w
        logp = logits - sf.logsumexp(logits, axis=-1, keepdims=True)
        return -sf.mean(sf.take_along_axis(logp, y[:, None], axis=1))
    tw = torch.tensor(w, requires_grad=True)
    want = torch.nn.functional.cross_entropy(torch.tensor(xb) @ tw, torch.tensor(y))
    want.backward()
    value, grad = sf.compile(sf.value_and_grad(loss))(w, xb, y)
    np.testing.assert_allclose(value, want.item(), rtol=1e-12)
    np.testing.assert_allclose(grad, tw.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(sf.grad(lambda w: -sf.mean(sf.log(sf.softmax(xb @ w, axis=-1))[np.arange(6), y]))(w),
                               tw.grad.numpy(), rtol=1e-10)


def test_gathers_with_traced_indices_batch_without_growing():
    rng = np.random.default_rng(1)
    x, idx = rng.standard_normal((4, 5, 3)), rng.integers(0, 3, (4, 2))
    taken = sf.vmap(lambda a, i: sf.take(a, i, axis=1))
    np.testing.assert_array_equal(taken(x, idx), np.stack([np.take(x[b], idx[b], 1) for b in range(4)]))
    shared = sf.vmap(lambda i: sf.take(x[0], i, axis=1))
    np.testing.assert_array_equal(shared(idx), np.stack([np.take(x[0], i, 1) for i in idx]))
    grads = sf.vmap(sf.grad(lambda a, i: sf.sum(sf.take(a, i, axis=1) ** 2)))(x, idx)
    for b in range(4):
        expected = np.zeros_like(x[b])
        np.add.at(expected, (slice(None), idx[b]), 2 * np.take(x[b], idx[b], 1))
        np.testing.assert_allclose(grads[b], expected)
    big = sf.make_graph(lambda a, i: sf.vmap(lambda r, j: r[j])(a, i), np.zeros((64, 5)), np.zeros(64, np.int64))
    small = sf.make_graph(lambda a, i: sf.vmap(lambda r, j: r[j])(a, i), np.zeros((2, 5)), np.zeros(2, np.int64))
    assert len(big.nodes) == len(small.nodes)


def test_float_gradients_keep_the_inputs_precision():
    x32, y = np.array([1.0, 2.0], np.float32), np.array([3.0, 4.0])
    for g in (sf.gradient(lambda a, b: sf.sum(a * b), x32, y)[0], sf.grad(lambda a: sf.sum(a * y))(x32),
              sf.compile(sf.grad(lambda a: sf.sum(a * y)))(x32)):
        assert g.dtype == np.float32
        np.testing.assert_array_equal(g, [3, 4])
    g, _ = sf.gradient(lambda a, i: sf.sum(a * i), np.array([1.0, 2.0]), np.array([3, 4]))
    assert g.dtype == np.float64  # beside an integer input: still the float input's type


def test_positions_stored_for_a_gather_are_computed_before_it_reads_them():
    """The flat positions of x[arange, labels] went to a temporary that a later loop nest read inside
    another load's index (x[t[i]]); the optimiser, not seeing that read, dropped the loop that
    stored them: the compiled gradient read uninitialised positions (a crash, or wrong numbers)."""
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    labels = np.argmax(x, axis=1)
    f = lambda a, i: sf.sum(a * a[np.arange(3), i][:, None] * w)
    gradient = sf.grad(f)
    np.testing.assert_allclose(sf.compile(gradient)(x, labels), gradient(x, labels), rtol=1e-14)
    np.testing.assert_allclose(exported(gradient, x, labels), gradient(x, labels), rtol=1e-14)
    argmax = sf.grad(lambda a: sf.sum(a * a[np.arange(3), sf.argmax(a, axis=1)][:, None] * w))
    np.testing.assert_allclose(sf.compile(argmax)(x), argmax(x), rtol=1e-14)


def test_jax_style_at_on_traced_values():
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_array_equal(sf.grad(lambda a: sf.sum(a.at[0].set(5.0) ** 2))(x), [0, -2, 4])
    np.testing.assert_array_equal(sf.grad(lambda a: sf.sum(a.at[[0, 0]].add(a[1]) ** 2))(x), [-3, -8, 4])
    np.testing.assert_array_equal(sf.jit(lambda a: a.at[1:].multiply(2.0))(x), [0.5, -2, 4])
