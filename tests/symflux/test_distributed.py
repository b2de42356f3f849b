"""Data-parallel training over MPI: two ranks on half batches end where one process on whole batches does."""

import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("mpi4py")
ROOT = pathlib.Path(__file__).resolve().parents[2]
MPIEXEC = shutil.which("mpiexec") or shutil.which("mpirun")

TRAIN = textwrap.dedent("""
    import sys
    import numpy as np
    import symflux as sf
    from symflux import distributed as dist
    sf.seed(0)
    model = sf.f64(sf.Chain(sf.Dense(3, 4, sf.tanh), sf.Dense(4, 1)))
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((64, 3)), rng.standard_normal((64, 1))
    ps = sf.params(model)
    dist.broadcast_parameters(ps)
    opt = dist.DistributedOptimizer(sf.Descent(0.1))
    losses = sf.train(lambda x, y: sf.mse(model(x), y), ps,
                      [dist.shard((X[k:k + 16], Y[k:k + 16])) for k in range(0, 64, 16)], opt, epochs=5)
    np.save(f"{sys.argv[1]}/rank{dist.rank()}of{dist.size()}.npy",
            np.concatenate([np.ravel(p) for p in ps] + [losses]))
""")


def _run(command, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), SYMFLUX_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run([*command, sys.executable, "-c", TRAIN, str(tmp_path)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec")
def test_two_ranks_on_half_batches_reach_the_parameters_of_one_process_on_whole_batches(tmp_path):
    _run([MPIEXEC, "-n", "2"], tmp_path)
    _run([], tmp_path)  # one process: the same script, a world of one
    rank0, rank1, alone = (np.load(tmp_path / name) for name in ("rank0of2.npy", "rank1of2.npy", "rank0of1.npy"))
    np.testing.assert_array_equal(rank0, rank1)  # the ranks stay identical
    np.testing.assert_allclose(rank0, alone, rtol=1e-12, atol=1e-14)  # and equal single-process training


def test_shards_split_rows_consistently():
    from symflux import distributed as dist
    x, y = np.arange(10), np.arange(10) * 2
    parts = [dist.shard((x, y), r, 3) for r in range(3)]
    assert [list(p[0]) for p in parts] == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert all((p[1] == 2 * p[0]).all() for p in parts)
