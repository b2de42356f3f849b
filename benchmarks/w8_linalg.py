"""W8: linear algebra at n = 500, float64 — solve, Cholesky and slogdet, their values and gradients:
symflux compiled (calls into SciPy's LAPACK) and interpreted (NumPy's LAPACK plus the derivative
graph) against the LAPACK call NumPy makes (the floor; target: compiled value within 1.2× of it)
and jax.jit(value_and_grad). Run: python benchmarks/w8_linalg.py [n]"""

import sys

import numpy as np
from common import bench, fmt, table, write_result

import symflux as sf


def problems(n, rng):
    m = rng.standard_normal((n, n))
    a = m @ m.T + n * np.eye(n)
    b = rng.standard_normal(n)
    return {
        "solve": (lambda x, lib: lib.sum(lib.linalg.solve(x, b) ** 2), lambda: np.linalg.solve(a, b)),
        "cholesky": (lambda x, lib: lib.sum(lib.linalg.cholesky(x)), lambda: np.linalg.cholesky(a)),
        "slogdet": (lambda x, lib: lib.linalg.slogdet(x)[1], lambda: np.linalg.slogdet(a)),
    }, a


def run(n):
    rng = np.random.default_rng(0)
    cases, a = problems(n, rng)
    rows = []
    for name, (f, lapack) in cases.items():
        floor = bench(lapack, repeat=7)[0]
        compiled = sf.compile(lambda x: f(x, np))
        compiled(a)
        value = bench(lambda: compiled(a), repeat=7)[0]
        compiled_grad = sf.compile(sf.value_and_grad(lambda x: f(x, np)))
        compiled_grad(a)
        grad = bench(lambda: compiled_grad(a), repeat=5)[0]
        interpreted = bench(lambda: sf.value_and_grad(lambda x: f(x, np))(a), repeat=3)[0]
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
        rows.append([name, n, fmt(floor), fmt(value), f"{value / floor:.2f}", fmt(grad), fmt(interpreted), jax_time])
        print(rows[-1], flush=True)
    header = ["op", "n", "NumPy's LAPACK call", "symflux compiled value", "ratio", "symflux compiled value_and_grad",
              "symflux interpreted value_and_grad", "JAX jit value_and_grad"]
    return table(header, rows)


if __name__ == "__main__":
    print(write_result("w8_linalg", run(int(sys.argv[1]) if len(sys.argv) > 1 else 500)))
