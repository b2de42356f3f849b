"""W8: linear algebra at n = 500, float64 — solve, Cholesky and slogdet, their values and gradients:
symflux (interpreter: NumPy's LAPACK plus the symbolic derivative graph) against NumPy/SciPy (the
LAPACK call alone, a floor) and jax.jit(value_and_grad). Compiled symflux code does not run these yet.
Run: python benchmarks/w8_linalg.py [n]"""

import sys

import numpy as np
import scipy.linalg
from common import bench, fmt, table, write_result

import symflux as sf


def problems(n, rng):
    m = rng.standard_normal((n, n))
    a = m @ m.T + n * np.eye(n)
    b = rng.standard_normal(n)
    return {
        "solve": (lambda x, lib: lib.sum(lib.linalg.solve(x, b) ** 2),
                  lambda: scipy.linalg.solve(a, b, assume_a="pos")),
        "cholesky": (lambda x, lib: lib.sum(lib.linalg.cholesky(x)), lambda: scipy.linalg.cholesky(a, lower=True)),
        "slogdet": (lambda x, lib: lib.linalg.slogdet(x)[1], lambda: np.linalg.slogdet(a)),
    }, a


def run(n):
    rng = np.random.default_rng(0)
    cases, a = problems(n, rng)
    rows = []
    for name, (f, lapack) in cases.items():
        value = bench(lambda: f(a, np), repeat=5)[0]
        grad = bench(lambda: sf.value_and_grad(lambda x: f(x, np))(a), repeat=5)[0]
        try:
            import jax
            import jax.numpy as jnp
            jax.config.update("jax_enable_x64", True)
            jf = jax.jit(jax.value_and_grad(lambda x: f(x, jnp)))
            aj = jnp.asarray(a)
            jf(aj)[1].block_until_ready()
            jax_time = fmt(bench(lambda: jf(aj)[1].block_until_ready(), repeat=5)[0])
        except ImportError:
            jax_time = "–"
        rows.append([name, n, fmt(bench(lapack, repeat=5)[0]), fmt(value), fmt(grad), jax_time])
        print(rows[-1], flush=True)
    header = ["op", "n", "LAPACK call (SciPy/NumPy)", "NumPy value", "symflux value_and_grad", "JAX jit value_and_grad"]
    return table(header, rows)


if __name__ == "__main__":
    print(write_result("w8_linalg", run(int(sys.argv[1]) if len(sys.argv) > 1 else 500)))
