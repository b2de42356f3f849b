"""W4: per-call overhead — Dense(5→2) linear regression, one sample, gradient + SGD update (float64).
Run: python benchmarks/w4_small.py"""

import numpy as np
from common import bench, table, write_result

import symflux as sf

rng = np.random.default_rng(0)
W0, b0 = rng.standard_normal((2, 5)), rng.standard_normal(2)
X, Y = rng.standard_normal(5), rng.standard_normal(2)
LR = 0.01


def symflux_step():
    W, b = sf.array(W0.copy()), sf.array(b0.copy())
    step = sf.train_step(lambda x, y: sf.sum((y - (W @ x + b)) ** 2), sf.params(W, b), sf.Descent(LR))
    return lambda: step(X, Y)


def symflux_gradient():
    W, b = sf.array(W0.copy()), sf.array(b0.copy())

    def run():
        gs = sf.gradient(lambda: sf.sum((Y - (W @ X + b)) ** 2), sf.params(W, b))
        W.__isub__(LR * gs[W])
        b.__isub__(LR * gs[b])
    return run


def numpy_by_hand():
    W, b = W0.copy(), b0.copy()

    def run():
        r = 2 * (W @ X + b - Y)
        W.__isub__(LR * np.outer(r, X))
        b.__isub__(LR * r)
    return run


def numba_step():
    from numba import njit

    @njit(cache=False)
    def step(W, b, x, y):
        r = 2 * (W @ x + b - y)
        for i in range(W.shape[0]):
            for j in range(W.shape[1]):
                W[i, j] -= LR * r[i] * x[j]
            b[i] -= LR * r[i]

    W, b = W0.copy(), b0.copy()
    return lambda: step(W, b, X, Y)


def jax_step():
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)

    @jax.jit
    def step(W, b, x, y):
        g = jax.grad(lambda W, b: jnp.sum((y - (W @ x + b)) ** 2), argnums=(0, 1))(W, b)
        return W - LR * g[0], b - LR * g[1]

    state = [jnp.asarray(W0), jnp.asarray(b0)]
    x, y = jnp.asarray(X), jnp.asarray(Y)

    def run():
        state[0], state[1] = step(state[0], state[1], x, y)
        state[0].block_until_ready()
    return run


def torch_step():
    import torch
    W = torch.tensor(W0.copy(), requires_grad=True)
    b = torch.tensor(b0.copy(), requires_grad=True)
    x, y = torch.tensor(X), torch.tensor(Y)

    def run():
        gW, gb = torch.autograd.grad(((y - (W @ x + b)) ** 2).sum(), (W, b))
        with torch.no_grad():
            W.sub_(LR * gW)
            b.sub_(LR * gb)
    return run


def main():
    rows = []
    for name, make in (("symflux train_step (LLVM, Descent)", symflux_step),
                       ("symflux gradient + update (trace every call)", symflux_gradient),
                       ("numpy by hand", numpy_by_hand), ("numba njit (update by hand)", numba_step),
                       ("JAX jit(grad + update)", jax_step),
                       ("PyTorch autograd.grad + sub_", torch_step)):
        try:
            run = make()
            run()
            med, mn = bench(run)
            rows.append([name, f"{med * 1e6:.2f}", f"{mn * 1e6:.2f}"])
        except ImportError:
            rows.append([name, "not installed", ""])
        print(*rows[-1], sep=" | ", flush=True)
    print(write_result("w4_small", table(["tool", "µs/step median", "min"], rows)))


if __name__ == "__main__":
    main()
