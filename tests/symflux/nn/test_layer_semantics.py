"""Layers, translated from Flux's own tests (flux_spec.md §4.3–4.4) and DESIGN.md §1, NCHW."""

import numpy as np
import pytest
import sympy
from gradcheck import torch

import symflux as sf
from symflux import Chain, Conv, Dense, gradient, params, softmax, σ


def test_design_model_session():
    model = Chain(Dense(10, 5, σ), Dense(5, 2), softmax)
    out = model(sf.rand(10))
    assert out.shape == (2,) and np.isclose(out.sum(), 1)
    assert model(sf.rand(32, 10)).shape == (32, 2)
    composed = sf.compose(Dense(5, 2), Dense(10, 5, σ))
    assert composed(sf.rand(10)).shape == (2,) and composed[0].sizes == (10, 5)
    assert Chain(lambda x: x**2, lambda x: x + 1)(5) == 26
    assert np.isclose(Chain(sf.exp, sf.sum, sf.log)(sf.array([1.0, 2, 3])), 3.4076059644443806)
    assert sf.outdims(Chain(Conv((3, 3), (3, 16)), Conv((3, 3), (16, 32))), (10, 10)) == (6, 6)
    n = sf.symbols("n", integer=True, positive=True)
    size = sf.outdims(Conv((3, 3), (3, 16), stride=2, pad=1), (n, n))
    assert str(size) == "(floor((n - 1)/2) + 1, floor((n - 1)/2) + 1)"
    assert [size[0].subs(n, v) for v in (5, 6, 7)] == [3, 3, 4]


def test_layers_print_like_flux():
    assert repr(Dense(10, 5, σ)) == "Dense(10 => 5, σ)  # 55 parameters"
    assert repr(Dense(5, 2)) == "Dense(5 => 2)  # 12 parameters"
    assert repr(Conv((2, 2), (1, 16), sf.relu)) == "Conv((2, 2), 1 => 16, relu)  # 80 parameters"
    assert str(Dense(10, 5, σ).expr()) == "σ(W·x + b)"
    assert str(Dense(3, 2, sf.relu).expr()) == "relu(W·x + b)"
    text = repr(Chain(Dense(10, 5, σ), Dense(5, 2), softmax))
    assert text.startswith("Chain(\n  Dense(10 => 5, σ),") and "Total: 4 arrays, 67 parameters" in text
    long = repr(Chain(Dense(10, 5, σ), sf.ConvTranspose((2, 2), (8, 4), groups=4)))  # past the column
    assert "  ConvTranspose((2, 2), 8 => 4, groups=4),  # 36 parameters" in long  # two spaces, as Flux's


def test_dense():
    d = Dense(10, 100)
    assert d.W.shape == (100, 10) and d.W.dtype == np.float32
    assert Dense(np.random.rand(100, 10), np.random.rand(100)).σ is sf.identity
    assert len(Dense(10, 5)(np.random.randn(10))) == 5
    ones = Dense(10, 2, sf.identity, initW=lambda o, i: np.ones((o, i)), initb=lambda o: np.zeros(o))
    assert np.array_equal(ones(np.ones((1, 10))), 10 * np.ones((1, 2)))
    assert np.array_equal(ones(np.stack([np.ones(10), 2 * np.ones(10)])), [[10, 10], [20, 20]])
    W, b = sf.randn(3, 4), sf.randn(3)
    x = sf.randn(4)
    np.testing.assert_allclose(Dense(W, b, sf.tanh)(x), np.tanh(W @ x + b))


def test_chain_indexing_and_activations():
    m = Chain(Dense(10, 5, σ), Dense(5, 2))
    assert m[0] is m.layers[0] and isinstance(m[1:], Chain) and len(m[1:]) == 1 and len(m) == 2
    x = np.random.rand(3)
    acts = sf.activations(Chain(lambda v: v**2, lambda v: v - 3, np.tan), x)
    np.testing.assert_allclose(acts[2], np.tan(x**2 - 3))
    assert sf.activations(Chain(), x) == ()
    with pytest.raises(ValueError, match=r"Dense\(2 => 1\).*expected 2 input features.*\(5,\)"):
        Chain(Dense(10, 5, σ), Dense(2, 1))(np.random.randn(10))


