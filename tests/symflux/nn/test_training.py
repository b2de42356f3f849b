"""Normalisation, dropout, recurrent layers, losses, activations, optimisers, training and the
2017 API (flux_spec.md §4.6–4.9, §5), against PyTorch where it has the layer."""

import copy
import math
import time

import numpy as np
import pytest
from gradcheck import check_all_orders, needs_torch, torch

import symflux as sf
from symflux import Chain, Dense, gradient, params

rng = np.random.default_rng(11)


# -- BatchNorm, Dropout, LayerNorm ---------------------------------------------------------------------

def test_batchnorm_flux_case():
    m = sf.BatchNorm(2)
    x = np.array([[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]]).T  # three samples of two channels
    gradient(lambda: sf.sum(m(x)), params(m))  # a forward pass in training mode
    assert np.allclose(m.μ, [0.3, 0.4]) and np.allclose(m.σ2, [1.3, 1.3])
    assert np.allclose(sf.trainmode(sf.BatchNorm(2))(x).T, [[-1.22474, 0, 1.22474]] * 2, atol=1e-5)
    assert np.isclose(sf.testmode(m)(x)[0, 0], (1 - 0.3) / math.sqrt(1.3), rtol=1e-5)  # Float32 layer
    assert len(params(m)) == 2


@needs_torch
def test_batchnorm_matches_pytorch_in_both_modes():
    x = rng.standard_normal((4, 3, 5, 5))
    ours = sf.f64(sf.BatchNorm(3))
    ours.γ[...] = rng.uniform(0.5, 1.5, 3)
    ours.β[...] = rng.standard_normal(3)
    ref = torch.nn.BatchNorm2d(3, eps=1e-5, momentum=0.1).double()
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(ours.γ))
        ref.bias.copy_(torch.tensor(ours.β))
    y = sf.trainmode(ours)(x)
    assert np.allclose(y, ref.train()(torch.tensor(x)).detach().numpy())
    assert np.allclose(ours.μ, ref.running_mean.numpy()) and np.allclose(ours.σ2, ref.running_var.numpy())
    assert np.allclose(sf.testmode(ours)(x), ref.eval()(torch.tensor(x)).detach().numpy())


def test_batchnorm_gradients_first_and_second_order():
    def batchnorm(x, γ):
        μ = sf.mean(x, axis=(0, 2), keepdims=True)
        σ2 = sf.mean((x - μ) ** 2, axis=(0, 2), keepdims=True)
        return γ[None, :, None] * (x - μ) / sf.sqrt(σ2 + 1e-5)

    ref = (lambda x, γ: torch.nn.functional.batch_norm(x, None, None, γ, None, training=True)) if torch else None
    check_all_orders(batchnorm, ref, rng.standard_normal((3, 2, 4)), rng.uniform(0.5, 1.5, 2), third=False)
    m = sf.f64(sf.BatchNorm(2))
    check_all_orders(lambda x: sf.trainmode(m)(x), None, rng.standard_normal((4, 2)), third=False)


def test_dropout():
    x = rng.random((100, 50))
    assert np.array_equal(sf.Dropout(0.1)(x), x)  # inactive outside gradient
    assert np.array_equal(gradient(lambda v: sf.sum(sf.Dropout(0)(v)), x)[0], np.ones_like(x))
    assert np.array_equal(gradient(lambda v: sf.sum(sf.Dropout(1)(v)), x)[0], np.zeros_like(x))
    g = gradient(lambda v: sf.sum(sf.Dropout(0.5, dims=1)(v)), x)[0]
    assert all(len(set(g[:, j])) == 1 for j in range(50))  # whole columns kept or dropped
    kept = gradient(lambda v: sf.sum(sf.Dropout(0.3)(v)), np.ones(20000))[0]
    assert set(np.unique(kept)) <= {0.0, 1 / 0.7}  # the scale is exact and abs((kept > 0).mean() - 0.7) < 0.02
    y = sf.trainmode(sf.Dropout(0.5))(x)
    assert 0.4 < (y == 0).mean() < 0.6
    with pytest.raises(ValueError, match="probability"):
        sf.Dropout(1.5)


def test_layernorm():
    x = rng.standard_normal((4, 6))
    m = sf.f64(sf.LayerNorm(6))
    expected = (x - x.mean(-1, keepdims=True)) / (x.std(-1, keepdims=True) + 1e-5)
    assert np.allclose(m(x), expected)
    check_all_orders(lambda v: m(v), None, x, third=False)


