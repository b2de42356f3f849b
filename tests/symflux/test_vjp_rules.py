"""Every VJP rule against finite differences and PyTorch: first, second and third order."""

import numpy as np
import pytest
from gradcheck import check_all_orders, torch

import symflux as sf

T = torch  # short alias for the reference column (None without PyTorch)
F = torch.nn.functional if torch is not None else None
rng = np.random.default_rng(42)


def away_from_zero(shape, lo=0.2, hi=1.5):
    """Random values with |x| in [lo, hi]: keeps kinked functions off their kinks."""
    return rng.uniform(lo, hi, shape) * rng.choice([-1.0, 1.0], shape)


def positive(shape, lo=0.3, hi=2.0):
    return rng.uniform(lo, hi, shape)


def inside(shape, bound=0.8):
    return rng.uniform(-bound, bound, shape)


def torch_op(name):
    return (lambda *a: getattr(T, name)(*a)) if T is not None else None


def functional(name, **kw):
    return (lambda x: getattr(F, name)(x, **kw)) if F is not None else None


# name: (symflux function, torch function or None, input sampler)
UNARY = {
    "exp": (sf.exp, torch_op("exp"), inside),
    "expm1": (sf.expm1, torch_op("expm1"), inside),
    "exp2": (sf.exp2, torch_op("exp2"), inside),
    "log": (sf.log, torch_op("log"), positive),
    "log2": (sf.log2, torch_op("log2"), positive),
    "log10": (sf.log10, torch_op("log10"), positive),
    "log1p": (sf.log1p, torch_op("log1p"), positive),
    "sqrt": (sf.sqrt, torch_op("sqrt"), positive),
    "cbrt": (sf.cbrt, None, away_from_zero),
    "square": (sf.square, torch_op("square"), away_from_zero),
    "reciprocal": (sf.reciprocal, torch_op("reciprocal"), positive),
    "negative": (sf.negative, torch_op("negative"), away_from_zero),
    "sin": (sf.sin, torch_op("sin"), away_from_zero),
    "cos": (sf.cos, torch_op("cos"), away_from_zero),
    "tan": (sf.tan, torch_op("tan"), inside),
    "arcsin": (sf.arcsin, torch_op("asin"), inside),
    "arccos": (sf.arccos, torch_op("acos"), inside),
    "arctan": (sf.arctan, torch_op("atan"), away_from_zero),
    "sinh": (sf.sinh, torch_op("sinh"), away_from_zero),
    "cosh": (sf.cosh, torch_op("cosh"), away_from_zero),
    "tanh": (sf.tanh, torch_op("tanh"), away_from_zero),
    "arcsinh": (sf.arcsinh, torch_op("asinh"), away_from_zero),
    "arccosh": (sf.arccosh, torch_op("acosh"), lambda s: positive(s, 1.2, 3.0)),
    "arctanh": (sf.arctanh, torch_op("atanh"), inside),
    "abs": (sf.abs, torch_op("abs"), away_from_zero),
    "sign": (sf.sign, torch_op("sign"), away_from_zero),
    "floor": (sf.floor, torch_op("floor"), lambda s: away_from_zero(s) + 0.5),
    "ceil": (sf.ceil, torch_op("ceil"), lambda s: away_from_zero(s) + 0.5),
    "trunc": (sf.trunc, torch_op("trunc"), lambda s: away_from_zero(s) + 0.5),
    "rint": (sf.rint, torch_op("round"), lambda s: away_from_zero(s) + 0.25),
    "round": (sf.round, torch_op("round"), lambda s: away_from_zero(s) + 0.25),
    "sigmoid": (sf.sigmoid, torch_op("sigmoid"), away_from_zero),
    "relu": (sf.relu, torch_op("relu"), away_from_zero),
    "leakyrelu": (sf.leakyrelu, functional("leaky_relu", negative_slope=0.01), away_from_zero),
    "relu6": (sf.relu6, functional("relu6"), lambda s: away_from_zero(s) * 5),
    "elu": (sf.elu, functional("elu"), away_from_zero),
    "celu": (sf.celu, functional("celu"), away_from_zero),
    "selu": (sf.selu, functional("selu"), away_from_zero),
    "softplus": (sf.softplus, functional("softplus"), away_from_zero),
    "logsigmoid": (sf.logsigmoid, functional("logsigmoid"), away_from_zero),
    "gelu": (sf.gelu, functional("gelu", approximate="tanh"), away_from_zero),
    "swish": (sf.swish, functional("silu"), away_from_zero),
    "softsign": (sf.softsign, functional("softsign"), away_from_zero),
    "hardsigmoid": (sf.hardsigmoid, None, lambda s: away_from_zero(s) * 2),
    "hardtanh": (sf.hardtanh, functional("hardtanh"), lambda s: away_from_zero(s) * 0.9),
    "trelu": (sf.trelu, None, lambda s: away_from_zero(s) * 2),
    "logcosh": (sf.logcosh, (lambda x: T.log(T.cosh(x))) if T else None, away_from_zero),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name):
    op, ref, sample = UNARY[name]
    check_all_orders(op, ref, sample((3, 4)))