def test_gradient_through_activations():
    c = Chain(Dense(3, 5, sf.relu), Dense(5, 1, sf.relu))
    gs = gradient(lambda: sf.activations(c, np.ones(3, dtype=np.float32))[1][0], params(c))
    assert len(gs) == 4


def test_diagonal_maxout_skip():
    assert len(sf.Diagonal(10)(np.random.randn(10))) == 10
    assert len(sf.Diagonal(10)(1)) == 10 and len(sf.Diagonal(10)(np.random.randn(1))) == 10
    with pytest.raises(ValueError, match="Diagonal"):
        sf.Diagonal(10)(np.random.randn(2))
    x = np.random.rand(5)
    assert np.array_equal(sf.Maxout(lambda: sf.identity, 4)(x), x)
    assert np.allclose(sf.Maxout((lambda v: v, lambda v: 2 * v, lambda v: 0.5 * v))(x), 2 * x)
    assert len(params(sf.Maxout(lambda: Dense(32, 64), 4))) == 8
    inp = np.random.rand(4)
    assert np.array_equal(sf.SkipConnection(lambda v: np.zeros(np.shape(v)), lambda a, b: a + b)(inp), inp)
    cat = sf.SkipConnection(Dense(10, 10), lambda a, b: sf.concatenate([a, b], axis=0))
    assert cat(np.random.randn(2, 10)).shape == (4, 10)


def test_params_precision_init():
    assert [p.shape for p in params(Dense(10, 5))] == [(5, 10), (5,)]
    assert [p.shape for p in params(sf.RNN(10, 5))] == [(5, 10), (5, 5), (5,), (5,)]
    m = Dense(10, 5)
    assert len(params(Chain(m, m))) == 2
    c = Chain(Dense(10, 5, sf.relu), Dense(5, 2))
    assert c[0].W.dtype == np.float32 and c(np.random.rand(10)).dtype == np.float32
    c64 = sf.f64(c)
    assert c64[0].W.dtype == np.float64 and c64(np.random.rand(10)).dtype == np.float64
    assert sf.f32(c64)[0].W.dtype == np.float32 and c[0].W.dtype == np.float32
    assert sf.nfan() == (1, 1) and sf.nfan(100) == (1, 100) and sf.nfan(100, 200) == (200, 100)
    assert sf.nfan(2, 30, 40) == (60, 80) and sf.nfan(2, 3, 40, 50) == (240, 300)
    for init in (sf.glorot_uniform, sf.glorot_normal):
        w = init(100, 200)
        assert w.dtype == np.float32 and abs(np.var(w) / (2 / 300) - 1) < 0.1


def test_fmap_copies_with_a_function_applied():
    a = sf.Dense(3, 2)
    doubled = sf.fmap(lambda x: 2 * x, a)
    assert np.allclose(doubled.W, 2 * a.W) and doubled is not a and doubled.W is not a.W
    assert sf.f64(a).W.dtype == np.float64


def test_non_integer_and_bad_sizes():
    with pytest.raises(ValueError, match="integers"):
        Dense(10, 10.5)
    with pytest.raises(ValueError, match=r"DepthwiseConv.*multiple"):
        sf.DepthwiseConv((2, 2), (3, 10))
    with pytest.raises(ValueError, match=r"Conv\(\(3, 3\), 3 => 16\).*3 input channels.*\(1, 2, 10, 10\)"):
        Conv((3, 3), (3, 16))(np.zeros((1, 2, 10, 10), np.float32))
    with pytest.raises(ValueError, match=r"Conv\(\(5, 5\), 1 => 1\).*larger than the padded input"):
        Conv((5, 5), (1, 1))(np.zeros((1, 1, 3, 3), np.float32))
    with pytest.raises(ValueError, match="Dense"):
        Dense(10, 5)(1.0)