# -- recurrent layers ---------------------------------------------------------------------------------

@needs_torch
def test_rnn_and_lstm_match_pytorch_over_a_sequence():
    xs = rng.standard_normal((5, 2, 3))  # time, batch, features
    rnn, lstm = sf.f64(sf.RNN(3, 4)), sf.f64(sf.LSTM(3, 4))
    t_rnn, t_lstm = torch.nn.RNNCell(3, 4).double(), torch.nn.LSTMCell(3, 4).double()
    with torch.no_grad():
        for ours, ref in ((rnn.cell, t_rnn), (lstm.cell, t_lstm)):
            ref.weight_ih.copy_(torch.tensor(ours.Wi))
            ref.weight_hh.copy_(torch.tensor(ours.Wh))
            ref.bias_ih.copy_(torch.tensor(ours.b))
            ref.bias_hh.zero_()
    h = torch.zeros(2, 4, dtype=torch.float64)
    hc = (torch.zeros(2, 4, dtype=torch.float64), torch.zeros(2, 4, dtype=torch.float64))
    for x in xs:
        h = t_rnn(torch.tensor(x), h)
        hc = t_lstm(torch.tensor(x), hc)
        assert np.allclose(rnn(x), h.detach().numpy())
        assert np.allclose(lstm(x), hc[0].detach().numpy())
    sf.reset(Chain(rnn, lstm))
    assert np.array_equal(rnn.state, rnn.cell.h) and lstm.state[0] is lstm.cell.h


def test_recurrent_gradients_through_time():
    lstm = sf.f64(sf.LSTM(2, 3))
    xs = rng.standard_normal((4, 2))

    def loss(Wi):
        sf.reset(lstm)
        lstm.cell.Wi, saved = Wi, lstm.cell.Wi
        try:
            return sf.sum(sf.stack([lstm(x) for x in xs]) ** 2)
        finally:
            lstm.cell.Wi = saved

    check_all_orders(loss, None, np.asarray(lstm.cell.Wi), third=False)
    sf.reset(lstm)  # the initial state (h, c) is a parameter
    gs = gradient(lambda: sf.sum(lstm(xs[0])) + sf.sum(lstm(xs[1])), params(lstm))
    assert len(gs) == 5 and all(g is not None for g in gs.values())
    assert isinstance(lstm.state[0], np.ndarray)  # the state is concrete again after the gradient


# -- activations and losses ----------------------------------------------------------------------------

def test_flux_activation_cases():
    assert sf.σ(0.0) == 0.5 and np.isclose(sf.σ(1.0), 1 / (1 + math.exp(-1)))
    assert sf.relu(-1.0) == 0.0 and sf.leakyrelu(-1.0) == -0.01 and np.isclose(sf.leakyrelu(-0.4, 0.3), -0.12)
    assert np.isclose(sf.elu(-1.0), math.exp(-1) - 1) and np.isclose(sf.elu(-4), math.exp(-4) - 1)
    assert np.isclose(sf.softplus(0.0), math.log(2)) and np.isclose(sf.softplus(1e8), 1e8)
    assert np.isclose(sf.softplus(-1e8), 0)
    assert np.isclose(sf.gelu(1.0), 0.8411919906082768) and np.isclose(sf.gelu(-1.0), -0.15880800939172324)
    assert sf.selu(1.0) == 1.0507009873554804934193349852946 and sf.softsign(1.0) == 0.5
    assert np.isclose(sf.hardσ(0.3), 0.56) and sf.relu6(10.0) == 6.0
    assert sf.trelu(1.1) == 1.1 and sf.trelu(1.0) == 0.0 and sf.trelu(2.0, 3) == 0.0
    assert np.isclose(sf.logcosh(0.5), math.log(math.cosh(0.5))) and np.isclose(sf.logcosh(1000.0), 1000 - math.log(2))
    assert np.allclose(sf.softmax(np.array([1.0, 2, 3])), [0.0900306, 0.244728, 0.665241])
    assert np.allclose(sf.softmax(np.array([-1e5, -1e5])), [0.5, 0.5])
    assert np.allclose(sf.logsoftmax(np.array([1, 2, 3000], np.float32)), [-2999, -2998, 0])
    xs = np.array([[1, 2, 3], [1000, 2000, 3000]], np.float32).T  # columns are samples in Flux
    assert np.allclose(sf.logsoftmax(xs), [[-999, 0], [-1998, 0], [-2997, 0]])
    (g_log,) = sf.jacobian(lambda v: sf.sum(sf.logsoftmax(v)), xs.astype(np.float64))
    assert np.allclose(g_log, [[1, -1]] * 3)
    (g_soft,) = sf.jacobian(lambda v: sf.sum(sf.softmax(v)), xs.astype(np.float64))
    assert np.allclose(g_soft, 0)
    assert isinstance(sf.relu(1), (int, np.integer))


