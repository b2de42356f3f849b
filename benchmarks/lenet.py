"""LeNet-5 SGD step, NCHW float32, batch 64: symflux's train_step against jax.jit(value_and_grad + SGD)
and PyTorch eager (forward, backward, SGD). Steady-state µs per step (median (min)), and the first step
(trace + differentiate + compile + run) of each in a fresh process with a cold compilation cache
(symflux's runtime libraries built, as jaxlib ships XLA built).
Run: python benchmarks/lenet.py [repeats]"""

import sys

from common import cold_process, fmt, table, write_result

SETUP = """
import time, statistics, numpy as np
rng = np.random.default_rng(0)
x = rng.random((64, 1, 28, 28), dtype=np.float32); y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 64)]
def steady(step, sync=lambda r: r):
    for _ in range(3): sync(step())
    times = []
    for _ in range({repeats}):
        t = time.perf_counter()
        for _ in range(10): r = step()
        sync(r); times.append((time.perf_counter() - t) / 10)
    return statistics.median(times), min(times)
"""

SYMFLUX = SETUP + """
import symflux as sf
model = sf.Chain(sf.Conv((5, 5), (1, 6), sf.relu), sf.MaxPool((2, 2)), sf.Conv((5, 5), (6, 16), sf.relu),
                 sf.MaxPool((2, 2)), sf.flatten, sf.Dense(256, 120, sf.relu), sf.Dense(120, 84, sf.relu),
                 sf.Dense(84, 10))
step = sf.train_step(lambda x, y: sf.logitcrossentropy(model(x), y), sf.params(model), sf.Descent(0.01))
t = time.perf_counter(); step(x, y); first = time.perf_counter() - t
print(first, *steady(lambda: step(x, y)))
"""

JAX = SETUP + """
import jax, jax.numpy as jnp
def init(*shape): return jnp.asarray(rng.standard_normal(shape, dtype=np.float32) * 0.1)
p = dict(c1=init(6, 1, 5, 5), b1=jnp.zeros(6), c2=init(16, 6, 5, 5), b2=jnp.zeros(16),
         w3=init(120, 256), b3=jnp.zeros(120), w4=init(84, 120), b4=jnp.zeros(84), w5=init(10, 84), b5=jnp.zeros(10))
def conv(h, w, b):
    h = jax.lax.conv_general_dilated(h, w, (1, 1), "VALID", dimension_numbers=("NCHW", "OIHW", "NCHW"))
    return jax.nn.relu(h + b[None, :, None, None])
def pool(h): return jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
def loss(p, x, y):
    h = pool(conv(x, p["c1"], p["b1"])); h = pool(conv(h, p["c2"], p["b2"])).reshape(x.shape[0], -1)
    h = jax.nn.relu(h @ p["w3"].T + p["b3"]); h = jax.nn.relu(h @ p["w4"].T + p["b4"])
    return -jnp.mean(jnp.sum(y * jax.nn.log_softmax(h @ p["w5"].T + p["b5"]), axis=-1))
@jax.jit
def step(p, x, y):
    v, g = jax.value_and_grad(loss)(p, x, y)
    return jax.tree_util.tree_map(lambda w, gw: w - 0.01 * gw, p, g), v
xj, yj = jnp.asarray(x), jnp.asarray(y)
t = time.perf_counter(); p2, v = step(p, xj, yj); v.block_until_ready(); first = time.perf_counter() - t
print(first, *steady(lambda: step(p, xj, yj), lambda r: r[1].block_until_ready()))
"""

TORCH = SETUP + """
import torch
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Conv2d(1, 6, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                            torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                            torch.nn.Linear(256, 120), torch.nn.ReLU(), torch.nn.Linear(120, 84), torch.nn.ReLU(),
                            torch.nn.Linear(84, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
xt, yt = torch.from_numpy(x), torch.from_numpy(y)
def step():
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(xt), yt)
    loss.backward(); opt.step(); return loss
t = time.perf_counter(); step(); first = time.perf_counter() - t
print(first, *steady(step))
"""


def measure(program: str, repeats: int):
    """(first step, median step, min step), symflux's with its runtime libraries built; None if the
    peer is not installed."""
    try:
        return tuple(float(v) for v in cold_process(program.format(repeats=repeats), runtime_built=True).split())
    except ModuleNotFoundError:
        return None


def run(repeats: int) -> str:
    rows = []
    for name, program in (("symflux train_step", SYMFLUX), ("JAX jit", JAX), ("PyTorch eager", TORCH)):
        result = measure(program, repeats)
        if result is None:
            rows.append([name, "–", "–"])
        else:
            first, median, best = result
            rows.append([name, f"{fmt(median)} ({fmt(best)})", fmt(first)])
        print(rows[-1], flush=True)
    return table(["LeNet-5, batch 64, float32", "step median (min)", "first step"], rows)


if __name__ == "__main__":
    print(write_result("lenet", run(int(sys.argv[1]) if len(sys.argv) > 1 else 7)))
