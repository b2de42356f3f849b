"""symflux.compiling: compiles run with the cyclic collector paused and name their stage on a progress
line once they have taken longer than SHOW_AFTER_S (a second)."""

import gc

import numpy as np

import symflux as sf
from symflux import compiling


def _compile_fresh(name):
    """A compile that no cache answers (a constant of its own), under ``name``."""
    value = np.random.default_rng().standard_normal()

    def f(x):
        return sf.sum(sf.tanh(x * value) ** 2)
    f.__name__ = name
    return sf.compile(f)(np.linspace(0, 1, 7))


def test_a_compile_longer_than_the_delay_names_itself_and_its_stages(monkeypatch, capsys):
    monkeypatch.setattr(compiling, "SHOW_AFTER_S", 0.0)
    _compile_fresh("my_loss")
    shown = capsys.readouterr().err
    assert "compiling my_loss" in shown
    for stage in ("tracing", "lowering", "rendering LLVM IR", "LLVM 1/"):
        assert stage in shown


def test_a_quick_compile_shows_nothing_and_the_collector_is_restored(monkeypatch, capsys):
    monkeypatch.setattr(compiling, "SHOW_AFTER_S", 60.0)  # quicker than that, however loaded the machine
    assert gc.isenabled()
    _compile_fresh("quick")
    assert "compiling" not in capsys.readouterr().err
    assert gc.isenabled()


def test_a_training_step_and_a_nested_compile_show_one_line(monkeypatch, capsys):
    monkeypatch.setattr(compiling, "SHOW_AFTER_S", 0.0)
    inner = sf.compile(lambda x: sf.sum(x ** 3))
    m = sf.Dense(3, 2)
    step = sf.train_step(lambda x: sf.sum(m(x) ** 2) + inner(x), sf.params(m), sf.Descent(0.1))
    step(np.ones(3, np.float32))
    shown = capsys.readouterr().err
    assert "compiling train_step" in shown and "differentiating" in shown
    assert "compiling <lambda>" not in shown  # the compiled function inside the step is traced through
