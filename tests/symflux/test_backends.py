"""The backend registry: one path from graph to callable for compile and train_step, donation."""

import numpy as np
import pytest

import symflux as sf
from symflux import backends
from symflux.ir import new_input

rng = np.random.default_rng(7)


def test_registry_names_every_backend_and_refuses_unknown_ones():
    assert {"interpreter", "llvm", "cuda"} <= set(backends.names())
    with pytest.raises(ValueError, match="unknown backend 'tpu'.*interpreter"):
        sf.compile(lambda x: x, backend="tpu")
    with pytest.raises(ValueError, match="train_step: unknown backend"):
        sf.train_step(lambda: 0.0, [], sf.Descent(0.1), backend="tpu")


def test_donation_pairs_each_output_with_the_first_free_input_of_its_shape_and_dtype():
    a, b, c = new_input((3,), np.float64), new_input((3,), np.float64), new_input((3,), np.float32)
    outs = [new_input((3,), np.float32), new_input((3,), np.float64), new_input((), np.float64),
            new_input((3,), np.float64), new_input((3,), np.float64)]
    assert backends.donation([a, b, c], outs, donate=[0, 1, 2]) == {0: 2, 1: 0, 3: 1}
    assert backends.donation([a, b, c], outs, donate=[1]) == {1: 1}
    assert backends.donation([a, b, c], outs, donate=()) == {}


@pytest.mark.parametrize("backend", ["interpreter", "llvm"])
def test_every_backend_writes_donated_arguments_in_place(backend):
    w, x = np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.5, 0.5])
    step = sf.compile(lambda w, x: (w - 0.1 * sf.grad(lambda u: sf.sum((u * x) ** 2))(w), sf.sum(w)),
                      backend=backend, donate_argnums=0)
    expected = w - 0.1 * 2 * w * x**2
    new, total = step(w, x)
    np.testing.assert_allclose(w, expected)
    assert np.shares_memory(new, w) and total == 6.0


def test_the_interpreter_backend_shows_the_graph_as_its_source():
    f = sf.compile(lambda a, b: sf.tanh(a @ b), backend="interpreter")
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    np.testing.assert_allclose(f(a, b), np.tanh(a @ b))
    source = f.source()
    assert "einsum" in source and "return" in source


@pytest.mark.parametrize("opt", [sf.ADAM(1e-2), sf.Momentum(0.05), sf.Descent(0.1)])
def test_a_training_step_is_the_same_on_every_backend(opt):
    """Loss, gradient and a traced optimiser rule donating parameters and moments, each backend."""
    x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
    start = sf.Chain(sf.Dense(3, 4, sf.tanh), sf.Dense(4, 2))
    histories, weights = {}, {}
    for backend in ["interpreter", "llvm", None]:
        m = sf.fmap(lambda a: sf.array(np.copy(a)), start)
        step = sf.train_step(lambda a, b: sf.mse(m(a), b), sf.params(m), type(opt)(*_hyper(opt)), backend=backend)
        histories[backend] = [step(x, y) for _ in range(5)]
        weights[backend] = [np.array(p) for p in sf.params(m)]
    for backend in ["llvm", None]:  # float32 sums in another order
        np.testing.assert_allclose(histories[backend], histories["interpreter"], rtol=1e-5)
        for got, want in zip(weights[backend], weights["interpreter"]):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert histories["llvm"][-1] < histories["llvm"][0]


def _hyper(opt):
    return {sf.ADAM: (1e-2,), sf.Momentum: (0.05,), sf.Descent: (0.1,)}[type(opt)]


def test_a_parameter_without_a_gradient_keeps_its_array_and_values():
    used, unused = sf.array([1.0, 2.0]), sf.array([5.0, 6.0])
    step = sf.train_step(lambda x: sf.sum(used * x), [unused, used], sf.ADAM(0.1))
    step(np.ones(2))
    assert list(unused) == [5.0, 6.0] and not np.allclose(used, [1.0, 2.0])
