"""W5: gradient of a deep MLP — derive + compile time, graph size, and the scalar-symbolic blow-up
it avoids. Run: python benchmarks/w5_symnet.py"""

import time

import numpy as np
import sympy
from common import fmt, table, write_result

import symflux as sf
from symflux import interp


def mlp_gradient(widths, batch=32):
    rng = np.random.default_rng(0)
    layers = [(rng.standard_normal((o, i)).astype(np.float32) * 0.05, np.zeros(o, np.float32))
              for i, o in zip(widths[:-1], widths[1:])]
    x = rng.random((batch, widths[0]), dtype=np.float32)
    y = np.eye(widths[-1], dtype=np.float32)[rng.integers(0, widths[-1], batch)]

    def loss(*flat):
        h = x
        for k, (W, b) in enumerate(zip(flat[::2], flat[1::2])):
            h = h @ W.T + b
            h = sf.tanh(h) if k < len(layers) - 1 else h
        return sf.logitcrossentropy(h, y)

    flat = [p for layer in layers for p in layer]
    return (lambda *ps: sf.gradient(loss, *ps)), flat


def row(widths):
    interp.clear_caches()
    f, flat = mlp_gradient(widths)
    t0 = time.perf_counter()
    graph = sf.make_graph(f, *flat)
    derive = time.perf_counter() - t0
    compiled = sf.compile(f)
    t0 = time.perf_counter()
    exe = compiled.lower(*flat)
    compile_s = time.perf_counter() - t0
    grads = compiled(*flat)
    reference = f(*flat)
    for g, r in zip(grads, reference):
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-6)
    n_weights = sum(p.size for p in flat)
    return ["-".join(map(str, widths)), f"{n_weights:,}", len(graph), len(graph.fused()), fmt(derive), fmt(compile_s),
            fmt(derive + compile_s), len(exe.source().splitlines())]


def scalar_sympy(width=4, depth=2):
    """The scalarised alternative: every weight a SymPy symbol, sympy.diff with respect to each."""
    xs = sympy.symbols(f"x:{width}")
    h, weights = list(xs), []
    for d in range(depth):
        W = sympy.Matrix(width, width, lambda i, j: sympy.Symbol(f"W{d}_{i}_{j}"))
        weights += list(W)
        h = [sympy.tanh(sum(W[i, j] * h[j] for j in range(width))) for i in range(width)]
    out = sum(h)
    t0 = time.perf_counter()
    grads = [sympy.diff(out, w) for w in weights]
    return len(weights), time.perf_counter() - t0, sum(sympy.count_ops(g) for g in grads)


def main():
    rows = [row(w) for w in ((784, 256, 10), (784, 256, 256, 10), (784, 512, 512, 512, 10))]
    for r in rows:
        print(*r, sep=" | ", flush=True)
    header = ["MLP", "weights", "graph nodes", "after fusion", "trace+derive", "lower+LLVM compile",
              "derive+compile", "LLVM IR lines"]
    text = table(header, rows)
    n, t, ops = scalar_sympy()
    text += f"\n\nScalarised SymPy for comparison: a 4-wide, 2-deep tanh net ({n} weights): sympy.diff " \
            f"with respect to every weight takes {fmt(t)}, {ops:,} operations in the gradient (tree count_ops)."
    print(write_result("w5_symnet", text))


if __name__ == "__main__":
    main()
