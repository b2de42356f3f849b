"""W7: Hessians of the three problems of Laue, Mitterreiter and Giesen (NeurIPS 2018), float64:
xᵀAx; logistic regression Σ log(1 + exp(−y ⊙ Xw)) with X of 2n × n; matrix factorisation
‖T − UVᵀ‖² with respect to U (n × k, k = 5). First call (trace + differentiate + compile + run) and
steady state, symflux against jax.jit(jax.hessian(f)) and torch.autograd.functional.hessian.
Run: python benchmarks/w7_hessian.py [n ...]   (default: 100 1000)"""

import sys
import time

import numpy as np
from common import bench, fmt, table, write_result

import symflux as sf

K = 5


def problems(n, rng):
    """name: (f(m) for a namespace m with sum, log, exp and asarray, the point)."""
    A = rng.standard_normal((n, n))
    X, y = rng.standard_normal((2 * n, n)), np.sign(rng.standard_normal(2 * n))
    T, V = rng.standard_normal((n, n)), rng.standard_normal((n, K))

    def quadratic(m):
        a = m.asarray(A)
        return lambda x: x @ a @ x

    def logistic(m):
        xs, ys = m.asarray(X), m.asarray(y)
        return lambda w: m.sum(m.log(1 + m.exp(-ys * (xs @ w))))

    def factorisation(m):
        t, vt = m.asarray(T), m.asarray(V.T.copy())
        return lambda U: m.sum((t - U @ vt) ** 2)

    return {"xᵀAx": (quadratic, rng.standard_normal(n)),
            "logistic regression": (logistic, rng.standard_normal(n)),
            "matrix factorisation": (factorisation, rng.standard_normal((n, K)))}


def first_and_steady(make):
    """(first call, steady-state median, result): ``make()`` builds a fresh callable (no caches)."""
    t0 = time.perf_counter()
    fn = make()
    result = fn()
    first = time.perf_counter() - t0
    return first, bench(fn, repeat=5, target=0.3)[0], result


class SymfluxNumpy:
    sum, log, exp, asarray = sf.sum, sf.log, sf.exp, np.asarray


def symflux_compiled(f, x):
    def make():
        g = f(SymfluxNumpy)
        h = sf.compile(lambda v: sf.hessian(g, v))
        return lambda: h(x)
    return first_and_steady(make)


def symflux_interpreted(f, x):
    return first_and_steady(lambda: (lambda g: lambda: sf.hessian(g, x))(f(SymfluxNumpy)))


def jax_jit(f, x):
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)

    def make():
        h = jax.jit(jax.hessian(f(jnp)))  # jnp has sum, log, exp and asarray
        xj = jnp.asarray(x)
        return lambda: h(xj).block_until_ready()
    return first_and_steady(make)


def torch_hessian(f, x):
    import torch

    class TorchNumpy:
        sum, log, exp, asarray = torch.sum, torch.log, torch.exp, torch.tensor

    xt = torch.tensor(x)
    return first_and_steady(lambda: (lambda fn: lambda: torch.autograd.functional.hessian(
        fn, xt, vectorize=True))(f(TorchNumpy)))


def run(sizes):
    rows = []
    for n in sizes:
        rng = np.random.default_rng(n)
        for name, (f, x) in problems(n, rng).items():
            results = {"symflux compile": symflux_compiled(f, x), "symflux interpreter": symflux_interpreted(f, x)}
            for peer, runner in (("JAX jit", jax_jit), ("PyTorch", torch_hessian)):
                try:
                    results[peer] = runner(f, x)
                except ImportError:
                    results[peer] = None
                except Exception as e:  # noqa: BLE001  (JAX runs out of memory on factorisation at n = 1000)
                    results[peer] = f"failed: {type(e).__name__}: {str(e).splitlines()[0][:60]}"
            reference = np.asarray(results["symflux compile"][2])
            for peer, r in results.items():
                if isinstance(r, tuple):
                    got = np.asarray(r[2])
                    assert np.allclose(got, reference, rtol=1e-8, atol=1e-8 * np.abs(reference).max()), (name, n, peer)
            rows.append([name, n] + [f"{fmt(r[0])} / {fmt(r[1])}" if isinstance(r, tuple) else r or "–"
                                     for r in results.values()])
            print(rows[-1], flush=True)
    header = ["problem", "n", *("first / steady: " + k for k in results)]
    return table(header, rows)


if __name__ == "__main__":
    sizes = [int(a) for a in sys.argv[1:]] or [100, 1000]
    print(write_result("w7_hessian", run(sizes)))
