"""Saving and resuming: models, optimiser state and Grads survive pickle and deepcopy with their
identities re-linked, so a resumed run continues bitwise as an uninterrupted one; state dicts."""

import copy
import pickle

import numpy as np
import pytest

import symflux as sf


def _setup():
    sf.seed(3)
    model = sf.Chain(sf.Dense(3, 4), sf.BatchNorm(4, sf.relu), sf.Dense(4, 1))
    return model, sf.ADAM(0.01)


def _batches():
    rng = np.random.default_rng(5)
    return [(rng.standard_normal((8, 3)).astype(np.float32), rng.standard_normal((8, 1)).astype(np.float32))
            for _ in range(6)]


def _run(model, opt, data):
    sf.train(lambda x, y: sf.mse(model(x), y), sf.params(model), data, opt)


@pytest.mark.parametrize("how", ["pickle", "deepcopy", "sf.save"])
def test_a_resumed_run_is_bitwise_the_uninterrupted_one(how, tmp_path):
    data = _batches()
    model, opt = _setup()
    _run(model, opt, data)
    straight = [np.array(p) for p in sf.params(model)] + [np.array(model[1].μ)]

    model, opt = _setup()
    _run(model, opt, data[:3])
    if how == "sf.save":
        sf.save(tmp_path / "run.npz", model, opt)
        model, opt = sf.load(tmp_path / "run.npz")
    else:
        model, opt = pickle.loads(pickle.dumps((model, opt))) if how == "pickle" else copy.deepcopy((model, opt))
    assert all(id(p) in opt.state for p in sf.params(model))  # ADAM's moments follow their parameters
    _run(model, opt, data[3:])
    resumed = [np.array(p) for p in sf.params(model)] + [np.array(model[1].μ)]
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a, b)


def test_unpickled_grads_index_by_their_own_parameters():
    model = sf.Dense(2, 2)
    gs = sf.gradient(lambda: sf.sum(model(np.ones(2, np.float32))), sf.params(model))
    m2, gs2 = pickle.loads(pickle.dumps((model, gs)))
    np.testing.assert_array_equal(gs2[m2.W], gs[model.W])
    assert m2.W in gs2.params and model.W not in gs2


def test_state_dict_round_trip():
    model, _ = _setup()
    sf.trainmode(model)(np.ones((4, 3), np.float32))  # move the running statistics
    d = sf.state_dict(model)
    assert "layers.1.μ" in d and d["layers.0.W"].shape == (4, 3)
    other = sf.Chain(sf.Dense(3, 4), sf.BatchNorm(4, sf.relu), sf.Dense(4, 1))
    sf.load_state_dict(other, d)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_array_equal(sf.testmode(other)(x), sf.testmode(model)(x))
    with pytest.raises(KeyError, match="missing"):
        sf.load_state_dict(sf.Dense(3, 4), d)


def test_saved_files_hold_arrays_and_json_only(tmp_path):
    model = sf.Chain(sf.Conv((3, 3), (1, 2), sf.relu), sf.MaxPool((2, 2)), sf.flatten, sf.Dense(2, 3), sf.softmax)
    sf.save(tmp_path / "m.npz", model)
    with np.load(tmp_path / "m.npz", allow_pickle=False) as data:  # no object arrays: nothing to execute
        assert "__structure__" in data.files
    again = sf.load(tmp_path / "m.npz")
    x = np.random.default_rng(1).standard_normal((2, 1, 4, 4)).astype(np.float32)
    np.testing.assert_array_equal(again(x), model(x))
    assert again[0].σ is sf.relu and again[4] is sf.softmax
    with pytest.raises(TypeError, match=r"model\.layers\[1\] is a function .*lambda"):
        sf.save(tmp_path / "bad.npz", sf.Chain(sf.Dense(2, 2), lambda v: v))