def test_flux_loss_cases():
    y, ŷ = np.array([1, 1, 0, 0.0]), np.array([0.9, 0.1, 0.1, 0.9])
    assert np.isclose(sf.mse(ŷ, y), 0.41) and np.isclose(sf.mae(ŷ, y), 0.5)
    assert np.isclose(sf.huber_loss(ŷ, y), 0.205)
    assert np.isclose(sf.msle(np.array([345.0, 332, 789]), np.array([123.0, 456, 789])), 0.38813985859136585)
    Y = np.array([[0, 1], [0, 1], [1, 0], [1, 0.0]])
    Ŷ = np.array([[0.1, 0.9], [0.9, 0.1], [0.9, 0.1], [0.1, 0.9]])
    assert np.isclose(sf.crossentropy(Ŷ, Y), 1.203972804325936)
    v = math.log(0.1 / 0.9)
    assert np.isclose(sf.logitcrossentropy(np.array([[v, 0], [0, v], [0, v], [v, 0]]), Y), 1.203972804325936)
    assert np.isclose(sf.crossentropy(np.array([0.1, 0.0, 0.9]), np.array([0.1, 0.0, 0.9])),
                      sf.crossentropy(np.array([0.1, 0.9]), np.array([0.1, 0.9])))
    col = lambda *v: np.array(v, dtype=float)[:, None]  # Flux's 1×N rows are N samples here
    assert np.isclose(sf.kldivergence(col(4, 5, 6), col(1, 2, 3)), -1.7661057888493457)
    assert np.isclose(sf.kldivergence(col(1, 2, 3), col(1, 2, 3)), 0)
    assert np.isclose(sf.hinge_loss(col(5, 6, 7, 8), col(1, 2, 3, 4)), 0)
    assert np.isclose(sf.hinge_loss(col(1, 2, 3, 4), 0.5 * col(1, 2, 3, 4)), 0.125)
    assert np.isclose(sf.squared_hinge_loss(col(1, 2, 3, 4), 0.5 * col(1, 2, 3, 4)), 0.0625)
    assert np.isclose(sf.poisson_loss(col(0.4, 0.5, 0.6), col(0.1, 0.2, 0.3)), 0.6278353988097339)
    assert np.isclose(sf.poisson_loss(col(0.1, 0.2, 0.3), col(0.1, 0.2, 0.3)), 0.5044459776946685)
    y4, ŷ4 = np.array([1.0, 0.5, 0.3, 2.4]), np.array([0, 1.4, 0.5, 1.2])
    assert np.isclose(sf.dice_coeff_loss(ŷ4, y4), 0.28) and np.isclose(sf.dice_coeff_loss(y4, y4), 0)
    assert np.isclose(sf.tversky_loss(ŷ4, y4), -0.06772009029345383)
    assert np.isclose(sf.tversky_loss(ŷ4, y4, β=0.8), -0.09490740740740744)
    assert np.isclose(sf.tversky_loss(y4, y4), -0.5576923076923075)
    logits, labels = np.array([-1.1491, 0.8619, 0.3127]), np.array([1, 1, 0.0])
    assert np.isclose(sf.logitbinarycrossentropy(logits, labels),
                      sf.binarycrossentropy(sf.σ(logits), labels, ϵ=0))
    assert np.allclose(sf.binarycrossentropy(sf.σ(logits), labels, agg=sf.identity),
                       [1.424397097347566, 0.35231664672364077, 0.8616703662235441])


def test_losses_keep_float32_and_differentiate():
    ŷ, y = rng.random((4, 3)).astype(np.float32), np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]
    for loss in (sf.mse, sf.crossentropy, sf.logitcrossentropy, sf.binarycrossentropy, sf.kldivergence):
        value, (g,) = sf.value_and_gradient(lambda p: loss(p, y), ŷ)
        assert np.asarray(value).dtype == np.float32 and g.dtype == np.float32
    check_all_orders(lambda p: sf.logitcrossentropy(p, np.eye(3)[[0, 2]]),
                     (lambda p: torch.nn.functional.cross_entropy(p, torch.tensor([0, 2]))) if torch else None,
                     rng.standard_normal((2, 3)))


