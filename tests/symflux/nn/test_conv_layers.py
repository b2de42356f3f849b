"""The conv family and pooling: Flux's cases (flux_spec.md §4.1–4.3, NCHW), PyTorch equivalence,
and first/second-order gradients against PyTorch and finite differences."""

import numpy as np
import pytest
from gradcheck import check_all_orders, needs_torch, torch

import symflux as sf
from symflux import (
    AdaptiveMaxPool,
    AdaptiveMeanPool,
    Chain,
    Conv,
    ConvTranspose,
    CrossCor,
    Dense,
    DepthwiseConv,
    GlobalMaxPool,
    GlobalMeanPool,
    MaxPool,
    MeanPool,
    SamePad,
    outdims,
)

rng = np.random.default_rng(3)
TF = torch.nn.functional if torch is not None else None

OUTDIMS = [
    (Conv((3, 3), (3, 16)), (10, 10), (8, 8)),
    (Conv((3, 3), (3, 16), stride=2), (5, 5), (2, 2)),
    (Conv((3, 3), (3, 16), stride=2, pad=3), (5, 5), (5, 5)),
    (Conv((3, 3), (3, 16), stride=2, pad=3, dilation=2), (5, 5), (4, 4)),
    (ConvTranspose((3, 3), (3, 16)), (8, 8), (10, 10)),
    (ConvTranspose((3, 3), (3, 16), stride=2), (2, 2), (5, 5)),
    (ConvTranspose((3, 3), (3, 16), stride=2, pad=3), (5, 5), (5, 5)),
    (ConvTranspose((3, 3), (3, 16), stride=2, pad=3, dilation=2), (4, 4), (5, 5)),
    (DepthwiseConv((3, 3), (3, 6)), (10, 10), (8, 8)),
    (DepthwiseConv((3, 3), (3, 6), stride=2), (5, 5), (2, 2)),
    (DepthwiseConv((3, 3), (3, 6), stride=2, pad=3), (5, 5), (5, 5)),
    (DepthwiseConv((3, 3), (3, 6), stride=2, pad=3, dilation=2), (5, 5), (4, 4)),
    (CrossCor((3, 3), (3, 16)), (10, 10), (8, 8)),
    (CrossCor((3, 3), (3, 16), stride=2), (5, 5), (2, 2)),
    (CrossCor((3, 3), (3, 16), stride=2, pad=3), (5, 5), (5, 5)),
    (CrossCor((3, 3), (3, 16), stride=2, pad=3, dilation=2), (5, 5), (4, 4)),
    (MaxPool((2, 2)), (10, 10), (5, 5)),
    (MaxPool((2, 2), stride=1), (5, 5), (4, 4)),
    (MaxPool((2, 2), stride=2, pad=3), (5, 5), (5, 5)),
    (MeanPool((2, 2)), (10, 10), (5, 5)),
    (MeanPool((2, 2), stride=1), (5, 5), (4, 4)),
    (MeanPool((2, 2), stride=2, pad=3), (5, 5), (5, 5)),
    (Chain(Conv((3, 3), (3, 16)), Conv((3, 3), (16, 32))), (10, 10), (6, 6)),
    (Dense(10, 5), (10,), (5,)),
    (Chain(Dense(10, 8, sf.σ), Dense(8, 5), Dense(5, 2)), (10,), (2,)),
    (sf.Diagonal(10), (10,), (10,)),
    (sf.Maxout(lambda: Conv((3, 3), (3, 16)), 2), (10, 10), (8, 8)),
]


@pytest.mark.parametrize("layer,isize,expected", OUTDIMS, ids=[f"{i}" for i in range(len(OUTDIMS))])
def test_outdims_cases(layer, isize, expected):
    assert outdims(layer, isize) == expected


def test_outdims_errors_and_channels():
    with pytest.raises(ValueError, match="Dense"):
        outdims(Dense(10, 5), (5, 2))
    with pytest.raises(ValueError, match="Dense"):
        outdims(Chain(Dense(10, 8, sf.σ), Dense(8, 4), Dense(5, 2)), (10,))
    assert outdims(Conv((3, 3), (3, 16)), (2, 3, 10, 10)) == (8, 8)
    with pytest.raises(ValueError, match="channels"):
        outdims(Conv((3, 3), (3, 16)), (2, 1, 10, 10))
    assert outdims(Chain(Dense(10, 5), sf.softmax), (10,)) == (5,)  # a function passes through
    with pytest.raises(TypeError, match="outdims is not defined"):
        outdims(sf.softmax, (10,))