BINARY = {
    "add": (sf.add, torch_op("add"), away_from_zero, away_from_zero),
    "subtract": (sf.subtract, torch_op("subtract"), away_from_zero, away_from_zero),
    "multiply": (sf.multiply, torch_op("multiply"), away_from_zero, away_from_zero),
    "divide": (sf.divide, torch_op("divide"), away_from_zero, positive),
    "power": (sf.power, torch_op("pow"), positive, away_from_zero),
    "maximum": (sf.maximum, torch_op("maximum"), away_from_zero, lambda s: away_from_zero(s) + 0.05),
    "minimum": (sf.minimum, torch_op("minimum"), away_from_zero, lambda s: away_from_zero(s) + 0.05),
    "arctan2": (sf.arctan2, torch_op("atan2"), away_from_zero, positive),
    # a and b keep a/b off integers (the jumps of % and //)
    "remainder": (sf.remainder, torch_op("remainder"), lambda s: positive(s, 0.3, 0.45) + 2,
                  lambda s: positive(s, 0.7, 0.9)),
}


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1))])
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_with_broadcasting(name, shapes):
    op, ref, sample_a, sample_b = BINARY[name]
    check_all_orders(op, ref, sample_a(shapes[0]), sample_b(shapes[1]), third=shapes[0] == (3, 4))


def test_operators_match_functions():
    x, y = away_from_zero((2, 3)), positive((2, 3))
    check_all_orders(lambda a, b: (a * b - a / b) ** 2 + b**a - (-a) @ b.T.sum(1, keepdims=True),
                     (lambda a, b: (a * b - a / b) ** 2 + b**a - (-a) @ b.T.sum(1, keepdims=True)) if T else None,
                     x, y)


def test_where_routes_gradient_by_mask():
    mask = rng.random((3, 4)) > 0.5
    check_all_orders(lambda a, b: sf.where(mask, a, b),
                     (lambda a, b: T.where(T.tensor(mask), a, b)) if T else None,
                     away_from_zero((3, 4)), away_from_zero((3, 4)))


def test_comparison_builds_a_mask_inside_where():
    check_all_orders(lambda a: sf.where(a > 0, a**2, -a),
                     (lambda a: T.where(a > 0, a**2, -a)) if T else None, away_from_zero((3, 4)))


REDUCTIONS = [
    ("sum all", lambda x: sf.sum(x), lambda x: x.sum()),
    ("sum axis 0", lambda x: sf.sum(x, axis=0), lambda x: x.sum(0)),
    ("sum axes keepdims", lambda x: sf.sum(x, axis=(0, 2), keepdims=True), lambda x: x.sum((0, 2), keepdim=True)),
    ("mean axis -1", lambda x: sf.mean(x, axis=-1), lambda x: x.mean(-1)),
    ("max axis 1", lambda x: sf.max(x, axis=1), lambda x: x.amax(1)),
    ("min all", lambda x: sf.min(x), lambda x: x.amin()),
    ("prod axis 1", lambda x: sf.prod(x, axis=1), lambda x: x.prod(1)),
    ("var axis 0", lambda x: sf.var(x, axis=0), lambda x: x.var(0, unbiased=False)),
    ("std ddof 1", lambda x: sf.std(x, axis=2, ddof=1), lambda x: x.std(2, unbiased=True)),
    ("logsumexp", lambda x: sf.logsumexp(x, axis=1), lambda x: T.logsumexp(x, 1)),
    ("softmax", lambda x: sf.softmax(x), lambda x: T.softmax(x, -1)),
    ("logsoftmax axis 0", lambda x: sf.logsoftmax(x, axis=0), lambda x: T.log_softmax(x, 0)),
]


