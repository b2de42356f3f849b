"""W3: MLP 784-256(tanh)-10, softmax cross-entropy, SGD step, float32, batch 1/32/256 — µs per
training step, peers side by side. Run: python benchmarks/w3_mlp.py"""

import time

import numpy as np
from common import bench, fmt, table, write_result

import symflux as sf

BATCHES = (1, 32, 256)
LR = 0.01


def weights(seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((256, 784)) * 0.05).astype(np.float32), np.zeros(256, np.float32),
            (rng.standard_normal((10, 256)) * 0.05).astype(np.float32), np.zeros(10, np.float32)]


def data(batch, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.random((batch, 784), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)]
    return x, y


def symflux_step(batch):
    W1, b1, W2, b2 = weights()
    model = sf.Chain(sf.Dense(W1, b1, sf.tanh), sf.Dense(W2, b2))
    step = sf.train_step(lambda x, y: sf.logitcrossentropy(model(x), y), sf.params(model), sf.Descent(LR))
    x, y = data(batch)
    return lambda: step(x, y)


def jax_step(batch):
    import jax
    import jax.numpy as jnp

    def loss(p, x, y):
        h = jnp.tanh(x @ p[0].T + p[1])
        logits = h @ p[2].T + p[3]
        return -jnp.mean(jnp.sum(y * jax.nn.log_softmax(logits), axis=-1))

    @jax.jit
    def step(p, x, y):
        value, g = jax.value_and_grad(loss)(p, x, y)
        return [w - LR * gw for w, gw in zip(p, g)], value

    state = [[jnp.asarray(w) for w in weights()]]
    x, y = (jnp.asarray(a) for a in data(batch))

    def run():
        state[0], value = step(state[0], x, y)
        value.block_until_ready()
    return run


def torch_step(batch):
    import torch
    torch.set_num_threads(2)
    W1, b1, W2, b2 = (torch.tensor(w) for w in weights())
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.Tanh(), torch.nn.Linear(256, 10))
    with torch.no_grad():
        for p, w in zip(model.parameters(), (W1, b1, W2, b2)):
            p.copy_(w)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    x, y = (torch.tensor(a) for a in data(batch))
    labels = y.argmax(1)

    def run():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), labels).backward()
        opt.step()
    return run


def main():
    rows = []
    for name, make in (("symflux train_step (LLVM)", symflux_step), ("JAX jit(value_and_grad + SGD)", jax_step),
                       ("PyTorch eager + optim.SGD", torch_step)):
        row = [name]
        for batch in BATCHES:
            try:
                t0 = time.perf_counter()
                run = make(batch)
                run()
                setup = time.perf_counter() - t0
                med, mn = bench(run, repeat=7)
                row.append(f"{med * 1e6:.1f} ({mn * 1e6:.1f}) [first {fmt(setup)}]")
            except ImportError:
                row.append("not installed")
        rows.append(row)
        print(*row, sep=" | ", flush=True)
    print(write_result("w3_mlp", table(["tool"] + [f"B={b} µs med (min)" for b in BATCHES], rows)))


if __name__ == "__main__":
    main()