def test_flux_cnn_shapes():
    for layer in (Conv, CrossCor):
        m = Chain(layer((2, 2), (1, 16), sf.relu), MaxPool((2, 2)), layer((2, 2), (16, 8), sf.relu),
                  MaxPool((2, 2)), sf.flatten, Dense(288, 10), sf.softmax)
        assert m(np.zeros((5, 1, 28, 28), np.float32)).shape == (5, 10)


def test_asymmetric_padding_order():
    m = Conv((3, 3), (1, 1), sf.relu, pad=(1, 2, 0, 1))  # (H_lo, H_hi, W_lo, W_hi)
    m.weight[...] = 1
    y = m(np.ones((1, 1, 28, 28), np.float32))[0, 0]
    assert y.shape == (29, 27)
    assert (y[0, 0], y[1, 1], y[0, -1], y[-1, 0], y[-2, 0], y[-1, -1]) == (6, 9, 4, 3, 6, 2)


def test_depthwise_and_transpose_shapes():
    assert DepthwiseConv((2, 2), (3, 15))(np.zeros((5, 3, 28, 28), np.float32)).shape[1] == 15
    assert DepthwiseConv((2, 3), (3, 9))(np.zeros((5, 3, 28, 28), np.float32)).shape[1] == 9
    x = np.zeros((1, 1, 28, 28), np.float32)
    m = Chain(Conv((3, 3), (1, 1)), ConvTranspose((3, 3), (1, 1)))
    assert m(x).shape == (1, 1, 28, 28)
    gs = sf.gradient(lambda: sf.sum(m(x)), sf.params(m))
    assert isinstance(gs, sf.Grads) and gs[m[1].weight].shape == (1, 1, 3, 3)


def test_crosscor_vs_conv_flip():
    w = rng.random((1, 1, 2, 2))
    x = rng.random((1, 1, 5, 5))
    y = CrossCor(w, np.array([0.0]))(x)
    assert np.isclose(y[0, 0, 0, 0], np.sum(w[0, 0] * x[0, 0, :2, :2]))
    assert not np.allclose(y, Conv(w, np.array([0.0]))(x))
    assert np.allclose(CrossCor(w[:, :, ::-1, ::-1].copy(), np.array([0.0]))(x), Conv(w, np.array([0.0]))(x))


def test_delta_response_is_the_kernel():
    data = np.zeros((1, 1, 7, 7), np.float32)
    data[0, 0, 3, 3] = 1
    for k, rows, cols in (((3, 3), slice(1, 4), slice(1, 4)), ((3, 1), slice(1, 4), 3), ((1, 3), 3, slice(1, 4))):
        m = Conv(k, (1, 1))
        y = m(data)[0, 0]
        expected = np.zeros_like(y)
        expected[rows, cols] = m.weight[0, 0].reshape(expected[rows, cols].shape)
        assert np.allclose(y, expected)
    Conv((6, 1), (1, 1), sf.σ)(rng.standard_normal((1, 1, 10, 10)).astype(np.float32))


def test_pooling_layers():
    x = rng.standard_normal((2, 3, 10, 10)).astype(np.float32)
    assert GlobalMaxPool()(x).shape == (2, 3, 1, 1) and GlobalMeanPool()(x).shape == (2, 3, 1, 1)
    assert np.array_equal(MaxPool((2, 2))(x), sf.maxpool(x, (2, 2)))
    assert np.array_equal(AdaptiveMaxPool((5, 5))(x), sf.maxpool(x, (2, 2)))
    assert np.allclose(AdaptiveMeanPool((5, 5))(x), sf.meanpool(x, (2, 2)))
    y = rng.standard_normal((1, 1, 20, 20))
    assert np.array_equal(AdaptiveMaxPool((5, 10))(y), sf.maxpool(y, (4, 2)))