# -- optimisers ------------------------------------------------------------------------------------------

OPTIMISERS = [sf.Descent(0.1), sf.ADAM(), sf.Momentum(), sf.Nesterov(), sf.RMSProp(), sf.ADAGrad(),
              sf.AdaMax(), sf.ADADelta(0.9), sf.AMSGrad(), sf.NADAM(), sf.RADAM(), sf.ADAMW(),
              sf.Optimiser(sf.InvDecay(), sf.ADAM()), sf.Optimiser(sf.ClipValue(1.0), sf.ADAM()),
              sf.Optimiser(sf.ClipNorm(1.0), sf.ADAM())]


@pytest.mark.parametrize("opt", OPTIMISERS, ids=repr)
def test_optimisers_fit_a_linear_map(opt):
    sf.seed(1)
    target = sf.randn(10, 10)
    w = sf.randn(10, 10)
    x = sf.rand(10)
    loss = lambda: sf.mse(w @ x, target @ x)
    step = sf.train_step(lambda: loss(), params(w), opt)
    first = loss()
    for _ in range(3000):
        step()
    assert loss() < 0.01 or loss() < 0.05 * first


@needs_torch
def test_adam_and_rmsprop_steps_match_pytorch():
    x0 = rng.standard_normal(5)
    grads = [rng.standard_normal(5) for _ in range(4)]
    for ours, ref_cls, kw in ((sf.ADAM(0.01), torch.optim.Adam, dict(lr=0.01, eps=1e-8)),
                              (sf.Momentum(0.01, 0.9), torch.optim.SGD, dict(lr=0.01, momentum=0.9))):
        w = sf.array(x0.copy())
        t = torch.tensor(x0.copy(), requires_grad=True)
        ref = ref_cls([t], **kw)
        for g in grads:
            sf.update(ours, w, g.copy())
            t.grad = torch.tensor(g)
            ref.step()
        assert np.allclose(w, t.detach().numpy(), rtol=1e-6, atol=1e-9)


def test_expdecay_schedule_and_update_semantics():
    o = sf.ExpDecay(0.2, 0.5, 1, 1e-3)
    p = np.zeros(1)
    expected = [max(0.2 * 0.5**t, 1e-3) for t in range(1, 9)]
    assert [o.apply(p, np.ones(1))[0] for _ in range(8)] == pytest.approx(expected)
    a, b = sf.ones(2), sf.ones(2)
    gs = gradient(lambda: sf.sum(a * 3.0), params(a, b))
    sf.update(sf.Descent(0.1), params(a, b), gs)
    assert np.allclose(a, 0.7) and np.allclose(b, 1.0)  # b's gradient is None: skipped
    sf.update(a, np.full(2, 0.7))
    assert np.allclose(a, 0)


# -- train ---------------------------------------------------------------------------------------------------

def test_train_passes_single_arguments_and_stops():
    r = sf.rand(3)
    sf.train(lambda x: sf.sum(x * x), params(r), (r,), sf.Descent(0.1))
    calls = []

    def cb():
        calls.append(1)
        if len(calls) > 3:
            sf.stop()

    history = sf.train(lambda: sf.sum(r * r), params(r), [()] * 100, sf.Descent(0.01), cb=cb)
    assert len(calls) == 4 and len(history) == 4


def test_design_training_session():
    sf.seed(0)
    model = Chain(Dense(4, 8, sf.relu), Dense(8, 3))
    X = sf.randn(90, 4).astype(np.float32)
    labels = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    Y = np.eye(3, dtype=np.float32)[labels]
    data = [(X[i:i + 30], Y[i:i + 30]) for i in range(0, 90, 30)]
    opt = sf.ADAM(1e-2)
    loss = lambda x, y: sf.logitcrossentropy(model(x), y)
    before = float(loss(X, Y))
    history = sf.train(loss, params(model), data, opt, epochs=30)
    assert len(history) == 90 and history[-1] < 0.5 * before
    step = sf.train_step(loss, params(model), opt)
    W = model[0].W
    value = step(X, Y)
    assert model[0].W is W and np.isfinite(value) and value.dtype == np.float32


