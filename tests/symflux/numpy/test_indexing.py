"""Indexing, complete: NumPy's advanced-indexing rules on traced arrays (values, compiled code and
gradients against np.add.at), and functional updates with sf.at."""

import numpy as np
import pytest

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


def test_assigning_into_a_traced_array_points_to_sf_at():
    def f(v):
        v[0] = 1.0
        return sf.sum(v)
    with pytest.raises(sf.TracingError, match=r"sf\.at\(x\)\[index\]\.set"):
        sf.gradient(f, np.ones(2))


def test_size_one_outputs_and_complex_abs():
    assert sf.gradient(lambda x: x[:1] * 2, np.ones(3))[0].tolist() == [2.0, 0.0, 0.0]
    assert sf.grad(lambda x: (x**2).reshape(1, 1))(np.array([3.0])).tolist() == [6.0]
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        sf.gradient(lambda x: x[:2], np.ones(3))
    assert sf.abs(3 + 4j) == 5.0 and np.asarray(sf.abs(3 + 4j)).dtype == np.float64
    assert sf.abs(np.array([3 + 4j], np.complex64)).dtype == np.float32