def test_same_pad():
    for layer in (Conv, ConvTranspose, DepthwiseConv, CrossCor):
        for k in ((1,), (2,), (3,), (4, 5), (6, 7, 8)):
            data = np.ones((1, 1) + tuple(n + 3 for n in k), np.float32)
            assert layer(k, (1, 1), pad=SamePad())(data).shape == data.shape
            dilated = layer(k, (1, 1), pad=SamePad(), dilation=tuple(max(n // 2, 1) for n in k))
            assert dilated(data).shape == data.shape
            strided = layer(k, (1, 1), pad=SamePad(), stride=3)(data).shape[2:]
            spatial = data.shape[2:]
            expected = tuple(3 * n for n in spatial) if layer is ConvTranspose else tuple(-(-n // 3) for n in spatial)
            assert strided == expected
    for pool in (MaxPool, MeanPool):
        assert pool((2, 3), pad=SamePad())(np.ones((1, 1, 7, 7))).shape[2:] == (4, 3)


def test_bias_switch_and_training():
    m = Conv(np.ones((3, 1, 2, 2), np.float32), np.ones(3, np.float32))
    out = m(np.zeros((1, 1, 28, 28), np.float32))
    assert out.shape == (1, 3, 27, 27) and out.sum() == out.size
    nobias = Conv((2, 2), (1, 3), bias=False)
    assert nobias.bias is None and nobias(np.zeros((1, 1, 28, 28), np.float32)).sum() == 0
    assert len(sf.params(nobias)) == 1


@needs_torch
def test_layers_match_pytorch():
    x = rng.standard_normal((2, 3, 9, 8))
    w = rng.standard_normal((4, 3, 3, 2))
    b = rng.standard_normal(4)
    tx, tw, tb = torch.tensor(x), torch.tensor(w), torch.tensor(b)
    opts = dict(stride=(2, 1), dilation=(1, 2))
    ref = TF.conv2d(TF.pad(tx, (1, 0, 2, 1)), tw, tb, **opts).numpy()
    assert np.allclose(CrossCor(w, b, pad=(2, 1, 1, 0), **opts)(x), ref)
    assert np.allclose(Conv(w[:, :, ::-1, ::-1].copy(), b, pad=(2, 1, 1, 0), **opts)(x), ref)
    wt = rng.standard_normal((3, 5, 3, 3))
    ref_t = TF.conv_transpose2d(tx, torch.tensor(wt).flip(2, 3), stride=2, padding=1).numpy()
    assert np.allclose(ConvTranspose(wt, np.zeros(5), stride=2, pad=1)(x), ref_t)
    wd = rng.standard_normal((6, 1, 2, 2))
    ref_d = TF.conv2d(tx, torch.tensor(wd).flip(2, 3), groups=3).numpy()
    assert np.allclose(DepthwiseConv(wd, np.zeros(6), groups=3)(x), ref_d)
    assert np.allclose(MaxPool((3, 2), stride=2, pad=1)(x), TF.max_pool2d(tx, (3, 2), 2, padding=1).numpy())
    assert np.allclose(MeanPool((2, 2), stride=1, pad=1)(x), TF.avg_pool2d(tx, 2, 1, padding=1).numpy())
    w1 = rng.standard_normal((2, 3, 3))
    assert np.allclose(CrossCor(w1, np.zeros(2))(x[:, :, 0]), TF.conv1d(tx[:, :, 0], torch.tensor(w1)).numpy())


@needs_torch
def test_grouped_layers_match_pytorch_and_print_their_groups():
    """``groups`` on Conv, CrossCor and ConvTranspose as in Flux and PyTorch (the keyword raised
    TypeError): weights (out, in/groups, *k) and (in, out/groups, *k), compiled gradients too."""
    x = rng.standard_normal((2, 4, 7, 6))
    w, b = rng.standard_normal((6, 2, 3, 2)), rng.standard_normal(6)
    tx = torch.tensor(x)
    ref = TF.conv2d(tx, torch.tensor(w), torch.tensor(b), stride=(2, 1), padding=1, groups=2).numpy()
    layer = CrossCor(w, b, stride=(2, 1), pad=1, groups=2)
    np.testing.assert_allclose(layer(x), ref, rtol=1e-12)
    np.testing.assert_allclose(Conv(w[:, :, ::-1, ::-1].copy(), b, stride=(2, 1), pad=1, groups=2)(x), ref,
                               rtol=1e-12)
    assert repr(layer).startswith("CrossCor((3, 2), 4 => 6, stride=(2, 1), pad=((1, 1), (1, 1)), groups=2)")
    sized = Conv((3, 3), (4, 8), groups=4)
    assert sized.weight.shape == (8, 1, 3, 3) and sized(x.astype(np.float32)).shape == (2, 8, 5, 4)
    assert outdims(sized, (7, 6)) == (5, 4) and "groups" in str(sized.expr())
    wt = rng.standard_normal((4, 3, 3, 3))
    ref_t = TF.conv_transpose2d(tx, torch.tensor(wt).flip(2, 3), stride=2, padding=1, groups=2).numpy()
    transposed = ConvTranspose(wt, np.zeros(6), stride=2, pad=1, groups=2)
    np.testing.assert_allclose(transposed(x), ref_t, rtol=1e-12)
    assert transposed.out_channels == 6 and ConvTranspose((3, 3), (4, 6), groups=2).weight.shape == (4, 3, 3, 3)
    loss = lambda v: sf.sum(sf.tanh(layer(v)) ** 2)
    tv = torch.tensor(x, requires_grad=True)
    ty = TF.conv2d(tv, torch.tensor(w), torch.tensor(b), stride=(2, 1), padding=1, groups=2)
    (torch.tanh(ty) ** 2).sum().backward()
    np.testing.assert_allclose(sf.compile(lambda v: sf.gradient(loss, v)[0])(x), tv.grad.numpy(), rtol=1e-10)
    with pytest.raises(ValueError, match="groups=3"):
        Conv((3, 3), (4, 8), groups=3)
    with pytest.raises(ValueError, match="expected 4 input channels"):
        layer(x[:, :2])


def test_grouped_conv_transpose_gradients():
    x = rng.standard_normal((1, 4, 3, 3))
    wt = rng.standard_normal((4, 1, 2, 2)) * 0.5
    ref_t = (lambda a, b: TF.conv_transpose2d(a, b, stride=2, groups=4)) if torch else None
    check_all_orders(lambda a, b: sf.conv_transpose(a, b, stride=2, groups=4), ref_t, x, wt, third=False)


def _conv_ref(stride=1, pad=0, dilation=1, groups=1, flip=False):
    if torch is None:
        return None
    def ref(x, w):
        w = w.flip(*range(2, w.ndim)) if flip else w
        return TF.conv2d(x, w, stride=stride, padding=pad, dilation=dilation, groups=groups)
    return ref


@pytest.mark.parametrize("case", ["plain", "strided", "dilated-padded", "grouped", "flipped"])
def test_conv_gradients_first_and_second_order(case):
    opts = {"plain": {}, "strided": {"stride": 2}, "dilated-padded": {"dilation": 2, "pad": 1},
            "grouped": {"groups": 2}, "flipped": {"flipped": True}}[case]
    x = rng.standard_normal((2, 4, 6, 5))
    w = rng.standard_normal((4, 4 // opts.get("groups", 1), 3, 2)) * 0.5
    ref_opts = {k: v for k, v in opts.items() if k != "flipped"}
    check_all_orders(lambda a, b: sf.conv(a, b, **opts), _conv_ref(**ref_opts, flip="flipped" in opts),
                     x, w, third=False)


def test_conv_transpose_and_pool_gradients():
    x = rng.standard_normal((1, 2, 4, 3))
    wt = rng.standard_normal((2, 3, 2, 3)) * 0.5
    ref_t = (lambda a, b: TF.conv_transpose2d(a, b, stride=2, padding=1)) if torch else None
    check_all_orders(lambda a, b: sf.conv_transpose(a, b, stride=2, pad=1), ref_t, x, wt, third=False)
    y = rng.permutation(40).reshape(1, 2, 5, 4) / 7.0  # distinct values: no ties at the maxima
    check_all_orders(lambda a: sf.maxpool(a, (2, 2), stride=1, pad=1),
                     (lambda a: TF.max_pool2d(a, 2, 1, padding=1)) if torch else None, y, third=False)
    check_all_orders(lambda a: sf.meanpool(a, (2, 3), stride=(1, 2)),
                     (lambda a: TF.avg_pool2d(a, (2, 3), (1, 2))) if torch else None, y, third=False)


def test_second_derivative_through_a_conv_net():
    net = Chain(Conv((2, 2), (1, 2), sf.tanh), MaxPool((2, 2)), sf.flatten, Dense(8, 1))
    net = sf.f64(net)
    x = rng.standard_normal((1, 1, 5, 5))
    f = lambda v: sf.sum(net(v) ** 2)
    v = rng.standard_normal(x.shape)
    hv = sf.hvp(f, x, v)
    eps = 1e-6
    g = lambda p: np.asarray(sf.gradient(f, p)[0])
    np.testing.assert_allclose(hv, (g(x + eps * v) - g(x - eps * v)) / (2 * eps), rtol=1e-4, atol=1e-6)


def test_outdims_passes_through_flatten_and_reshaping_functions():
    stack = sf.Chain(sf.Conv((3, 3), (1, 4)), sf.MaxPool((2, 2)), sf.flatten)
    assert sf.outdims(stack, (10, 10)) == (64,)
    sized = sf.Chain(sf.Conv((3, 3), (1, 4)), lambda x: x.reshape(x.shape[0], -1), sf.Dense(256, 10))
    assert sf.outdims(sized, (10, 10)) == (10,)
    with pytest.raises(TypeError, match="layer 0 .* plain function"):
        sf.outdims(sf.Chain(lambda x: x, sf.Dense(3, 2)), (3,))