def test_layer_formula_is_sympy():
    f = Dense(4, 3, sf.tanh).expr()
    assert isinstance(f.expr, sympy.MatrixExpr) and f.expr.shape == (3, 1)


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
def test_gru_matches_pytorch_after_mapping_weights():
    rng = np.random.default_rng(4)
    m = sf.f64(sf.GRU(3, 4))
    for p in sf.params(m):
        p[...] = rng.standard_normal(p.shape) * 0.5
    ref = torch.nn.GRU(3, 4, batch_first=True).double()
    with torch.no_grad():
        ref.weight_ih_l0.copy_(torch.tensor(np.asarray(m.cell.Wi)))
        ref.weight_hh_l0.copy_(torch.tensor(np.asarray(m.cell.Wh)))
        ref.bias_ih_l0.copy_(torch.tensor(np.asarray(m.cell.b)))
        ref.bias_hh_l0.zero_()
    xs = rng.standard_normal((2, 5, 3))
    h0 = np.tile(np.asarray(m.cell.h), (2, 1))
    m.state = h0
    ours = np.stack([m(xs[:, t]) for t in range(5)], axis=1)
    theirs, _ = ref(torch.tensor(xs), torch.tensor(h0)[None])
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-10)
    m.state = h0

    def loss(x):
        m.state = h0
        return sf.sum(sf.stack([m(x[:, t]) for t in range(5)]) ** 2)
    (g,) = sf.gradient(loss, xs)
    xt = torch.tensor(xs, requires_grad=True)
    (ref(xt, torch.tensor(h0)[None])[0] ** 2).sum().backward()
    np.testing.assert_allclose(g, xt.grad.numpy(), rtol=1e-9)


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("make,ref", [
    (lambda: sf.InstanceNorm(4), lambda x, m: torch.nn.functional.instance_norm(x, eps=1e-5)),
    (lambda: sf.GroupNorm(4, 2), lambda x, m: torch.nn.functional.group_norm(x, 2, eps=1e-5)),
], ids=["InstanceNorm", "GroupNorm"])
def test_instance_and_group_norm_match_pytorch(make, ref):
    rng = np.random.default_rng(6)
    m = sf.f64(make())
    m.γ[...] = rng.uniform(0.5, 1.5, 4)
    m.β[...] = rng.standard_normal(4)
    x = rng.standard_normal((2, 4, 3, 5))
    xt = torch.tensor(x, requires_grad=True)
    gamma, beta = (torch.tensor(np.asarray(a)).reshape(1, 4, 1, 1) for a in (m.γ, m.β))
    want = ref(xt, m) * gamma + beta
    np.testing.assert_allclose(sf.trainmode(m)(x), want.detach().numpy(), rtol=1e-10)
    (g,) = sf.gradient(lambda v: sf.sum(m(v) ** 3), x)
    (want**3).sum().backward()
    np.testing.assert_allclose(g, xt.grad.numpy(), rtol=1e-8, atol=1e-10)
    assert not np.allclose(m.μ, 0)  # running statistics moved; test mode uses them
    sf.testmode(m)
    np.testing.assert_allclose(m(x)[0, :, 0, 0], ((x[0, :, 0, 0].reshape(m.groups, -1)
                                                   - m.μ[:, None]) / np.sqrt(m.σ2[:, None] + 1e-5)).ravel()
                               * m.γ + m.β, rtol=1e-10)


def test_alpha_dropout_keeps_mean_and_variance():
    x = np.random.default_rng(0).standard_normal(200_000)
    y = sf.trainmode(sf.AlphaDropout(0.2))(x)
    assert abs(y.mean()) < 0.01 and abs(y.std() - 1) < 0.01 and (y != x).mean() > 0.15
    assert sf.AlphaDropout(0.5)(x) is x  # not training: the identity


def test_keyword_constructors_and_bias_free_dense():
    w = np.random.default_rng(1).standard_normal((4, 3, 2, 2)).astype(np.float32)
    c = sf.Conv(weight=w, bias=np.zeros(4, np.float32), activation=sf.relu, stride=2, pad=1)
    assert c.σ is sf.relu and c.stride == (2, 2) and c(np.ones((1, 3, 5, 5), np.float32)).shape == (1, 4, 3, 3)
    assert sf.CrossCor(weight=w, bias=False).bias is None
    d = sf.Dense(3, 2, bias=False)
    assert d.b is None and len(sf.params(d)) == 1
    np.testing.assert_allclose(d(np.ones(3, np.float32)), np.asarray(d.W).sum(1), rtol=1e-6)
    assert sf.Dense(np.ones((2, 3)), False).b is None
    with pytest.raises(TypeError, match="weight=…, bias=…"):
        sf.Conv(stride=2)
