"""W3's MLP (784-256-10, SGD, batch 256) data-parallel over MPI ranks vs one process: step times and
the overheads by name. Run: mpiexec -n 2 python benchmarks/w3_mpi.py   (and -n 1 for one process)"""

import statistics
import time

import numpy as np
from common import fmt, table, write_result

import symflux as sf
from symflux import distributed as dist


def timed(fn, steps=20, repeat=5):
    """Median seconds per call over fixed counts: every rank makes the same calls (each one reduces)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(steps):
            fn()
        times.append((time.perf_counter() - t0) / steps)
    return statistics.median(times)


def main():
    sf.seed(0)
    model = sf.Chain(sf.Dense(784, 256, sf.relu), sf.Dense(256, 10))
    ps = sf.params(model)
    dist.broadcast_parameters(ps)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 784)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 256)]
    loss = lambda a, b: sf.logitcrossentropy(model(a), b)  # noqa: E731
    local = dist.shard((x, y))
    rows = []
    if dist.size() == 1:
        fused = sf.train_step(loss, ps, sf.Descent(0.01))  # the update inside the compiled step
        rows.append(["one process, update in the compiled step", fmt(timed(lambda: fused(x, y)))])
    step = sf.train_step(loss, ps, dist.DistributedOptimizer(sf.Descent(0.01)))
    t0 = time.perf_counter()
    step(*local)
    first = time.perf_counter() - t0
    med = timed(lambda: step(*local))
    grads = [np.zeros(p.shape, np.float32) for p in ps]
    reduce_only = timed(lambda: dist.DistributedOptimizer(sf.Descent(0.01)).reduce(0.0, grads))
    rows += [[f"{dist.size()} rank(s), {len(local[0])} rows each: gradient + allreduce + update", fmt(med)],
             ["  of which the fused allreduce (814 kB, one float32 buffer)", fmt(reduce_only)],
             ["  first step (trace + compile)", fmt(first)]]
    if dist.rank() == 0:
        text = table(["W3 step", "time (median)"], rows)
        print(text)
        write_result(f"w3_mpi_{dist.size()}", text)


if __name__ == "__main__":
    main()
