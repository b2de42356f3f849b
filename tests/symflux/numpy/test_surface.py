"""The NumPy surface beyond the core ops: first, second and third derivatives against finite
differences and PyTorch (where it has the function), through NumPy's own names."""

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


def test_sort_routes_gradients_and_indices_have_none():
    x = np.array([3.0, 1.0, 2.0, 1.0])
    (g,) = sf.gradient(lambda v: sf.sum(np.sort(v) * np.array([1.0, 10.0, 100.0, 1000.0])), x)
    np.testing.assert_array_equal(g, [1000.0, 1.0, 100.0, 10.0])  # stable: the first 1.0 sorts first
    assert sf.compile(np.argsort)(x).tolist() == [1, 3, 2, 0]
    assert sf.compile(lambda v: np.argmax(v))(np.array([1.0, np.nan, 5.0])) == 1  # the first NaN, as NumPy
    assert sf.compile(lambda v: np.sort(v))(np.array([2.0, np.nan, -1.0])).tolist()[:2] == [-1.0, 2.0]


