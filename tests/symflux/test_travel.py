"""Compiled code that travels: pickled with its object code into another process, and the thread count
read at call time."""

import os
import pathlib
import pickle
import subprocess
import sys
import textwrap

import cloudpickle
import numpy as np
import pytest

import symflux as sf

sf.seed(1)
MODEL = sf.Chain(sf.Dense(3, 16, sf.tanh), sf.Dense(16, 2))
ROOT = pathlib.Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent("""
    import pickle, sys
    import numpy as np
    import symflux.compile
    def traced_again(*args, **kwargs):
        raise AssertionError("the unpickled function traced and compiled again")
    symflux.compile.Traced = traced_again
    with open(sys.argv[1], "rb") as f:
        compiled, x = pickle.load(f)
    np.save(sys.argv[2], compiled(x))
""")


def _run_child(script, *args, cache):
    env = dict(os.environ, SYMFLUX_CACHE_DIR=str(cache), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", script, *map(str, args)], env=env, capture_output=True, text=True)


def test_a_called_compiled_function_runs_in_a_new_process_without_compiling_again(tmp_path):
    compiled = sf.compile(MODEL)
    x = np.random.default_rng(0).standard_normal((1000, 3)).astype(np.float32)
    expected = compiled(x)
    (tmp_path / "f.pkl").write_bytes(pickle.dumps((compiled, x)))
    done = _run_child(CHILD, tmp_path / "f.pkl", tmp_path / "y.npy", cache=tmp_path / "empty-cache")
    assert done.returncode == 0, done.stderr
    got = np.load(tmp_path / "y.npy")
    assert got.dtype == expected.dtype and got.tobytes() == np.asarray(expected).tobytes()  # bitwise


def test_unpickling_the_same_code_twice_links_it_once():
    compiled = sf.compile(MODEL)
    compiled(np.ones((2, 3), np.float32))
    first, second = pickle.loads(pickle.dumps(compiled)), pickle.loads(pickle.dumps(compiled))
    a, b = [next(iter(c._signatures.values())).executable for c in (first, second)]
    assert a.code is b.code


def test_code_for_another_toolchain_is_rebuilt_from_its_ir(monkeypatch):
    compiled = sf.compile(MODEL)
    v = np.linspace(0, 1, 9, dtype=np.float32).reshape(3, 3)
    expected = compiled(v)
    state = pickle.dumps(compiled)
    runtime = sf.compile.__globals__["default_runtime"]()
    monkeypatch.setattr(runtime, "toolchain", runtime.toolchain + "|another machine")
    rebuilt = []
    original = runtime.object_code
    monkeypatch.setattr(runtime, "object_code", lambda ir: rebuilt.append(ir) or original(ir))
    np.testing.assert_array_equal(pickle.loads(state)(v), expected)
    assert rebuilt


def test_training_steps_pickle_with_their_compiled_step_and_resume():
    m = sf.Dense(3, 1)
    step = sf.train_step(lambda x, y: sf.mse(m(x), y), sf.params(m), sf.ADAM(0.01))
    x, y = np.ones((4, 3), np.float32), np.zeros((4, 1), np.float32)
    step(x, y)
    copy = pickle.loads(cloudpickle.dumps(step))
    (plan,) = copy._plans.values()  # the compiled step came along: no tracing on the other side
    assert copy(x, y) == step(x, y)
    assert list(copy._plans.values()) == [plan]


THREADS_CHILD = textwrap.dedent("""
    import os
    import numpy as np
    import symflux as sf
    from codegen import default_runtime
    def tasks():
        return len(os.listdir("/proc/self/task"))
    f = sf.compile(lambda v: sf.sin(v) ** 2)
    default_runtime().starter.join()  # the thread that starts LLVM's processes in turn is done
    x = np.linspace(0, 1, 4_000_000)
    os.environ["OMP_NUM_THREADS"] = "1"  # set after import: read at the call
    before = tasks(); f(x); alone = tasks() - before
    sf.set_num_threads(2); f(x); two = tasks() - before
    print(alone, two)
""")


@pytest.mark.skipif(not os.path.isdir("/proc/self/task") or (os.cpu_count() or 1) < 2, reason="Linux, 2+ cores")
def test_the_thread_count_is_read_at_call_time(tmp_path):
    done = _run_child(THREADS_CHILD, cache=tmp_path / "cache")
    assert done.returncode == 0, done.stderr
    alone, two = map(int, done.stdout.split())
    assert alone == 0 and two == 1  # OMP_NUM_THREADS=1: no worker; set_num_threads(2): one worker
