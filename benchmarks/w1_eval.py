"""W1: f(x,y) = sin(x)e^(−x²−y²) + log(1+x²y²)/(1+cos²(xy)), its gradient and Hessian (5 outputs)
over N float64 points — ns per point, peers side by side. Run: python benchmarks/w1_eval.py [N]"""

import sys
import time

import numpy as np
import sympy
from common import bench, build_runtime, fmt, table, write_result

import codegen
import symflux as sf

N = int(float(sys.argv[1])) if len(sys.argv) > 1 else 1_000_000
rng = np.random.default_rng(0)
X, Y = rng.uniform(-2, 2, N), rng.uniform(-2, 2, N)
x, y = sympy.symbols("x y", real=True)
F = sympy.sin(x) * sympy.exp(-x**2 - y**2) + sympy.log(1 + x**2 * y**2) / (1 + sympy.cos(x * y) ** 2)
EXPRS = [sympy.diff(F, x), sympy.diff(F, y), sympy.diff(F, x, 2), sympy.diff(F, x, y), sympy.diff(F, y, 2)]
build_runtime()  # symflux's runtime libraries, built once per machine: not part of a compile
REFERENCE = sympy.lambdify([x, y], EXPRS, "numpy", cse=True)(X[:1000], Y[:1000])


def f(a, b):
    return sf.sin(a) * sf.exp(-a**2 - b**2) + sf.log(1 + a**2 * b**2) / (1 + sf.cos(a * b) ** 2)


def derivatives(a, b):
    """The 5 outputs by nested gradients (elementwise: the gradient of the sum)."""
    fx = lambda c, d: sf.gradient(lambda u, v: sf.sum(f(u, v)), c, d)
    gx, gy = fx(a, b)
    gxx, gxy = sf.gradient(lambda c, d: sf.sum(fx(c, d)[0]), a, b)
    gyy = sf.gradient(lambda d: sf.sum(fx(a, d)[1]), b)[0]
    return gx, gy, gxx, gxy, gyy


def per_point(fn):
    med, mn = bench(fn, repeat=7, target=0.3)
    return med / N * 1e9, mn / N * 1e9


def check(outs):
    for o, r in zip(outs, REFERENCE):
        np.testing.assert_allclose(np.asarray(o)[:1000], r, rtol=1e-9, atol=1e-9)


def rows():
    out = []

    def add(name, setup, fn):
        t0 = time.perf_counter()
        callable_ = setup()
        check(callable_(X[:1000], Y[:1000]))  # the first call compiles, where compilation is lazy
        compile_s = time.perf_counter() - t0
        check(callable_(X, Y))
        med, mn = per_point(lambda: fn(callable_))
        out.append([name, fmt(compile_s), f"{med:.1f}", f"{mn:.1f}"])
        print(*out[-1], sep=" | ", flush=True)

    add("symflux sf.compile(nested gradients)", lambda: sf.compile(derivatives), lambda c: c(X, Y))
    add("symflux codegen.lambdify(sympy.diff exprs)", lambda: codegen.lambdify([x, y], EXPRS), lambda c: c(X, Y))
    add("sympy.lambdify numpy cse=True", lambda: sympy.lambdify([x, y], EXPRS, "numpy", cse=True), lambda c: c(X, Y))
    try:
        import symengine as se
        XY = np.ascontiguousarray(np.stack([X, Y], axis=1))
        add("symengine.Lambdify llvm cse=True",
            lambda: (lambda L: (lambda a, b: L(np.stack([a, b], 1)).T))(
                se.Lambdify([x, y], EXPRS, backend="llvm", cse=True)),
            lambda c: c(X, Y))
        del XY
    except ImportError:
        pass
    try:
        import numba
        src = sympy.lambdify([x, y], EXPRS, "math", cse=True)
        kernel = numba.njit(src)

        def make(parallel):
            @numba.njit(parallel=parallel, fastmath=False)
            def loop(a, b):
                out = np.empty((5, a.size))
                for i in numba.prange(a.size):
                    r = kernel(a[i], b[i])
                    for k in range(5):
                        out[k, i] = r[k]
                return out
            return loop

        add("numba njit loop (1 thread)", lambda: make(False), lambda c: c(X, Y))
        add("numba njit prange (2 threads)", lambda: make(True), lambda c: c(X, Y))
    except ImportError:
        pass
    try:
        import jax
        jax.config.update("jax_enable_x64", True)
        jf = jax.jit(sympy.lambdify([x, y], EXPRS, "jax", cse=True))
        add("JAX jit (sympy exprs)", lambda: (lambda a, b: [np.asarray(v) for v in jf(a, b)]), lambda c: c(X, Y))
    except ImportError:
        pass
    return out


if __name__ == "__main__":
    result = rows()
    print(write_result("w1_eval", table(["tool", "setup + first call (compile)", "ns/pt median", "ns/pt min"],
                                        result)))