def test_train_step_with_batchnorm_and_dropout():
    model = Chain(Dense(3, 6), sf.BatchNorm(6, sf.relu), sf.Dropout(0.5), Dense(6, 1))
    x, y = sf.randn(16, 3).astype(np.float32), sf.randn(16, 1).astype(np.float32)
    step = sf.train_step(lambda a, b: sf.mse(model(a), b), params(model), sf.Descent(0.01))
    step(x, y)
    μ1 = model[1].μ.copy()
    step(x, y)
    assert not np.allclose(μ1, model[1].μ)  # running statistics move every step
    assert len(step._plans) == 1


# -- the 2017 API ---------------------------------------------------------------------------------------------

def test_affine_back_and_update():
    a = sf.Affine(10, 20)
    xs = sf.randn(1, 10)
    assert np.allclose(a(xs), xs @ a.W + a.b)
    Δ = sf.randn(1, 20)
    dx = sf.back(a, Δ, xs)
    assert np.allclose(dx, Δ @ a.W.T)
    W0, b0 = a.W.copy(), a.b.copy()
    sf.back(a, Δ, xs)  # accumulates
    sf.update(a, 0.1)
    assert np.allclose(a.W, W0 - 0.1 * 2 * xs.T @ Δ) and np.allclose(a.b, b0 - 0.1 * 2 * Δ)
    sf.update(a, 0.1)  # cleared: no change
    assert np.allclose(a.W, W0 - 0.1 * 2 * xs.T @ Δ)


def test_net_decorator():
    @sf.net
    class Linear:
        def __init__(self, n_in, n_out):
            self.W = np.random.randn(n_in, n_out)

        def __call__(self, x):
            return x @ self.W

    m = Linear(3, 2)
    assert isinstance(m.W, sf.Array) and params(m) == [m.W]
    x = np.random.randn(4, 3)
    sf.back(m, np.ones((4, 2)), x)
    W0 = m.W.copy()
    sf.update(m, 0.5)
    assert np.allclose(m.W, W0 - 0.5 * x.T @ np.ones((4, 2)))
    square = sf.net(lambda v: v**2)
    assert square(3) == 9 and np.isclose(sf.back(square, 1.0, 3.0), 6.0)
    chain = Chain(sf.exp, sf.sum, sf.log)
    assert np.isclose(chain(np.array([1.0, 2, 3])), 3.408, atol=1e-3)


@pytest.mark.parametrize("opt", [sf.Descent(0.1), sf.Momentum(0.1), sf.Nesterov(0.1), sf.RMSProp(0.1), sf.ADAM(0.1),
                                 sf.RADAM(0.1), sf.AdaMax(0.1), sf.NADAM(0.1), sf.AMSGrad(0.1), sf.ADAGrad(0.1),
                                 sf.ADADelta(0.9), sf.ADAMW(0.1, decay=0.1), sf.ExpDecay(0.1, 0.5, 2),
                                 sf.Optimiser(sf.ClipNorm(1.0), sf.InvDecay(0.1), sf.ADAM(0.1))], ids=repr)
def test_compiled_optimiser_steps_match_eager_updates(opt):
    """The rule compiled into the training step (state updated in place) equals Flux's update!."""
    import copy

    eager_opt = copy.deepcopy(opt)
    w_step, w_eager = sf.array([1.0, -2.0, 3.0]), sf.array([1.0, -2.0, 3.0])
    step = sf.train_step(lambda: sf.sum(w_step**2 * sf.sin(w_step)), params(w_step), opt)
    for _ in range(6):
        step()
        g = gradient(lambda: sf.sum(w_eager**2 * sf.sin(w_eager)), params(w_eager))
        sf.update(eager_opt, params(w_eager), g)
    np.testing.assert_allclose(w_step, w_eager, rtol=1e-12, atol=1e-14)


