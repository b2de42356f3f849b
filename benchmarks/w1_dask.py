"""W1 on a Dask LocalCluster (2 worker processes × 1 thread, 127.0.0.1) vs one process: the five
derivatives of W1 over N points (default 2×10⁷), the inputs generated on the workers and the results
left there (persisted), so the times are compute plus Dask's scheduling, not data transfer.
Run: python benchmarks/w1_dask.py [N] [chunk]"""

import sys
import time

import numpy as np
from common import fmt, table, write_result
from w1_eval import derivatives

import symflux as sf


def main():
    import dask.array as da
    import distributed
    n = int(float(sys.argv[1])) if len(sys.argv) > 1 else 20_000_000
    chunk = int(float(sys.argv[2])) if len(sys.argv) > 2 else 2_500_000
    compiled = sf.compile(derivatives)
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-2, 2, n), rng.uniform(-2, 2, n)
    compiled(x[:chunk], y[:chunk])  # compiled before timing, as the cluster's first block shape is
    t0 = time.perf_counter()
    compiled(x, y)
    one = time.perf_counter() - t0
    del x, y
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        state = da.random.RandomState(0)
        X, Y = state.uniform(-2, 2, n, chunks=chunk).persist(), state.uniform(-2, 2, n, chunks=chunk).persist()
        distributed.wait([X, Y])
        t0 = time.perf_counter()
        lazy = compiled(X, Y)  # traces once per block shape here; nothing computes yet
        build = time.perf_counter() - t0
        times = []
        for _ in range(3):  # the first run also ships and links the code on the workers
            t0 = time.perf_counter()
            distributed.wait([o.persist() for o in lazy])
            times.append(time.perf_counter() - t0)
    blocks = -(-n // chunk)
    rows = [["one process, 2 threads (sf.compile)", fmt(one), f"{one / n * 1e9:.1f}"],
            [f"LocalCluster 2×1, first run ({blocks} blocks of {chunk:,} points)", fmt(times[0]),
             f"{times[0] / n * 1e9:.1f}"],
            ["LocalCluster 2×1, later runs (best)", fmt(min(times[1:])), f"{min(times[1:]) / n * 1e9:.1f}"],
            ["  building the dask graph (client: probing outputs, compiling per block shape)", fmt(build), "–"]]
    text = table(["W1 over " + f"{n:,} points", "time", "ns/point"], rows)
    print(text)
    write_result("w1_dask", text)


if __name__ == "__main__":
    main()
