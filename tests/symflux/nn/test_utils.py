"""Flux's utilities, batch-first: dropout/normalise functions, one-hot, stacking, sequences,
destructure/loadparams, DataLoader, epochs, skip, kaiming init."""

import importlib
import logging

import numpy as np
import pytest

import symflux as sf

rng = np.random.default_rng(9)


def test_dropout_and_normalise_functions():
    x = np.ones((200, 50))
    assert sf.dropout(x, 0.5, active=False) is x
    y = sf.dropout(x, 0.5)
    assert set(np.unique(y)) <= {0.0, 2.0} and 0.4 < (y == 0).mean() < 0.6
    shared = sf.dropout(x, 0.5, dims=0)  # one mask value per row
    assert all(len(set(row)) == 1 for row in np.asarray(shared))
    z = rng.standard_normal((4, 6)) * 3 + 1
    n = sf.normalise(z)
    np.testing.assert_allclose(n, (z - z.mean(-1, keepdims=True)) / (z.std(-1, keepdims=True) + 1e-5))
    np.testing.assert_allclose(sf.normalise(z, axis=0).mean(0), 0, atol=1e-12)
    assert sf.xlogx(0.0) == 0.0 and sf.xlogy(0.0, 0.0) == 0.0 and np.isclose(sf.xlogy(2.0, 3.0), 2 * np.log(3))


def test_one_hot_encoding_batch_first():
    np.testing.assert_array_equal(sf.onehot(2, [1, 2, 3]), [False, True, False])
    y = sf.onehotbatch([1, 1, 0, 0], [0, 1])
    assert y.shape == (4, 2) and y.dtype == bool
    assert list(sf.onecold(y, [0, 1])) == [1, 1, 0, 0]
    assert sf.onecold(np.array([0.1, 0.7, 0.2]), "abc") == "b"
    with pytest.raises(ValueError, match="not among the labels"):
        sf.onehot(5, [1, 2])
    np.testing.assert_array_equal(sf.onehot(5, [1, 2, 0], 0), [False, False, True])


def test_stacking_and_sequences():
    x = rng.standard_normal((3, 4))
    parts = sf.unstack(x, 1)
    assert len(parts) == 4 and np.array_equal(parts[2], x[:, 2])
    np.testing.assert_array_equal(sf.batch(parts), x.T)
    steps = sf.batchseq([[np.ones(2), np.ones(2)], [np.zeros(2)]], 0.0)
    assert len(steps) == 2 and steps[1].tolist() == [[1, 1], [0, 0]]


def test_destructure_and_loadparams():
    m = sf.Chain(sf.Dense(2, 3, sf.tanh), sf.Dense(3, 1))
    flat, rebuild = sf.destructure(m)
    assert flat.shape == (2 * 3 + 3 + 3 + 1,)
    copy = rebuild(flat * 2)
    np.testing.assert_allclose(copy[0].W, 2 * np.asarray(m[0].W))
    assert copy[0].σ is sf.tanh and m[0].W is not copy[0].W
    x = rng.standard_normal((5, 2)).astype(np.float32)
    (g,) = sf.gradient(lambda p: sf.sum(rebuild(p)(x)), flat)  # a model as a function of one vector
    gs = sf.gradient(lambda: sf.sum(m(x)), sf.params(m))
    np.testing.assert_allclose(g[:6], np.ravel(gs[m[0].W]), rtol=1e-5)
    other = sf.Chain(sf.Dense(2, 3, sf.tanh), sf.Dense(3, 1))
    sf.loadparams(other, sf.params(m))
    np.testing.assert_array_equal(other(x), m(x))
    with pytest.raises(ValueError, match="4 parameter arrays, got 1"):
        sf.loadparams(other, [np.zeros(3)])


def test_dataloader():
    X, Y = np.arange(20.0).reshape(10, 2), np.arange(10)
    batches = list(sf.DataLoader((X, Y), batchsize=4))
    assert [b[0].shape for b in batches] == [(4, 2), (4, 2), (2, 2)] and batches[0][1].tolist() == [0, 1, 2, 3]
    assert len(sf.DataLoader(X, batchsize=4, partial=False)) == 2
    shuffled = np.concatenate([b for b in sf.DataLoader(Y, batchsize=3, shuffle=True)])
    assert sorted(shuffled) == list(range(10)) and list(shuffled) != list(range(10))
    with pytest.raises(ValueError, match="different numbers of observations"):
        sf.DataLoader((X, Y[:3]))
    named = list(sf.DataLoader({"x": X, "y": Y}, batchsize=6, partial=False))  # Flux's named tuple
    assert len(named) == 1 and named[0]["x"].shape == (6, 2) and named[0]["y"].tolist() == list(range(6))
    with pytest.raises(ValueError, match="first axis"):
        sf.DataLoader((X, 3.0))
    W = sf.array(np.zeros(2))
    history = sf.train(lambda x, y: sf.sum((x @ W - y) ** 2), sf.params(W), sf.DataLoader((X, Y * 1.0), 5),
                       sf.Descent(1e-3))
    assert len(history) == 2


