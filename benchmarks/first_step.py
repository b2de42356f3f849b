"""The first training step (trace + differentiate + compile + run) of an MLP 784-256-…-10 (tanh),
batch 32, float32, with 0, 4 and 8 extra 256-wide hidden layers: symflux's train_step against
jax.jit(value_and_grad + SGD). Each measurement is a fresh process with a cold compilation cache;
symflux's twice: with its runtime libraries built (once per machine, as jaxlib ships XLA built) and
with nothing built at all. Run: python benchmarks/first_step.py [repeats]"""

import statistics
import sys

from common import cold_process, fmt, table, write_result

DEPTHS = (0, 4, 8)

SYMFLUX = """
import time, numpy as np
import symflux as sf
rng = np.random.default_rng(0)
model = sf.Chain(sf.Dense(784, 256, sf.tanh), *[sf.Dense(256, 256, sf.tanh) for _ in range({extra})], sf.Dense(256, 10))
x = rng.random((32, 784), dtype=np.float32); y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 32)]
step = sf.train_step(lambda x, y: sf.logitcrossentropy(model(x), y), sf.params(model), sf.Descent(0.01))
t = time.perf_counter(); step(x, y); print(time.perf_counter() - t)
"""

JAX = """
import time, numpy as np
import jax, jax.numpy as jnp
rng = np.random.default_rng(0)
sizes = [784] + [256] * ({extra} + 1) + [10]
params = [(jnp.asarray(rng.standard_normal((m, n), dtype=np.float32) * 0.05), jnp.zeros(m, jnp.float32))
          for n, m in zip(sizes, sizes[1:])]
x = jnp.asarray(rng.random((32, 784), dtype=np.float32))
y = jnp.asarray(np.eye(10, dtype=np.float32)[rng.integers(0, 10, 32)])
def loss(p, x, y):
    h = x
    for W, b in p[:-1]:
        h = jnp.tanh(h @ W.T + b)
    return -jnp.mean(jnp.sum(y * jax.nn.log_softmax(h @ p[-1][0].T + p[-1][1]), axis=-1))
@jax.jit
def step(p, x, y):
    value, g = jax.value_and_grad(loss)(p, x, y)
    return jax.tree_util.tree_map(lambda w, gw: w - 0.01 * gw, p, g), value
t = time.perf_counter(); p, v = step(params, x, y); v.block_until_ready(); print(time.perf_counter() - t)
"""


def first_step(program: str, extra: int, runtime_built: bool = True) -> float:
    return float(cold_process(program.format(extra=extra), runtime_built).strip().splitlines()[-1])


def run(repeats: int) -> str:
    rows = []
    for extra in DEPTHS:
        ours, nothing_built, theirs = [], [], []
        for _ in range(repeats):  # alternating, so that a noisy moment hits both tools
            ours.append(first_step(SYMFLUX, extra))
            nothing_built.append(first_step(SYMFLUX, extra, False))
            try:
                theirs.append(first_step(JAX, extra))
            except ModuleNotFoundError:
                pass
        ours, nothing_built = statistics.median(ours), statistics.median(nothing_built)
        theirs = statistics.median(theirs) if theirs else None
        rows.append([extra, fmt(ours), fmt(nothing_built), fmt(theirs), f"{ours / theirs:.2f}" if theirs else "–"])
        print(rows[-1], flush=True)
    return table(["extra hidden layers", "symflux first step", "symflux, runtime not built", "JAX jit first step",
                  "ratio"], rows)


if __name__ == "__main__":
    print(write_result("first_step", run(int(sys.argv[1]) if len(sys.argv) > 1 else 3)))
