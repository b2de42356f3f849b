"""W2: k-th derivative of f(x) = exp(sin x)/(1 + x²), k = 1..8 — time and size, peers side by side.

symflux column: trace the nested gradient d(d(…d(f))) and evaluate it once at x = 0.7 (the
derivative bodies are derived there), from cold caches. Op counts: symflux's graph (count_ops of
each body after CSE) against sympy.diff (raw and after cse), SymEngine and JAX's jaxpr size.
Run: python benchmarks/w2_swell.py [kmax]
"""

import sys

import sympy
from common import bench, cold, fmt, table, write_result
from sympy.core.cache import clear_cache

import symflux as sf
from symflux import interp

KMAX = int(sys.argv[1]) if len(sys.argv) > 1 else 8
X0 = 0.7
x = sympy.Symbol("x")
f_sympy = sympy.exp(sympy.sin(x)) / (1 + x**2)


def nested(k):
    f = lambda v: sf.exp(sf.sin(v)) / (1 + v**2)
    for _ in range(k):
        f = (lambda g: (lambda v: sf.gradient(g, v)[0]))(f)
    return f


def symflux_row(k):
    f = nested(k)
    derive, derive_min, value = cold(lambda: f(X0), setup=interp.clear_caches)
    graph = sf.make_graph(f, X0)
    evaluate = bench(lambda: interp.evaluate(graph.outputs, {graph.inputs[0]: X0}))[0]
    return derive, graph.count_ops(), value, evaluate


def sympy_row(k):
    t, _, expr = cold(lambda: sympy.diff(f_sympy, x, k), setup=clear_cache)
    reps, (body,) = sympy.cse(expr)
    cse_ops = sum(sympy.count_ops(e) for _, e in reps) + sympy.count_ops(body)
    fn = sympy.lambdify(x, expr, cse=True)
    return t, sympy.count_ops(expr), cse_ops, float(expr.subs(x, X0)), bench(lambda: fn(X0))[0]


def symengine_time(k):
    try:
        import symengine as se
    except ImportError:
        return None
    xs = se.Symbol("x")
    fse = se.exp(se.sin(xs)) / (1 + xs**2)
    return cold(lambda: se.diff(fse, *([xs] * k)))[0]


def jax_row(k):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None, None
    jax.config.update("jax_enable_x64", True)
    g = lambda v: jnp.exp(jnp.sin(v)) / (1 + v**2)
    for _ in range(k):
        g = jax.grad(g)
    eqns = len(jax.make_jaxpr(g)(X0).jaxpr.eqns)
    compile_time = cold(lambda: jax.jit(g).lower(X0).compile(), setup=jax.clear_caches, repeat=3)[0]
    return eqns, compile_time


def main():
    rows = []
    for k in range(1, KMAX + 1):
        derive, ops, value, evaluate = symflux_row(k)
        sp_t, sp_ops, sp_cse, sp_value, sp_eval = sympy_row(k)
        assert abs(value - sp_value) <= 1e-9 * max(1, abs(sp_value)), (k, value, sp_value)
        eqns, jax_compile = jax_row(k)
        rows.append([k, fmt(derive), ops, sp_cse, sp_ops, fmt(sp_t), fmt(symengine_time(k)),
                     eqns if eqns is not None else "–", fmt(jax_compile), fmt(evaluate), fmt(sp_eval)])
        print(*rows[-1], sep=" | ", flush=True)
    header = ["k", "symflux trace+derive+eval (cold)", "symflux ops", "sympy cse ops", "sympy ops",
              "sympy.diff (cold)", "SymEngine diff", "JAX jaxpr eqns", "JAX jit compile",
              "symflux interp eval (1 pt)", "lambdify(cse) eval (1 pt)"]
    print(write_result("w2_swell", table(header, rows)))


if __name__ == "__main__":
    main()