def test_epochs_and_skip(caplog):
    with caplog.at_level(logging.INFO, logger="symflux"):
        assert list(sf.epochs(3)) == [1, 2, 3]
    assert "Epoch 2" in caplog.text
    W = sf.array(np.zeros(1))
    calls = []

    def cb():
        calls.append(1)
        if len(calls) == 1:
            sf.skip()
        calls.append(2)
    sf.train(lambda x: sf.sum((W - x) ** 2), sf.params(W), [np.ones(1)] * 3, sf.Descent(0.1), cb=cb)
    assert calls == [1, 1, 2, 1, 2]


def test_kaiming_init():
    w = sf.kaiming_uniform(200, 100)
    bound = np.sqrt(2) * np.sqrt(3 / 100)
    assert w.dtype == np.float32 and np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert abs(sf.kaiming_normal(400, 100).std() - np.sqrt(2 / 100)) < 0.01


def test_throttle_leading_and_trailing():
    import time
    calls = []
    f = sf.throttle(lambda x: calls.append(x), 0.2)
    for i in range(5):
        f(i)
    assert calls == [0]
    calls.clear()
    g = sf.throttle(lambda x: calls.append(x), 0.2, leading=False, trailing=True)
    for i in range(5):
        g(i)
    time.sleep(0.4)
    assert calls == [4]
    calls.clear()
    h = sf.throttle(lambda x: calls.append(x), 0.2, leading=True, trailing=True)
    for i in range(3):
        h(i)
    time.sleep(0.4)
    assert calls == [0, 2]


def test_train_shows_a_progress_bar_with_loss_and_rate(capsys):
    W = sf.array(np.zeros(2))
    data = [(np.ones(2), 1.0)] * 5
    sf.train(lambda x, y: (sf.sum(W * x) - y) ** 2, sf.params(W), data, sf.Descent(0.1), progress=True)
    err = capsys.readouterr().err
    assert "training" in err and "5/5" in err and "loss=" in err and "step/s" in err
    sf.train(lambda x, y: (sf.sum(W * x) - y) ** 2, sf.params(W), data, sf.Descent(0.1), progress=False)
    assert capsys.readouterr().err == ""


def test_a_recurrent_layer_runs_over_a_sequence_given_as_a_list():
    m = sf.RNN(2, 3)
    seq = [np.ones((4, 2)), np.zeros((4, 2)), np.full((4, 2), 0.5)]
    outs = m(seq)
    sf.reset(m)
    expected = [m(x) for x in seq]
    assert len(outs) == 3
    for got, want in zip(outs, expected):
        np.testing.assert_allclose(got, want)


def test_train_once_per_epoch_traces_once():
    """Flux's idiom — calling train once per epoch — reuses the traced and compiled step."""
    training = importlib.import_module("symflux.nn.train")  # the module (sf.train is the function)
    W = sf.array(np.zeros(2))
    data = [(np.ones(2), 1.0)] * 3

    def loss(x, y):
        return (sf.sum(W * x) - y) ** 2

    ps, opt = sf.params(W), sf.Descent(0.1)
    sf.train(loss, ps, data, opt, progress=False)
    (step,) = training._steps[loss].values()
    (plan,) = step._plans.values()
    for _ in range(3):
        sf.train(loss, ps, data, opt, progress=False)
    assert list(training._steps[loss].values()) == [step] and list(step._plans.values()) == [plan]


def test_flux_unsqueeze_chunk_and_frequencies():
    assert sf.unsqueeze(np.ones((2, 3)), 1).shape == (2, 1, 3)
    np.testing.assert_array_equal(sf.grad(lambda a: sf.sum(sf.unsqueeze(a, 0) ** 2))(np.ones(2)), [2, 2])
    assert sf.chunk(list(range(1, 11)), 3) == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]  # Flux: 1:4, 5:8, 9:10
    assert [c.shape for c in sf.chunk(np.ones((5, 2)), 2)] == [(3, 2), (2, 2)]
    assert sf.frequencies(["a", "b", "b"]) == {"a": 1, "b": 2}