@pytest.mark.parametrize("name,op,ref", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
def test_reductions(name, op, ref):
    check_all_orders(op, ref if T else None, away_from_zero((2, 3, 4)))


CONTRACTIONS = [
    ("matmul 2d@2d", sf.matmul, (3, 4), (4, 2), "matmul"),
    ("matmul 2d@1d", sf.matmul, (3, 4), (4,), "matmul"),
    ("matmul 1d@2d", sf.matmul, (4,), (4, 2), "matmul"),
    ("matmul 1d@1d", sf.matmul, (4,), (4,), "matmul"),
    ("matmul batched@2d", sf.matmul, (2, 3, 4), (4, 2), "matmul"),
    ("matmul batched broadcast", sf.matmul, (2, 1, 3, 4), (3, 4, 2), "matmul"),
    ("dot", sf.dot, (3, 4), (4, 2), "matmul"),
    ("outer", sf.outer, (3,), (4,), "outer"),
    ("inner", sf.inner, (2, 4), (3, 4), "inner"),
]


@pytest.mark.parametrize("name,op,sa,sb,ref", CONTRACTIONS, ids=[c[0] for c in CONTRACTIONS])
def test_contractions(name, op, sa, sb, ref):
    check_all_orders(op, torch_op(ref), away_from_zero(sa), away_from_zero(sb))


def test_tensordot_and_einsum():
    a, b = away_from_zero((2, 3, 4)), away_from_zero((4, 3, 5))
    check_all_orders(lambda x, y: sf.tensordot(x, y, axes=([1, 2], [1, 0])),
                     (lambda x, y: T.tensordot(x, y, dims=([1, 2], [1, 0]))) if T else None, a, b)
    check_all_orders(lambda x, y: sf.einsum("ijk,kjl->il", x, y),
                     (lambda x, y: T.einsum("ijk,kjl->il", x, y)) if T else None, a, b)
    check_all_orders(lambda x: sf.einsum("ijk->kj", x),
                     (lambda x: T.einsum("ijk->kj", x)) if T else None, a)


MOVEMENT = [
    ("reshape", lambda x: sf.reshape(x, (4, -1)), lambda x: x.reshape(4, -1)),
    ("transpose", lambda x: sf.transpose(x), lambda x: x.permute(2, 1, 0)),
    ("transpose axes", lambda x: x.transpose(1, 0, 2), lambda x: x.permute(1, 0, 2)),
    ("T", lambda x: x[0].T, lambda x: x[0].T),
    ("swapaxes", lambda x: sf.swapaxes(x, 0, 2), lambda x: x.transpose(0, 2)),
    ("moveaxis", lambda x: sf.moveaxis(x, 0, -1), lambda x: T.movedim(x, 0, -1)),
    ("expand_dims+squeeze", lambda x: sf.squeeze(sf.expand_dims(x, 1), 1), lambda x: x),
    ("broadcast_to", lambda x: sf.broadcast_to(x[:, :1, :], (2, 3, 4)), lambda x: x[:, :1, :].expand(2, 3, 4)),
    ("flip", lambda x: sf.flip(x, axis=1), lambda x: T.flip(x, (1,))),
    ("slice step", lambda x: x[:, ::2, 1:], lambda x: x[:, ::2, 1:]),
    ("negative step", lambda x: x[::-1, 2:0:-1], lambda x: T.flip(x, (0,))[:, [2, 1]]),
    ("int index", lambda x: x[1, :, -1], lambda x: x[1, :, -1]),
    ("newaxis ellipsis", lambda x: x[None, ..., 1], lambda x: x[None, ..., 1]),
    ("index array", lambda x: x[:, [2, 0, 2]], lambda x: x[:, [2, 0, 2]]),
    ("bool mask", lambda x: x[np.array([True, False])], lambda x: x[T.tensor([True, False])]),
    ("concatenate", lambda x: sf.concatenate([x, x[:, :1] * 2], axis=1),
     lambda x: T.cat([x, x[:, :1] * 2], 1)),
    ("stack", lambda x: sf.stack([x[0], x[1] ** 2], axis=-1), lambda x: T.stack([x[0], x[1] ** 2], -1)),
    ("clip", lambda x: sf.clip(x, -0.5, 0.7), lambda x: T.clamp(x, -0.5, 0.7)),
    ("iteration", lambda x: sf.stack([row * i for i, row in enumerate(x)]),
     lambda x: T.stack([row * i for i, row in enumerate(x)])),
]


@pytest.mark.parametrize("name,op,ref", MOVEMENT, ids=[m[0] for m in MOVEMENT])
def test_movement_and_indexing(name, op, ref):
    x = away_from_zero((2, 3, 4))
    for bound in (-0.5, 0.7):  # keep clip's kinks away from the finite-difference steps
        x = np.where(np.abs(x - bound) < 0.05, 0.3, x)
    check_all_orders(op, ref if T else None, x)


def test_numpy_functions_dispatch_to_traced_versions():
    x = away_from_zero((3, 4))
    check_all_orders(lambda a: np.sum(np.exp(a) * np.tanh(a), axis=0) + np.mean(a),
                     (lambda a: (T.exp(a) * T.tanh(a)).sum(0) + a.mean()) if T else None, x)
    check_all_orders(lambda a: np.maximum(np.dot(a, a.T), 0.1), None, x)


def test_float32_gradients_stay_float32():
    x = sf.array(away_from_zero((3,)), dtype=np.float32)
    g = sf.gradient(lambda v: sf.sum(sf.sigmoid(v) * 2.5), x)[0]
    assert g.dtype == np.float32
    s = 1 / (1 + np.exp(-x.astype(np.float64)))
    np.testing.assert_allclose(g, 2.5 * s * (1 - s), rtol=1e-6)


NEW_ACTIVATIONS = {  # Flux v0.11's additions: three orders against FD, and PyTorch where it has them
    "lisht": (sf.lisht, lambda x: x * T.tanh(x)),
    "mish": (sf.mish, lambda x: F.mish(x)),
    "tanhshrink": (sf.tanhshrink, lambda x: F.tanhshrink(x)),
    "softshrink 0.3": (lambda x: sf.softshrink(x, 0.3), lambda x: F.softshrink(x, 0.3)),
    "hardσ slope 0.3": (lambda x: sf.hardσ(x, 0.3), lambda x: T.clamp(0.3 * x + 0.5, 0, 1)),
}


@pytest.mark.parametrize("name", sorted(NEW_ACTIVATIONS))
def test_new_activations(name):
    op, ref = NEW_ACTIVATIONS[name]
    check_all_orders(op, ref if T else None, away_from_zero((3, 4), 0.35, 1.4))


def test_rrelu_is_leaky_with_random_slopes_in_its_range():
    x = -np.ones(2000)
    y = sf.rrelu(x, 0.1, 0.3)
    assert -0.3 <= y.min() and y.max() <= -0.1 and y.std() > 0.03
    np.testing.assert_array_equal(sf.rrelu(np.array([2.0, 0.5])), [2.0, 0.5])
    assert np.isnan(sf.rrelu(np.array([np.nan]))[0])
    (g,) = sf.gradient(lambda v: sf.sum(sf.rrelu(v)), np.array([1.0, -1.0]))
    assert g[0] == 1.0 and 1 / 8 <= g[1] <= 1 / 3


@pytest.mark.parametrize("moved", [lambda b: b, lambda b: b.T], ids=["in place", "transposed"])
def test_extremum_derivatives_compare_the_values_the_extremum_saw(moved):
    """max's derivative compares its argument with the max; recomputed in another kernel, SymPy had
    composed (0.8a)(0.8b)(0.8c)(0.8d) + a as 0.4096abcd + a, no element matched and the compiled
    gradient was 0/0 = NaN for that row (found by a random-program search against PyTorch)."""
    rng = np.random.default_rng(32)
    x, w = rng.standard_normal((3, 4)), rng.standard_normal(4)

    def f(a):
        return sf.sum(sf.max(moved(sf.prod(a * 0.8, axis=1, keepdims=True) + a), axis=-1 if moved(x) is x else 0) *
                      w[:3])
    want = sf.grad(f)(x)
    assert not np.isnan(want).any()
    for got in (sf.compile(sf.grad(f))(x), sf.compile(lambda a, v: sf.jvp(f, (a,), (v,))[1])(x, w[:3, None] * x)):
        assert not np.isnan(got).any()
    np.testing.assert_allclose(sf.compile(sf.grad(f))(x), want, rtol=1e-12, atol=1e-15)
    if torch is not None:
        t = torch.tensor(x, requires_grad=True)
        b = torch.prod(t * 0.8, 1, keepdim=True) + t
        (torch.amax(b if moved(x) is x else b.T, dim=-1 if moved(x) is x else 0) * torch.tensor(w[:3])).sum().backward()
        np.testing.assert_allclose(want, t.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("f,sign", [
    (lambda y: sf.maximum(sf.abs(y), sf.maximum(y, sf.clip(y, -1, 1))), 1),
    (lambda y: sf.minimum(sf.minimum(-y, -sf.abs(y)), -sf.clip(y, -1, 1)), -1),
    (lambda y: sf.maximum(sf.maximum(y, sf.abs(y)), sf.maximum(sf.clip(y, -1, 1), sf.relu(y))), 1)],
    ids=["max of three", "min of three", "max of four"])
def test_a_tie_of_several_arguments_shares_the_gradient_in_parts_that_add_up(f, sign):
    """SymPy's Max(a, b, c)′ in a is Heaviside(a − Max(b, c)): ½ at a tie whatever b and c do, so
    where |y| = y = clip(y) each of the three got ½ and the gradient was 1.5× itself (found by the
    random search against PyTorch). A tie that holds on an interval is one function there: any
    shares adding up to 1 give its derivative."""
    y = np.array([0.25, 0.5, 2.0, -0.5, -3.0])
    want = sign * np.array([1.0, 1.0, 1.0, -1.0, -1.0])
    np.testing.assert_allclose(sf.grad(lambda v: sf.sum(f(v)))(y), want, rtol=1e-15)
    np.testing.assert_allclose(sf.compile(sf.grad(lambda v: sf.sum(f(v))))(y), want, rtol=1e-15)

@pytest.mark.parametrize("inner,kink,shift", [(sf.sigmoid, 0.0, 0.5), (sf.softplus, 0.0, float(np.log(2.0))),
                                               (sf.log1p, 0.0, 0.0), (lambda a: sf.arcsin(a / 4), 0.0, 0.0),
                                               (sf.sqrt, 4.0, 2.0), (lambda a: sf.arccosh(a + 1.5), 0.5, 0.0)],
                         ids=["sigmoid", "softplus", "log1p", "arcsin", "sqrt", "arccosh"])
def test_abs_of_values_sympy_cannot_tell_are_real(inner, kink, shift):
    """|f|' was (re f·(re f)' + im f·(im f)')/|f| for an f SymPy could not tell is real: compiled
    code had no rule for re (an L1 loss on a sigmoid model's output did not compile), and 0/0 at
    f = 0. It is sign(f)·f', 0 at the kink as in Zygote and PyTorch."""
    x = np.array([0.5, 2.0, 3.0, kink, 1.2])
    f = lambda a: sf.sum(sf.abs(inner(a) - shift))
    want = sf.grad(f)(x)
    np.testing.assert_allclose(sf.compile(sf.grad(f))(x), want, rtol=1e-13)
    assert want[3] == 0 or shift != float(np.asarray(inner(x))[3])  # softplus(0) may round off log 2
    h = 1e-6
    numeric = np.array([(np.sum(np.abs(np.asarray(inner(x + h * e)) - shift))
                         - np.sum(np.abs(np.asarray(inner(x - h * e)) - shift))) / (2 * h) for e in np.eye(x.size)])
    np.testing.assert_allclose(want[[0, 1, 2, 4]], numeric[[0, 1, 2, 4]], rtol=1e-6)


def test_l1_loss_of_a_sigmoid_model_compiles():
    model = sf.Chain(sf.Dense(3, 2, sf.sigmoid))
    x, y = np.random.default_rng(0).random((5, 3), np.float32), np.random.default_rng(1).random((5, 2), np.float32)
    loss = lambda m, x, y: sf.mae(m(x), y)
    want = sf.gradient(loss, model, x, y)[0].layers[0]
    got = sf.compile(lambda m, x, y: sf.gradient(loss, m, x, y)[0])(model, x, y).layers[0]
    np.testing.assert_allclose(got.W, want.W, rtol=1e-6)
    np.testing.assert_allclose(got.b, want.b, rtol=1e-6)