def test_compiled_step_calls_native_code_directly_and_falls_back_for_other_batches():
    """After its first call a compiled step runs as one C call (codegen.runtime.fastcall) taking the batch
    in place; batches of another shape, dtype or layout take the general path, with the same results."""
    from codegen.runtime.fastcall import dispatcher_type

    rng = np.random.default_rng(3)
    W0, b0 = rng.standard_normal((2, 5)), rng.standard_normal(2)
    W, b, W_ref, b_ref = sf.array(W0.copy()), sf.array(b0.copy()), sf.array(W0.copy()), sf.array(b0.copy())
    step = sf.train_step(lambda x, y: sf.sum((y - (W @ x + b)) ** 2), params(W, b), sf.ADAM(0.01))
    ref = sf.train_step(lambda x, y: sf.sum((y - (W_ref @ x + b_ref)) ** 2), params(W_ref, b_ref), sf.ADAM(0.01),
                        backend=None)
    x, y = rng.standard_normal(5), rng.standard_normal(2)
    batches = [(x, y), (x, y), (np.asfortranarray(np.tile(x, (2, 1)))[0], y), (list(x), y),
               (x.astype(np.float32), y), (x, y), (rng.standard_normal(5), y)]
    for batch in batches:
        loss = step(*batch)
        assert isinstance(loss, np.float64) and loss.item() == float(loss)
        np.testing.assert_allclose(loss, ref(*batch), rtol=1e-12)
        np.testing.assert_allclose(W, W_ref, rtol=1e-12)
        np.testing.assert_allclose(b, b_ref, rtol=1e-12)
    if dispatcher_type() is not None:
        assert step._fast is not None
        assert step._fast(np.ones(4), y) is NotImplemented


@pytest.mark.parametrize("shape", [(16, 6, 8), (64, 300, 40)])  # small: the axpy form; larger: the packed dot form
@pytest.mark.parametrize("opt", [lambda: sf.Descent(0.1), lambda: sf.Momentum(0.05)], ids=["Descent", "Momentum"])
def test_weight_updates_fused_into_the_gradient_contraction(shape, opt):
    """W − η·∇W is the epilogue of the contraction that computes ∇W, written straight over W: the
    compiled step equals the interpreted one."""
    batch, n_in, n_hidden = shape
    x = rng.standard_normal((batch, n_in)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, batch)]
    models = [Chain(Dense(n_in, n_hidden, sf.relu), Dense(n_hidden, 3)) for _ in range(2)]
    for p, q in zip(params(models[1]), params(models[0])):
        p[...] = q
    steps = [sf.train_step(lambda x, y, m=m: sf.logitcrossentropy(m(x), y), params(m), opt(), backend=backend)
             for m, backend in zip(models, ["llvm", None])]
    for _ in range(3):
        np.testing.assert_allclose(steps[0](x, y), steps[1](x, y), rtol=1e-5)
    for p, q in zip(params(models[0]), params(models[1])):
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-6)


def test_new_optimisers_follow_flux_and_take_pytorch_keywords():
    w, g = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    opt = sf.OADAM()  # v0.11.1 defaults: η = 0.001, β = (0.5, 0.9)
    m, v = 0.5 * g, 0.1 * g**2
    step = 0.001 * (m / 0.5) / (np.sqrt(v / 0.1) + 1e-8)
    np.testing.assert_allclose(opt.apply(w, g.copy()), 2 * step)  # Δ′ = 2d − d_prev, d_prev = 0
    opt = sf.AdaBelief()
    m = 0.1 * g
    s = 0.001 * (g - m) ** 2
    np.testing.assert_allclose(opt.apply(w, g.copy()), 0.001 * m / (np.sqrt(s) + 1e-8))
    assert sf.ADAM(lr=0.01, betas=(0.8, 0.9)).beta == (0.8, 0.9) and sf.Adam(0.01).eta == 0.01
    assert sf.Momentum(lr=0.2, momentum=0.5).rho == 0.5 and sf.RMSprop is sf.RMSProp
    with pytest.raises(TypeError, match="both given"):
        sf.ADAM(lr=0.1, eta=0.2)


def test_reset_inside_the_loss_does_not_retrace_every_step():
    sf.seed(2)
    model = sf.f64(sf.Chain(sf.GRU(3, 4), sf.Dense(4, 1)))
    twin = copy.deepcopy(model)
    xs, y = np.random.default_rng(3).standard_normal((3, 5, 3)), np.random.default_rng(4).standard_normal((5, 1))

    def loss_of(m):
        def loss(x, target):
            sf.reset(m)  # Flux's reset! at the start of each sequence
            for t in range(3):
                out = m(x[t])
            return sf.mse(out, target)
        return loss

    step = sf.train_step(loss_of(model), sf.params(model), sf.Descent(0.1))
    for _ in range(4):
        step(xs, y)
        gs = sf.gradient(lambda: loss_of(twin)(xs, y), sf.params(twin))
        sf.update(sf.Descent(0.1), sf.params(twin), gs)
    for a, b in zip(sf.params(model), sf.params(twin)):
        np.testing.assert_allclose(a, b, rtol=1e-10)
    start = time.perf_counter()
    step(xs, y)
    assert time.perf_counter() - start < 0.1  # the traced step is reused, not traced again
